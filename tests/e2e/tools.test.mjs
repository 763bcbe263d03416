// Every tool, driven by the real MCP SDK client over stdio, against the Kubernetes API double
// with the admin context (RBAC refusals are in rbac.test.mjs).
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { startDouble, connectClient, scratchDir, writeFile, text } from './lib/harness.mjs';

const expectedTools = [
  'configuration_contexts_list', 'configuration_view', 'events_list', 'namespaces_list', 'nodes_stats_summary',
  'nodes_top', 'pods_delete', 'pods_get', 'pods_list', 'pods_list_in_namespace', 'pods_log', 'pods_run',
  'pods_top', 'resources_create_or_update', 'resources_delete', 'resources_get', 'resources_list',
  'resources_scale', 'serviceaccount_token_create',
];

let cluster;
let client;

test('kubemcp serves every Kubernetes tool over stdio', async (t) => {
  cluster = await startDouble(t);
  ({ client } = await connectClient(t, [], { KUBECONFIG: cluster.kubeconfig }));

  await t.test('initialize negotiates the newest protocol and names the server', () => {
    const info = client.getServerVersion();
    assert.equal(info.name, 'kubemcp');
    assert.ok(client.getServerCapabilities().tools);
    assert.ok(client.getServerCapabilities().prompts);
  });

  await t.test('tools/list has the peer-compatible names and annotations', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((x) => x.name).sort();
    assert.deepEqual(names, expectedTools);
    const byName = Object.fromEntries(tools.map((x) => [x.name, x]));
    assert.equal(byName.pods_list.annotations.readOnlyHint, true);
    assert.equal(byName.pods_delete.annotations.destructiveHint, true);
    assert.equal(byName.pods_delete.annotations.readOnlyHint, false);
    // Several contexts in the kubeconfig: every tool takes `context`.
    for (const tool of tools) {
      assert.equal(tool.inputSchema.type, 'object', tool.name);
      assert.ok(tool.inputSchema.properties.context, `${tool.name} has a context argument`);
      assert.ok(tool.inputSchema.properties.context.enum.includes('alice'));
    }
  });

  await t.test('pods_list lists pods in every namespace, as YAML without managedFields', async () => {
    const r = await client.callTool({ name: 'pods_list', arguments: {} });
    assert.ok(!r.isError, text(r));
    const out = text(r);
    assert.match(out, /name: bench-01/);
    assert.match(out, /namespace: kube-system/);
    assert.doesNotMatch(out, /managedFields/);
  });

  await t.test('pods_list_in_namespace honours label and field selectors', async () => {
    const r = await client.callTool({
      name: 'pods_list_in_namespace',
      arguments: { namespace: 'default', labelSelector: 'app=web', fieldSelector: 'metadata.name=bench-07' },
    });
    assert.ok(!r.isError, text(r));
    assert.match(text(r), /bench-07/);
    assert.doesNotMatch(text(r), /bench-08/);
  });

  await t.test('pods_get returns one pod', async () => {
    const r = await client.callTool({ name: 'pods_get', arguments: { name: 'bench-01', namespace: 'default' } });
    assert.ok(!r.isError, text(r));
    assert.match(text(r), /kind: Pod/);
    assert.match(text(r), /name: bench-01/);
  });

  await t.test('pods_get of a missing pod reports the API server message', async () => {
    const r = await client.callTool({ name: 'pods_get', arguments: { name: 'nope', namespace: 'default' } });
    assert.equal(r.isError, true);
    assert.match(text(r), /pods "nope" not found/);
  });

  await t.test('pods_log reads a container log with tail', async () => {
    const r = await client.callTool({
      name: 'pods_log', arguments: { name: 'web-0', namespace: 'default', container: 'app', tail: 3 },
    });
    assert.ok(!r.isError, text(r));
    const lines = text(r).trim().split('\n');
    assert.ok(lines.length <= 3 && lines.length >= 1, text(r));
  });

  await t.test('pods_log on a multi-container pod without container says which to choose', async () => {
    const r = await client.callTool({ name: 'pods_log', arguments: { name: 'web-0', namespace: 'default' } });
    assert.equal(r.isError, true);
    assert.match(text(r), /a container name must be specified for pod web-0, choose one of: \[app sidecar\]/);
  });

  await t.test('pods_top and nodes_top read metrics.k8s.io', async () => {
    const pods = await client.callTool({ name: 'pods_top', arguments: { namespace: 'default' } });
    assert.ok(!pods.isError, text(pods));
    assert.match(text(pods), /web-0/);
    const nodes = await client.callTool({ name: 'nodes_top', arguments: {} });
    assert.ok(!nodes.isError, text(nodes));
    assert.match(text(nodes), /node-1/);
  });

  await t.test('nodes_stats_summary reads the kubelet summary through the API server', async () => {
    const r = await client.callTool({ name: 'nodes_stats_summary', arguments: { name: 'node-1' } });
    assert.ok(!r.isError, text(r));
    assert.match(text(r), /node-1/);
  });

  await t.test('namespaces_list and events_list', async () => {
    const ns = await client.callTool({ name: 'namespaces_list', arguments: {} });
    assert.ok(!ns.isError, text(ns));
    assert.match(text(ns), /kube-system/);
    const ev = await client.callTool({ name: 'events_list', arguments: { namespace: 'default' } });
    assert.ok(!ev.isError, text(ev));
  });

  await t.test('resources_get and resources_list address any kind, custom resources included', async () => {
    const dep = await client.callTool({
      name: 'resources_list', arguments: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default' },
    });
    assert.ok(!dep.isError, text(dep));
    const plans = await client.callTool({
      name: 'resources_list', arguments: { apiVersion: 'forklift.konveyor.io/v1beta1', kind: 'Plan' },
    });
    assert.ok(!plans.isError, text(plans));
    const unknown = await client.callTool({
      name: 'resources_list', arguments: { apiVersion: 'example.com/v1', kind: 'Gadget' },
    });
    assert.equal(unknown.isError, true);
    assert.match(text(unknown), /Gadget/);
  });

  await t.test('resources_create_or_update applies YAML, then resources_get and resources_delete', async () => {
    const manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: e2e-settings\n  namespace: default\ndata:\n  mode: fast\n';
    const applied = await client.callTool({ name: 'resources_create_or_update', arguments: { resource: manifest } });
    assert.ok(!applied.isError, text(applied));
    assert.match(text(applied), /e2e-settings/);
    const got = await client.callTool({
      name: 'resources_get',
      arguments: { apiVersion: 'v1', kind: 'ConfigMap', name: 'e2e-settings', namespace: 'default' },
    });
    assert.match(text(got), /mode: fast/);
    const deleted = await client.callTool({
      name: 'resources_delete',
      arguments: { apiVersion: 'v1', kind: 'ConfigMap', name: 'e2e-settings', namespace: 'default' },
    });
    assert.ok(!deleted.isError, text(deleted));
    const gone = await client.callTool({
      name: 'resources_get',
      arguments: { apiVersion: 'v1', kind: 'ConfigMap', name: 'e2e-settings', namespace: 'default' },
    });
    assert.equal(gone.isError, true);
  });

  await t.test('resources_create_or_update accepts JSON too and rejects a manifest without a name', async () => {
    const ok = await client.callTool({
      name: 'resources_create_or_update',
      arguments: { resource: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'e2e-json', namespace: 'default' }, data: { a: 'b' } }) },
    });
    assert.ok(!ok.isError, text(ok));
    const bad = await client.callTool({
      name: 'resources_create_or_update', arguments: { resource: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n' },
    });
    assert.equal(bad.isError, true);
    assert.match(text(bad), /name/);
  });

  await t.test('resources_scale reads and sets replicas', async () => {
    const args = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'team-a' };
    const before = await client.callTool({ name: 'resources_scale', arguments: args });
    assert.ok(!before.isError, text(before));
    assert.match(text(before), /replicas: 2/);
    const set = await client.callTool({ name: 'resources_scale', arguments: { ...args, scale: 4 } });
    assert.ok(!set.isError, text(set));
    const after = await client.callTool({ name: 'resources_get', arguments: args });
    assert.match(text(after), /replicas: 4/);
  });

  await t.test('pods_run creates a pod and pods_delete removes it', async () => {
    const run = await client.callTool({
      name: 'pods_run', arguments: { image: 'nginx:1.27', name: 'e2e-run', namespace: 'default' },
    });
    assert.ok(!run.isError, text(run));
    const got = await client.callTool({ name: 'pods_get', arguments: { name: 'e2e-run', namespace: 'default' } });
    assert.match(text(got), /nginx:1\.27/);
    const del = await client.callTool({ name: 'pods_delete', arguments: { name: 'e2e-run', namespace: 'default' } });
    assert.ok(!del.isError, text(del));
  });

  await t.test('configuration_contexts_list and configuration_view never show credentials', async () => {
    const ctx = await client.callTool({ name: 'configuration_contexts_list', arguments: {} });
    assert.ok(!ctx.isError, text(ctx));
    for (const name of ['admin', 'alice', 'bob']) assert.match(text(ctx), new RegExp(name));
    const view = await client.callTool({ name: 'configuration_view', arguments: { minified: false } });
    assert.ok(!view.isError, text(view));
    const tokens = Object.values(JSON.parse(readFileSync(path.join(cluster.dir, 'tokens.json'), 'utf8')));
    assert.ok(tokens.length >= 3);
    for (const token of tokens) assert.ok(!text(view).includes(token), 'a token leaked into configuration_view');
    assert.doesNotMatch(text(view), /BEGIN (RSA |EC )?PRIVATE KEY/);
    assert.match(text(view), /REDACTED|DATA\+OMITTED/);
  });

  await t.test('the cluster-health-check prompt', async () => {
    const { prompts } = await client.listPrompts();
    assert.ok(prompts.some((p) => p.name === 'cluster-health-check'));
    const p = await client.getPrompt({ name: 'cluster-health-check', arguments: { namespace: 'default' } });
    assert.match(p.messages[0].content.text, /default/);
  });

  await t.test('serviceaccount_token_create mints a token that works as the service account', async (t) => {
    const r = await client.callTool({
      name: 'serviceaccount_token_create',
      arguments: { serviceAccount: 'mcp-test', namespace: 'default', duration: '15m' },
    });
    assert.ok(!r.isError, text(r));
    const token = text(r).match(/^token: (\S+)$/m)?.[1];
    assert.ok(token && token.split('.').length === 3, text(r));
    assert.match(text(r), /expirationTimestamp: \d{4}-/);
    const dir = scratchDir(t);
    const ca = readFileSync(cluster.kubeconfig, 'utf8').match(/certificate-authority-data: (\S+)/)[1];
    const kubeconfig = writeFile(dir, 'config', `apiVersion: v1
kind: Config
clusters: [{name: double, cluster: {server: "${cluster.url}", certificate-authority-data: ${ca}}}]
contexts: [{name: sa, context: {cluster: double, user: sa, namespace: default}}]
users: [{name: sa, user: {token: "${token}"}}]
current-context: sa
`);
    const asSa = await connectClient(t, [], { KUBECONFIG: kubeconfig });
    const pods = await asSa.client.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
    assert.ok(!pods.isError, text(pods));
    const refused = await asSa.client.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'kube-system' } });
    assert.match(text(refused), /User "system:serviceaccount:default:mcp-test" cannot list/);
    const missing = await client.callTool({ name: 'serviceaccount_token_create', arguments: { serviceAccount: 'nobody' } });
    assert.equal(missing.isError, true);
    assert.match(text(missing), /serviceaccounts "nobody" not found/);
  });
});

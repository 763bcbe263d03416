// The cluster sees the human who asks: the same call succeeds or is refused exactly as that
// user's RBAC decides, with the API server's own message; Secret values stay masked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { startDouble, connectClient, scratchDir, writeFile, text } from './lib/harness.mjs';

test('RBAC decisions reach the user unchanged', async (t) => {
  const cluster = await startDouble(t);
  const { client } = await connectClient(t, [], { KUBECONFIG: cluster.kubeconfig });
  const call = (name, args) => client.callTool({ name, arguments: args });

  await t.test('alice may list pods in default', async () => {
    const r = await call('pods_list_in_namespace', { namespace: 'default', context: 'alice' });
    assert.ok(!r.isError, text(r));
    assert.match(text(r), /bench-01/);
  });

  await t.test('alice is refused kube-system with the API server message', async () => {
    const r = await call('pods_list_in_namespace', { namespace: 'kube-system', context: 'alice' });
    assert.equal(r.isError, true);
    assert.match(text(r), /pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "kube-system"/);
  });

  await t.test('alice may not list namespaces (cluster scope)', async () => {
    const r = await call('namespaces_list', { context: 'alice' });
    assert.equal(r.isError, true);
    assert.match(text(r), /namespaces is forbidden: User "alice" cannot list resource "namespaces" in API group "" at the cluster scope/);
  });

  await t.test('alice may not read secrets', async () => {
    const r = await call('resources_get', { apiVersion: 'v1', kind: 'Secret', name: 'db-credentials', namespace: 'default', context: 'alice' });
    assert.equal(r.isError, true);
    assert.match(text(r), /secrets "db-credentials" is forbidden: User "alice" cannot get resource "secrets"/);
  });

  await t.test('bob may not list pods at all', async () => {
    const r = await call('pods_list_in_namespace', { namespace: 'default', context: 'bob' });
    assert.equal(r.isError, true);
    assert.match(text(r), /User "bob" cannot list resource "pods"/);
  });

  await t.test('client-certificate users are recognised', async () => {
    const r = await call('pods_list_in_namespace', { namespace: 'kube-system', context: 'alice-cert' });
    assert.equal(r.isError, true);
    assert.match(text(r), /User "alice"/);
    const admin = await call('pods_list_in_namespace', { namespace: 'kube-system', context: 'admin-cert' });
    assert.ok(!admin.isError, text(admin));
  });

  await t.test('admin reads a Secret with its values masked', async () => {
    const r = await call('resources_get', { apiVersion: 'v1', kind: 'Secret', name: 'db-credentials', namespace: 'default' });
    assert.ok(!r.isError, text(r));
    assert.match(text(r), /password: "\*\*\*\*"/);
    assert.ok(!text(r).includes("czNjcjN0LXZhbHVlLTQy"), "the base64 password leaked");
  });

  await t.test('listing Secrets masks every value', async () => {
    const r = await call('resources_list', { apiVersion: 'v1', kind: 'Secret', namespace: 'default' });
    assert.ok(!r.isError, text(r));
    assert.match(text(r), /db-credentials/);
    for (const line of text(r).split('\n').filter((l) => /^\s+(username|password):/.test(l)))
      assert.match(line, /\*\*\*\*/);
  });

  await t.test('an applied Secret comes back masked', async () => {
    const manifest = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: e2e-secret\n  namespace: default\nstringData:\n  apikey: super-secret-value\n';
    const r = await call('resources_create_or_update', { resource: manifest });
    assert.ok(!r.isError, text(r));
    assert.ok(!text(r).includes('super-secret-value'));
    assert.ok(!text(r).includes(Buffer.from('super-secret-value').toString('base64')));
  });

  await t.test('exec credential plugins and token files authenticate as their user', async (t) => {
    const dir = scratchDir(t);
    const tokens = JSON.parse(readFileSync(path.join(cluster.dir, 'tokens.json'), 'utf8'));
    const ca = readFileSync(cluster.kubeconfig, 'utf8').match(/certificate-authority-data: (\S+)/)[1];
    const plugin = writeFile(dir, 'alice-login.sh', `#!/bin/sh
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"${tokens.alice}","expirationTimestamp":"2099-01-01T00:00:00Z"}}'
`);
    chmodSync(plugin, 0o755);
    const tokenFile = writeFile(dir, 'bob-token', tokens.bob + '\n');
    const kubeconfig = writeFile(dir, 'config', `apiVersion: v1
kind: Config
clusters:
- name: double
  cluster:
    server: ${cluster.url}
    certificate-authority-data: ${ca}
contexts:
- name: via-exec
  context: {cluster: double, user: exec-user, namespace: default}
- name: via-file
  context: {cluster: double, user: file-user, namespace: default}
users:
- name: exec-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ${plugin}
      interactiveMode: Never
- name: file-user
  user:
    tokenFile: ${tokenFile}
current-context: via-exec
`);
    const { client: c2 } = await connectClient(t, [], { KUBECONFIG: kubeconfig });
    const allowed = await c2.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
    assert.ok(!allowed.isError, text(allowed));
    const refused = await c2.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'kube-system' } });
    assert.match(text(refused), /User "alice" cannot list/);
    const asBob = await c2.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default', context: 'via-file' } });
    assert.match(text(asBob), /User "bob" cannot list/);
    const view = await c2.callTool({ name: 'configuration_view', arguments: { minified: false } });
    assert.ok(!text(view).includes(tokens.bob) && !text(view).includes(tokens.alice));
  });

  await t.test('even at the highest log level no credential reaches the log', async (t) => {
    const tokens = JSON.parse(readFileSync(path.join(cluster.dir, 'tokens.json'), 'utf8'));
    const traced = await connectClient(t, ['--log-level', '9'], { KUBECONFIG: cluster.kubeconfig });
    for (const context of ['admin', 'alice', 'bob', 'sa', 'admin-cert']) {
      await traced.client.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default', context } });
    }
    await traced.client.callTool({ name: 'resources_get', arguments: { apiVersion: 'v1', kind: 'Secret', name: 'db-credentials', namespace: 'default' } });
    await traced.client.callTool({ name: 'configuration_view', arguments: { minified: false } });
    const log = traced.stderr();
    assert.ok(log.length > 0, 'log level 9 writes a trace');
    for (const [name, token] of Object.entries(tokens)) {
      if (typeof token === 'string' && token.length > 8) assert.ok(!log.includes(token), `the ${name} token leaked into the log`);
    }
    assert.ok(!log.includes('czNjcjN0LXZhbHVlLTQy'), 'a Secret value leaked into the log');
    assert.doesNotMatch(log, /BEGIN [A-Z ]*PRIVATE KEY/);
  });
});

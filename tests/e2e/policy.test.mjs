// Policy options are enforced on every call, not only hidden from tools/list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDouble, connectClient, scratchDir, writeFile, text } from './lib/harness.mjs';

async function toolNames(client) {
  return (await client.listTools()).tools.map((x) => x.name);
}

/** A tool call the policy refuses: JSON-RPC error or isError result, either naming the setting. */
async function assertRefused(client, name, args, setting) {
  let message;
  try {
    const r = await client.callTool({ name, arguments: args });
    assert.equal(r.isError, true, `${name} should be refused`);
    message = text(r);
  } catch (e) {
    message = e.message;
  }
  assert.match(message, new RegExp(setting));
}

test('policy settings', async (t) => {
  const cluster = await startDouble(t);
  const env = { KUBECONFIG: cluster.kubeconfig };

  await t.test('--read-only exposes only read-only tools and refuses the rest', async (t) => {
    const { client } = await connectClient(t, ['--read-only'], env);
    const names = await toolNames(client);
    assert.ok(names.includes('pods_list'));
    for (const hidden of ['pods_delete', 'pods_run', 'resources_create_or_update', 'resources_delete', 'resources_scale', 'serviceaccount_token_create'])
      assert.ok(!names.includes(hidden), hidden);
    await assertRefused(client, 'pods_delete', { name: 'bench-01', namespace: 'default' }, 'read_only');
    const still = await client.callTool({ name: 'pods_get', arguments: { name: 'bench-01', namespace: 'default' } });
    assert.ok(!still.isError, 'bench-01 must still exist');
  });

  await t.test('--disable-destructive keeps creation but refuses deletion', async (t) => {
    const { client } = await connectClient(t, ['--disable-destructive'], env);
    const names = await toolNames(client);
    assert.ok(names.includes('pods_run'));
    assert.ok(!names.includes('pods_delete'));
    await assertRefused(client, 'resources_delete', { apiVersion: 'v1', kind: 'Pod', name: 'bench-02', namespace: 'default' }, 'disable_destructive');
  });

  await t.test('toolsets, enabled_tools and disabled_tools', async (t) => {
    const configOnly = await connectClient(t, ['--toolsets', 'config'], env);
    assert.deepEqual((await toolNames(configOnly.client)).sort(), ['configuration_contexts_list', 'configuration_view']);
    await assertRefused(configOnly.client, 'pods_list', {}, 'toolsets');

    const enabled = await connectClient(t, ['--enabled-tools=pods_get,pods_list'], env);
    assert.deepEqual((await toolNames(enabled.client)).sort(), ['pods_get', 'pods_list']);

    const disabled = await connectClient(t, ['--disabled-tools', 'pods_log'], env);
    assert.ok(!(await toolNames(disabled.client)).includes('pods_log'));
    await assertRefused(disabled.client, 'pods_log', { name: 'web-0', container: 'app' }, 'disabled_tools');
  });

  await t.test('denied_resources from a TOML file refuse a kind on every path', async (t) => {
    const dir = scratchDir(t);
    const config = writeFile(dir, 'kubemcp.toml', `
read_only = false

[[denied_resources]]
group = ""
version = "v1"
kind = "Secret"

[[denied_resources]]
group = "apps"
kind = "Deployment"
`);
    const { client } = await connectClient(t, ['--config', config], env);
    await assertRefused(client, 'resources_get', { apiVersion: 'v1', kind: 'Secret', name: 'db-credentials', namespace: 'default' }, 'denied');
    await assertRefused(client, 'resources_list', { apiVersion: 'apps/v1', kind: 'Deployment' }, 'denied');
    const ok = await client.callTool({ name: 'resources_list', arguments: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default' } });
    assert.ok(!ok.isError, text(ok));
  });

  await t.test('--list-output table renders the API server Table for lists', async (t) => {
    const { client } = await connectClient(t, ['--list-output', 'table'], env);
    const r = await client.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
    assert.ok(!r.isError, text(r));
    assert.match(text(r), /^NAME\s+READY\s+STATUS/m);
    assert.match(text(r), /^bench-01\s/m);
  });

  await t.test('environment variables configure too, and flags win over them', async (t) => {
    const { client } = await connectClient(t, ['--read-only=false'], { ...env, KUBEMCP_READ_ONLY: 'true', KUBEMCP_TOOLSETS: 'core' });
    const names = await toolNames(client);
    assert.ok(names.includes('pods_delete'), 'the flag overrides KUBEMCP_READ_ONLY');
    assert.ok(!names.includes('configuration_view'), 'KUBEMCP_TOOLSETS=core applies');
  });

  await t.test('masking can be turned off explicitly', async (t) => {
    const { client } = await connectClient(t, ['--mask-secrets=false'], env);
    const r = await client.callTool({ name: 'resources_get', arguments: { apiVersion: 'v1', kind: 'Secret', name: 'db-credentials', namespace: 'default' } });
    assert.match(text(r), /czNjcjN0LXZhbHVlLTQy/);
  });
});

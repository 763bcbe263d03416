// Bad input from a client, a kubeconfig or a config file gets a clear error; the server stays up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDouble, rawSession, runKubemcp, connectClient, scratchDir, writeFile, text } from './lib/harness.mjs';

test('bad input over stdio', async (t) => {
  const cluster = await startDouble(t);
  const env = { KUBECONFIG: cluster.kubeconfig };

  await t.test('malformed JSON, invalid requests and unknown methods get JSON-RPC errors', async (t) => {
    const s = rawSession(t, [], env);
    const init = await s.initialize();
    assert.equal(init.result.protocolVersion, '2025-11-25');

    s.write('{"jsonrpc":"2.0","id":1,"method":\n');
    let r = await s.next();
    assert.equal(r.error.code, -32700);
    assert.equal(r.id, null);

    s.write('[1,2\n');
    assert.equal((await s.next()).error.code, -32700);

    r = await s.request(null, 'ping');
    assert.equal(r.error.code, -32600, 'a null id is invalid');

    s.send({ jsonrpc: '1.0', id: 2, method: 'ping' });
    assert.equal((await s.next()).error.code, -32600);

    s.send({ jsonrpc: '2.0', id: 3, method: 42 });
    assert.equal((await s.next()).error.code, -32600);

    r = await s.request(4, 'no/such/method');
    assert.equal(r.error.code, -32601);

    r = await s.request(5, 'tools/call', { name: 'no_such_tool', arguments: {} });
    assert.equal(r.error.code, -32602);
    assert.match(r.error.message, /no_such_tool/);

    r = await s.request(6, 'tools/list', { cursor: 'garbage' });
    assert.equal(r.error.code, -32602);

    r = await s.request(7, 'logging/setLevel', { level: 'loud' });
    assert.equal(r.error.code, -32602);

    s.write('"just a string"\n');
    assert.equal((await s.next()).error.code, -32600);

    r = await s.request('still-alive', 'ping');
    assert.deepEqual(r.result, {});
  });

  await t.test('wrong argument types come back as tool errors the model can fix', async (t) => {
    const s = rawSession(t, [], env);
    await s.initialize();
    let r = await s.request(1, 'tools/call', { name: 'pods_get', arguments: { name: 42 } });
    assert.equal(r.result.isError, true);
    assert.match(r.result.content[0].text, /"name" must be a string/);

    r = await s.request(2, 'tools/call', { name: 'pods_get', arguments: {} });
    assert.equal(r.result.isError, true);
    assert.match(r.result.content[0].text, /missing required argument "name"/);

    r = await s.request(3, 'tools/call', { name: 'pods_log', arguments: { name: 'web-0', tail: 'ten' } });
    assert.equal(r.result.isError, true);
    assert.match(r.result.content[0].text, /"tail" must be an integer/);

    r = await s.request(4, 'tools/call', { name: 'pods_list', arguments: { bogus: true } });
    assert.equal(r.result.isError, true);
    assert.match(r.result.content[0].text, /unknown argument "bogus"/);

    r = await s.request(5, 'tools/call', { name: 'pods_list', arguments: { context: 'nowhere' } });
    assert.equal(r.result.isError, true);

    r = await s.request(6, 'tools/call', { name: 'pods_list', arguments: 'not an object' });
    assert.equal(r.result.isError, true);
  });

  await t.test('names that would address something else are refused before any request', async (t) => {
    const s = rawSession(t, [], env);
    await s.initialize();
    // An empty name would turn "delete this pod" into "delete every pod in the namespace".
    let r = await s.request(1, 'tools/call', { name: 'pods_delete', arguments: { name: '', namespace: 'default' } });
    assert.equal(r.result.isError, true);
    assert.match(r.result.content[0].text, /"name" must not be empty/);
    r = await s.request(2, 'tools/call', { name: 'resources_delete', arguments: { apiVersion: 'v1', kind: 'ConfigMap', name: '', namespace: 'default' } });
    assert.equal(r.result.isError, true);
    // Dot segments would be collapsed into another object's path.
    r = await s.request(3, 'tools/call', { name: 'pods_delete', arguments: { name: '..', namespace: 'default' } });
    assert.equal(r.result.isError, true);
    assert.match(r.result.content[0].text, /not valid Kubernetes names/);
    r = await s.request(4, 'tools/call', { name: 'pods_list_in_namespace', arguments: { namespace: '..' } });
    assert.equal(r.result.isError, true);
    r = await s.request(5, 'tools/call', { name: 'pods_get', arguments: { name: '.', namespace: 'default' } });
    assert.equal(r.result.isError, true);
    // Nothing was deleted.
    r = await s.request(6, 'tools/call', { name: 'pods_get', arguments: { name: 'bench-01', namespace: 'default' } });
    assert.ok(!r.result.isError, r.result.content[0].text);
  });

  await t.test('an oversized message is refused and the session goes on', async (t) => {
    const s = rawSession(t, [], { ...env, KUBEMCP_MAX_MESSAGE_BYTES: '65536' });
    await s.initialize();
    s.send({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(200000) } });
    const r = await s.next();
    assert.equal(r.error.code, -32001);
    assert.match(r.error.message, /exceeds the limit/);
    assert.deepEqual((await s.request(2, 'ping')).result, {});
  });

  await t.test('batches are refused after 2025-03-26 and answered as one array before', async (t) => {
    const modern = rawSession(t, [], env);
    await modern.initialize('2025-06-18');
    modern.write(JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'ping' }]) + '\n');
    const refused = await modern.next();
    assert.equal(refused.error.code, -32600);
    assert.match(refused.error.message, /batching/);

    const old = rawSession(t, [], env);
    const init = await old.initialize('2025-03-26');
    assert.equal(init.result.protocolVersion, '2025-03-26');
    old.write(JSON.stringify([
      { jsonrpc: '2.0', id: 'a', method: 'ping' },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 'b', method: 'tools/call', params: { name: 'pods_get', arguments: { name: 'bench-01', namespace: 'default' } } },
    ]) + '\n');
    const answers = await old.next();
    assert.ok(Array.isArray(answers));
    assert.deepEqual(answers.map((a) => a.id).sort(), ['a', 'b']);
  });

  await t.test('an unknown protocol version is answered with ours', async (t) => {
    const s = rawSession(t, [], env);
    const r = await s.initialize('1999-01-01');
    assert.equal(r.result.protocolVersion, '2025-11-25');
  });

  await t.test('a cancelled call gets no answer and the server keeps serving', async (t) => {
    const s = rawSession(t, [], env);
    await s.initialize();
    s.send({ jsonrpc: '2.0', id: 'slow', method: 'tools/call', params: { name: 'pods_list', arguments: {} } });
    s.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow', reason: 'test' } });
    const next = await s.request('after', 'ping');
    // Either the call finished before the cancel arrived (then its answer comes first) or it was dropped.
    if (next.id === 'slow') assert.deepEqual((await s.next()).result, {});
    else assert.equal(next.id, 'after');
  });

  await t.test('end of input: pending calls are answered, then exit 0', async () => {
    const input = [
      { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'pipe', version: '0' } } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'pods_get', arguments: { name: 'bench-01', namespace: 'default' } } },
    ].map((m) => JSON.stringify(m)).join('\n'); // no newline after the last message
    const r = await runKubemcp([], env, input);
    assert.equal(r.code, 0, r.stderr);
    const answers = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(answers.length, 2);
    assert.match(answers[1].result.content[0].text, /bench-01/);
  });
});

test('bad configuration', async (t) => {
  await t.test('invalid TOML refuses to start with file:line:column', async (t) => {
    const dir = scratchDir(t);
    const file = writeFile(dir, 'bad.toml', 'read_only = true\nport = \n');
    const r = await runKubemcp(['--config', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.toml:2:\d+/);
  });

  await t.test('an unknown key is reported, not ignored', async (t) => {
    const dir = scratchDir(t);
    const file = writeFile(dir, 'typo.toml', 'read_onyl = true\n');
    const r = await runKubemcp(['--config', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /read_onyl/);
  });

  await t.test('a wrongly typed value names the key', async (t) => {
    const dir = scratchDir(t);
    const file = writeFile(dir, 'type.toml', 'read_only = "yes"\n');
    const r = await runKubemcp(['--config', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /read_only/);
  });

  await t.test('an unknown flag is reported', async () => {
    const r = await runKubemcp(['--no-such-flag']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no-such-flag/);
  });

  await t.test('a typo in enabled_tools is reported', async () => {
    const r = await runKubemcp(['--enabled-tools', 'pods_lsit']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /pods_lsit/);
  });

  await t.test('a broken kubeconfig: the server stays up and every tool says what is wrong', async (t) => {
    const dir = scratchDir(t);
    const kubeconfig = writeFile(dir, 'config', 'apiVersion: v1\nclusters: [ {name: x\n');
    const { client } = await connectClient(t, [], { KUBECONFIG: kubeconfig });
    const r = await client.callTool({ name: 'pods_list', arguments: {} });
    assert.equal(r.isError, true);
    assert.match(text(r), /kubeconfig/i);
    assert.ok(text(r).includes(kubeconfig) || /config/.test(text(r)));
    await client.ping();
  });

  await t.test('a kubeconfig naming a server that is down gives a clear error', async (t) => {
    const dir = scratchDir(t);
    const kubeconfig = writeFile(dir, 'config', `apiVersion: v1
kind: Config
clusters:
- name: gone
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: gone
  context: {cluster: gone, user: u}
users:
- name: u
  user: {token: abc}
current-context: gone
`);
    const { client } = await connectClient(t, [], { KUBECONFIG: kubeconfig });
    const r = await client.callTool({ name: 'pods_list', arguments: {} });
    assert.equal(r.isError, true);
    assert.match(text(r), /127\.0\.0\.1:1/);
  });
});

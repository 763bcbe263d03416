// The cluster sees the human who asks: bearer tokens from HTTP headers reach Kubernetes (auth-headers
// strategy and the default passthrough), TokenReview validation with its cache, impersonation,
// session binding, allowed_namespaces, the audit log, and no token in any log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { doubleRequests, startDouble, connectClient, scratchDir, writeFile, text } from './lib/harness.mjs';
import { startHttpServer, request } from './lib/http.mjs';

function tokensOf(cluster) {
  return JSON.parse(readFileSync(path.join(cluster.dir, 'tokens.json'), 'utf8'));
}

/** A kubeconfig with the double's server and CA but no user at all (what auth-headers needs). */
function credentiallessKubeconfig(t, cluster) {
  const ca = readFileSync(cluster.kubeconfig, 'utf8').match(/certificate-authority-data: (\S+)/)[1];
  return writeFile(scratchDir(t), 'config', `apiVersion: v1
kind: Config
clusters: [{name: double, cluster: {server: "${cluster.url}", certificate-authority-data: ${ca}}}]
contexts: [{name: double, context: {cluster: double, user: nobody, namespace: default}}]
users: [{name: nobody, user: {}}]
current-context: double
`);
}

async function sdkClient(t, transport) {
  const client = new Client({ name: 'identity-e2e', version: '1.0.0' });
  await client.connect(transport);
  t.after(() => client.close());
  return client;
}

function streamable(srv, headers) {
  return new StreamableHTTPClientTransport(new URL(`${srv.url}/mcp`), { requestInit: { headers } });
}

const callBody = (id, name, args) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

test('auth-headers: each user sees exactly what their own RBAC allows, over /mcp and /sse', async (t) => {
  const cluster = await startDouble(t);
  const tokens = tokensOf(cluster);
  const kubeconfig = credentiallessKubeconfig(t, cluster);
  const srv = await startHttpServer(t, ['--kubeconfig', kubeconfig, '--cluster-provider-strategy', 'auth-headers']);
  assert.match(srv.stderr(), /auth-headers ClusterProviderStrategy requires OAuth authentication, enabling RequireOAuth/);

  await t.test('a request without a token is refused with 401 and a Bearer challenge', async () => {
    const r = await request(`${srv.url}/mcp`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: callBody(1, 'pods_list', {}),
    });
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate'], /^Bearer realm="kubemcp"/);
    assert.match(JSON.parse(r.body).error.message, /bearer token required in Authorization header/);
  });

  await t.test('malformed and duplicated Authorization headers are refused', async () => {
    for (const headers of [{ Authorization: 'Basic YWxpY2U6cHc=' }, { Authorization: 'Bearer two words' },
      { Authorization: [`Bearer ${tokens.alice}`, `Bearer ${tokens.bob}`] }]) {
      const r = await request(`${srv.url}/mcp`, {
        method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: callBody(1, 'pods_list', {}),
      });
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.ok(!r.body.includes(tokens.alice) && !r.body.includes(tokens.bob));
    }
  });

  await t.test('alice and bob over Streamable HTTP', async (t) => {
    const alice = await sdkClient(t, streamable(srv, { Authorization: `Bearer ${tokens.alice}` }));
    const bob = await sdkClient(t, streamable(srv, { Authorization: `Bearer ${tokens.bob}` }));
    const a = await alice.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
    assert.ok(!a.isError, text(a));
    assert.match(text(a), /bench-01/);
    const b = await bob.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
    assert.equal(b.isError, true);
    assert.match(text(b), /pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"/);
    const a2 = await alice.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'kube-system' } });
    assert.match(text(a2), /User "alice" cannot list resource "pods" in API group "" in the namespace "kube-system"/);
  });

  await t.test('alice and bob over the legacy SSE transport', async (t) => {
    const alice = await sdkClient(t, new SSEClientTransport(new URL(`${srv.url}/sse`),
      { requestInit: { headers: { Authorization: `Bearer ${tokens.alice}` } } }));
    const bob = await sdkClient(t, new SSEClientTransport(new URL(`${srv.url}/sse`),
      { requestInit: { headers: { Authorization: `Bearer ${tokens.bob}` } } }));
    const a = await alice.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
    assert.ok(!a.isError, text(a));
    const b = await bob.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
    assert.match(text(b), /User "bob" cannot list/);
  });

  await t.test('the legacy kubernetes-authorization header works too', async (t) => {
    const alice = await sdkClient(t, streamable(srv, { 'kubernetes-authorization': `Bearer ${tokens.alice}` }));
    const a = await alice.callTool({ name: 'pods_get', arguments: { name: 'bench-02', namespace: 'default' } });
    assert.ok(!a.isError, text(a));
  });

  await t.test("a session opened by alice cannot be used with bob's token", async () => {
    const init = await request(`${srv.url}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: `Bearer ${tokens.alice}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '0' } } }),
    });
    const sid = init.headers['mcp-session-id'];
    assert.ok(sid);
    const stolen = await request(`${srv.url}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: `Bearer ${tokens.bob}`, 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(stolen.status, 404);
  });

  await t.test('every Kubernetes request carried the caller\'s own token', async () => {
    const records = await doubleRequests(cluster);
    const users = new Set(records.filter((r) => r.path.includes('/pods')).map((r) => r.user));
    assert.ok(users.has('alice') && users.has('bob'));
    assert.ok(!users.has('admin'), 'no request may run with other credentials');
  });
});

test('default passthrough: a bearer is used when present, the kubeconfig otherwise', async (t) => {
  const cluster = await startDouble(t);
  const tokens = tokensOf(cluster);
  const srv = await startHttpServer(t, [], { KUBECONFIG: cluster.kubeconfig });
  const anonymous = await sdkClient(t, streamable(srv, {}));
  const ns = await anonymous.callTool({ name: 'namespaces_list', arguments: {} });
  assert.ok(!ns.isError, 'without a bearer the kubeconfig (admin) is used');
  const bob = await sdkClient(t, streamable(srv, { Authorization: `Bearer ${tokens.bob}` }));
  const refused = await bob.callTool({ name: 'namespaces_list', arguments: {} });
  assert.match(text(refused), /User "bob" cannot list resource "namespaces"/);

  await t.test('cluster_auth_mode = "kubeconfig" ignores the header', async (t) => {
    const dir = scratchDir(t);
    const config = writeFile(dir, 'k.toml', 'cluster_auth_mode = "kubeconfig"\n');
    const srv2 = await startHttpServer(t, ['--config', config], { KUBECONFIG: cluster.kubeconfig });
    const bob2 = await sdkClient(t, streamable(srv2, { Authorization: `Bearer ${tokens.bob}` }));
    const ok = await bob2.callTool({ name: 'namespaces_list', arguments: {} });
    assert.ok(!ok.isError, text(ok));
  });
});

test('validate_token: TokenReview before any operation, cached, bogus tokens refused', async (t) => {
  const cluster = await startDouble(t);
  const tokens = tokensOf(cluster);
  const dir = scratchDir(t);
  const auditFile = path.join(dir, 'audit.log');
  const srv = await startHttpServer(t, ['--validate-token', '--require-oauth', '--audit-log', auditFile, '--log-level', '9'],
    { KUBECONFIG: cluster.kubeconfig });

  const bogus = await request(`${srv.url}/mcp`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer not-a-real-token' },
    body: callBody(1, 'pods_list', {}),
  });
  assert.equal(bogus.status, 401);
  assert.match(bogus.headers['www-authenticate'], /error="invalid_token"/);
  assert.match(JSON.parse(bogus.body).error.message, /invalid bearer token/);

  const alice = await sdkClient(t, streamable(srv, { Authorization: `Bearer ${tokens.alice}` }));
  for (let i = 0; i < 5; i++) {
    const r = await alice.callTool({ name: 'pods_get', arguments: { name: 'bench-03', namespace: 'default' } });
    assert.ok(!r.isError, text(r));
  }
  const records = await doubleRequests(cluster);
  const reviews = records.filter((r) => r.path === '/apis/authentication.k8s.io/v1/tokenreviews');
  // One review for alice (then cached) and one for the bogus token; none per call.
  assert.ok(reviews.length >= 1 && reviews.length <= 3, `TokenReviews sent: ${reviews.length}`);
  assert.ok(reviews.every((r) => r.user === 'admin'), 'reviews are sent with the server\'s own credentials');

  await srv.stop();
  const audit = readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(audit.some((e) => e.kind === 'authentication' && e.outcome === 'refused'));
  const call = audit.find((e) => e.kind === 'tool_call' && e.tool === 'pods_get');
  assert.ok(call, 'tool calls are audited');
  assert.equal(call.subject, 'alice');
  assert.deepEqual(call.groups, ['k8slab:readers', 'system:authenticated']);
  assert.equal(call.outcome, 'ok');
  assert.equal(call.source, '127.0.0.1');
  const everything = readFileSync(auditFile, 'utf8') + srv.stderr();
  for (const token of [tokens.alice, 'not-a-real-token'])
    assert.ok(!everything.includes(token), 'a token reached the audit log or the server log');
});

test('impersonation: the server\'s credentials act as the validated caller', async (t) => {
  const cluster = await startDouble(t);
  const tokens = tokensOf(cluster);
  const srv = await startHttpServer(t, ['--validate-token', '--cluster-auth-mode', 'impersonate', '--require-oauth'],
    { KUBECONFIG: cluster.kubeconfig });
  const alice = await sdkClient(t, streamable(srv, { Authorization: `Bearer ${tokens.alice}` }));
  const ok = await alice.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
  assert.ok(!ok.isError, text(ok));
  const refused = await alice.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'kube-system' } });
  assert.match(text(refused), /User "alice" cannot list resource "pods"/);
  const records = await doubleRequests(cluster);
  const podCalls = records.filter((r) => r.path.endsWith('/pods'));
  assert.ok(podCalls.length >= 2);
  for (const r of podCalls) {
    assert.equal(r.authenticatedAs, 'admin', 'sent with the server\'s own credentials');
    assert.equal(r.impersonation.user, 'alice');
    assert.deepEqual(r.impersonation.groups, ['k8slab:readers', 'system:authenticated']);
  }

  await t.test('impersonation without validation refuses to start', async (t) => {
    const bad = await startHttpServer(t, ['--cluster-auth-mode', 'impersonate'], { KUBECONFIG: cluster.kubeconfig },
      { expectExit: 2 }).catch((e) => e);
    assert.match(String(bad.message ?? bad), /validate_token/);
  });
});

test('allowed_namespaces confines every tool, on top of RBAC', async (t) => {
  const cluster = await startDouble(t);
  const { client } = await connectClient(t, ['--allowed-namespaces', 'default,team-a'], { KUBECONFIG: cluster.kubeconfig });
  const ok = await client.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
  assert.ok(!ok.isError, text(ok));
  for (const [name, args] of [
    ['pods_list_in_namespace', { namespace: 'kube-system' }],
    ['pods_list', {}],
    ['resources_get', { apiVersion: 'v1', kind: 'Secret', name: 'db-credentials', namespace: 'kube-system' }],
    ['namespaces_list', {}],
    ['resources_create_or_update', { resource: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: kube-system}\n' }],
    ['serviceaccount_token_create', { serviceAccount: 'default', namespace: 'kube-system' }],
  ]) {
    const r = await client.callTool({ name, arguments: args });
    assert.equal(r.isError, true, `${name} ${JSON.stringify(args)}`);
    assert.match(text(r), /allowed_namespaces/);
  }
  const dep = await client.callTool({ name: 'resources_get', arguments: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'team-a' } });
  assert.ok(!dep.isError, text(dep));
});

test('per-request cluster selection: only API servers on allowed_api_servers', async (t) => {
  const home = await startDouble(t);
  const other = await startDouble(t);
  const otherTokens = tokensOf(other);
  const otherCa = readFileSync(path.join(other.dir, 'ca.crt')).toString('base64');
  const srv = await startHttpServer(t, ['--kubeconfig', credentiallessKubeconfig(t, home),
    '--cluster-provider-strategy', 'auth-headers', '--allowed-api-servers', `${other.url}/`]);
  const headers = {
    Authorization: `Bearer ${otherTokens.alice}`,
    'kubernetes-server': other.url,
    'kubernetes-certificate-authority-data': otherCa,
  };
  const alice = await sdkClient(t, streamable(srv, headers));
  const r = await alice.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
  assert.ok(!r.isError, text(r));
  const seen = (await doubleRequests(other)).filter((x) => x.path.endsWith('/pods'));
  assert.ok(seen.length >= 1 && seen.every((x) => x.user === 'alice'), 'the request went to the named cluster as alice');
  assert.equal((await doubleRequests(home)).filter((x) => x.path.endsWith('/pods')).length, 0);

  const notListed = await request(`${srv.url}/mcp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers, 'kubernetes-server': home.url },
    body: callBody(1, 'pods_list', {}),
  });
  assert.equal(notListed.status, 403);
  assert.match(JSON.parse(notListed.body).error.message, /allowed_api_servers/);

  const badCa = await request(`${srv.url}/mcp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers, 'kubernetes-certificate-authority-data': 'not base64!' },
    body: callBody(1, 'pods_list', {}),
  });
  assert.equal(badCa.status, 400);
});

test('an expired service-account token is refused by the TokenReview, with 401', async (t) => {
  const cluster = await startDouble(t);
  const tokens = tokensOf(cluster);
  // Re-sign the double's own service-account token with an expiry in the past, using its key.
  const { createSign } = await import('node:crypto');
  const [h, p] = tokens.sa.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  const now = Math.floor(Date.now() / 1000);
  Object.assign(claims, { iat: now - 7200, nbf: now - 7200, exp: now - 3600 });
  const body = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = createSign('RSA-SHA256').update(body).sign(readFileSync(path.join(cluster.dir, 'sa.key')));
  const expired = `${body}.${signature.toString('base64url')}`;

  const srv = await startHttpServer(t, ['--validate-token', '--require-oauth'], { KUBECONFIG: cluster.kubeconfig });
  const r = await request(`${srv.url}/mcp`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${expired}` },
    body: callBody(1, 'pods_list', {}),
  });
  assert.equal(r.status, 401);
  assert.match(r.headers['www-authenticate'], /error="invalid_token"/);
  // The same token, unexpired, is accepted: the refusal is about the expiry.
  const fresh = await request(`${srv.url}/mcp`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokens.sa}` },
    body: callBody(2, 'pods_list_in_namespace', { namespace: 'default' }),
  });
  assert.equal(fresh.status, 200, fresh.body);
  assert.ok(!srv.stderr().includes(expired.split('.')[2]), 'the token reached the log');
});

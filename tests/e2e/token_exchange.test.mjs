// RFC 8693 token exchange toward Kubernetes, end to end: kubemcp validates carol's access token (issued
// for kubemcp by a real OpenID provider, oidc-provider with its token-exchange grant, fixture idp.mjs
// --token-exchange), exchanges it at the IdP's token endpoint (found by discovery) for a token whose
// audience is the cluster, and the API double — which trusts that issuer for audience "kubernetes", as
// kube-apiserver's --oidc-* flags would — sees that exchanged token, not the MCP token and no
// Impersonate headers, and applies carol's RBAC. One exchange serves many calls; an STS refusal is a
// clear 401 (the subject token) or 503 (kubemcp's own credentials); no token or secret reaches the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { doubleRequests, scratchDir, startDouble, text, writeFile } from './lib/harness.mjs';
import { startHttpServer, request } from './lib/http.mjs';
import { OIDC_FLAGS, challenge, freePort, initializeBody, mcpHeaders, mintedToken, startIdp } from './lib/idp.mjs';

const AUDIENCE = 'kubernetes';
const STS_SECRET = 'kubemcp-e2e-sts-secret';
const sha16 = (s) => createHash('sha256').update(s).digest('hex').slice(0, 16);
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));

async function exchangedTokens(idp) {
  const res = await fetch(new URL('/__test/exchanged', idp.issuer));
  assert.equal(res.status, 200);
  return (await res.json()).issued;
}

/** kubemcp in OIDC mode with token exchange instead of impersonation (the shared flags, minus the mode). */
function exchangeFlags(issuer, extra) {
  const flags = OIDC_FLAGS(issuer);
  const i = flags.indexOf('--cluster-auth-mode');
  flags.splice(i, 2);
  // a second accepted audience, so that a token kubemcp accepts can still be one the STS refuses (case c)
  return [...flags, '--oidc-audience', 'kubemcp-other', '--token-exchange-strategy', 'rfc8693', '--sts-audience', AUDIENCE,
    ...extra];
}

async function connect(t, resource, token) {
  const client = new Client({ name: 'token-exchange-e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(resource), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }));
  t.after(() => client.close());
  return client;
}

test('RFC 8693 token exchange: the cluster sees the STS\'s token for the caller', async (t) => {
  const idpPort = await freePort();
  const issuer = `http://127.0.0.1:${idpPort}`;
  const cluster = await startDouble(t, ['--oidc-issuer', issuer, '--oidc-client-id', AUDIENCE, '--oidc-jwks-uri', `${issuer}/jwks`]);
  const secretFile = writeFile(scratchDir(t), 'sts-secret', `${STS_SECRET}\n`);
  const srv = await startHttpServer(t, exchangeFlags(issuer, ['--sts-client-id', 'kubemcp-e2e-sts', '--sts-client-secret-file', secretFile]),
    { KUBECONFIG: cluster.kubeconfig });
  const resource = `${srv.url}/mcp`;
  // The same kubemcp with HTTP Basic client authentication (sts_auth_style "header"), and one with a wrong secret.
  const basic = await startHttpServer(t, exchangeFlags(issuer, ['--sts-client-id', 'kubemcp-e2e-sts-basic', '--sts-auth-style', 'header',
    '--sts-client-secret-file', secretFile]), { KUBECONFIG: cluster.kubeconfig });
  const wrong = await startHttpServer(t, exchangeFlags(issuer, ['--sts-client-id', 'kubemcp-e2e-sts']),
    { KUBECONFIG: cluster.kubeconfig, KUBEMCP_STS_CLIENT_SECRET: 'not-the-secret' });
  const resources = [resource, `${basic.url}/mcp`, `${wrong.url}/mcp`];
  const idp = await startIdp(t, { port: idpPort, resources, args: ['--token-exchange', AUDIENCE] });
  assert.equal(idp.issuer, issuer);
  const exchangeLines = () => idp.stderr().split('\n').filter((l) => l.includes('] token-exchange ') && !l.includes('] token-exchange refused ')).length;
  const refusalLines = () => idp.stderr().split('\n').filter((l) => l.includes('] token-exchange refused ')).length;
  const seen = new Set();

  await t.test('a. carol calls tools: one exchange, the double sees the exchanged token and carol\'s RBAC', async () => {
    const subject = await mintedToken(idp, { sub: 'carol', aud: resource });
    seen.add(subject);
    assert.deepEqual(claimsOf(subject).groups, ['viewers']);
    const client = await connect(t, resource, subject);
    const pods = await client.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
    assert.ok(!pods.isError, `carol (oidc:viewers → view) lists pods: ${text(pods)}`);
    const ns = await client.callTool({ name: 'namespaces_list', arguments: {} });
    assert.ok(!ns.isError, text(ns));
    const secrets = await client.callTool({ name: 'resources_list', arguments: { apiVersion: 'v1', kind: 'Secret', namespace: 'default' } });
    assert.equal(secrets.isError, true, text(secrets));
    assert.match(text(secrets), /secrets is forbidden: User "oidc:carol" cannot list resource "secrets" in API group "" in the namespace "default"/);

    const issued = await exchangedTokens(idp);
    assert.equal(issued.length, 1, 'one exchange for the whole session (initialize, tools/list, three tool calls)');
    assert.equal(exchangeLines(), 1);
    const [exchanged] = issued;
    seen.add(exchanged);
    const c = claimsOf(exchanged);
    assert.equal(c.aud, AUDIENCE);
    assert.equal(c.sub, 'carol');
    assert.deepEqual(c.groups, ['viewers']);
    assert.equal(c.client_id, 'kubemcp-e2e-sts');

    const calls = (await doubleRequests(cluster)).filter((r) => r.user === 'oidc:carol');
    assert.ok(calls.length >= 3, `the double saw carol's calls: ${calls.length}`);
    for (const r of calls) {
      assert.equal(r.authMethod, 'token', JSON.stringify(r));
      assert.equal(r.authenticatedAs, 'oidc:carol', 'authenticated by the exchanged token itself');
      assert.equal(r.impersonation, null, 'no Impersonate headers');
      assert.equal(r.tokenSha256, sha16(exchanged), 'the exchanged token, not the MCP token');
      assert.notEqual(r.tokenSha256, sha16(subject));
    }
    assert.ok(!(await doubleRequests(cluster)).some((r) => r.tokenSha256 === sha16(subject)), 'the MCP-audience token never reached the cluster');

    // More calls on a new connection with the same token: still the cached exchange.
    const again = await connect(t, resource, subject);
    const more = await again.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
    assert.ok(!more.isError, text(more));
    assert.equal((await exchangedTokens(idp)).length, 1);
  });

  await t.test('b. HTTP Basic client authentication (sts_auth_style = "header") works against oidc-provider', async () => {
    const subject = await mintedToken(idp, { sub: 'carol', aud: `${basic.url}/mcp` });
    seen.add(subject);
    const client = await connect(t, `${basic.url}/mcp`, subject);
    const pods = await client.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
    assert.ok(!pods.isError, text(pods));
    const issued = await exchangedTokens(idp);
    assert.equal(issued.length, 2);
    assert.equal(claimsOf(issued[1]).client_id, 'kubemcp-e2e-sts-basic');
    seen.add(issued[1]);
  });

  await t.test('c. the STS refuses the caller\'s token (invalid_grant) → 401 invalid_token, remembered', async () => {
    // kubemcp accepts this audience (--oidc-audience), the STS only exchanges tokens issued for kubemcp's resource
    const subject = await mintedToken(idp, { sub: 'carol', aud: 'kubemcp-other' });
    seen.add(subject);
    const before = exchangeLines();
    const refusedBefore = refusalLines();
    for (let i = 0; i < 2; i++) {
      const r = await request(resource, { method: 'POST', body: initializeBody, headers: { ...mcpHeaders, Authorization: `Bearer ${subject}` } });
      assert.equal(r.status, 401, r.body.slice(0, 300));
      const c = challenge(r.headers['www-authenticate']);
      assert.equal(c.error, 'invalid_token');
      assert.match(c.error_description, /token exchange failed: the token service refused to exchange the caller's token: invalid_grant \(grant request is invalid\)/);
      assert.match(JSON.parse(r.body).error.message, /invalid_grant/);
    }
    assert.equal(exchangeLines(), before, 'refused exchanges issue nothing');
    assert.equal(refusalLines(), refusedBefore + 1, 'the second request was answered from kubemcp\'s memory of the refusal');
  });

  await t.test('d. the STS refuses kubemcp (wrong client secret) → 503 naming the settings to check', async () => {
    const subject = await mintedToken(idp, { sub: 'carol', aud: `${wrong.url}/mcp` });
    seen.add(subject);
    const r = await request(`${wrong.url}/mcp`, { method: 'POST', body: initializeBody, headers: { ...mcpHeaders, Authorization: `Bearer ${subject}` } });
    assert.equal(r.status, 503, r.body.slice(0, 300));
    const message = JSON.parse(r.body).error.message;
    assert.match(message, /refused kubemcp's exchange request: invalid_client \(client authentication failed\); check sts_client_id, sts_client_secret and sts_auth_style/);
    assert.ok(!message.includes('not-the-secret'));
  });

  await t.test('e. no token and no STS secret in kubemcp\'s log at --log-level 9', async () => {
    for (const s of [srv, basic, wrong]) {
      const log = s.stderr();
      assert.match(log, /token exchange \(rfc8693\) at the issuer's token endpoint, audience kubernetes/);
      for (const token of seen) {
        assert.ok(!log.includes(token), `a token reached kubemcp's log: ${token.slice(0, 12)}…`);
        assert.ok(!log.includes(token.split('.')[2]), 'a token signature reached kubemcp\'s log');
      }
      assert.ok(!log.includes(STS_SECRET) && !log.includes('not-the-secret'), 'the STS client secret reached the log');
    }
  });
});

test('token exchange settings kubemcp cannot honour refuse to start with a clear reason', async (t) => {
  const issuer = `http://127.0.0.1:${await freePort()}`;
  const cases = [
    [['--token-exchange-strategy', 'entra-obo'], /token_exchange_strategy "entra-obo" \(Microsoft Entra On-Behalf-Of\) is not supported/],
    [['--token-exchange-strategy', 'rfc8693', '--sts-auth-style', 'assertion'], /sts_auth_style "assertion" .* is not supported/],
  ];
  for (const [extra, message] of cases) {
    const flags = OIDC_FLAGS(issuer);
    flags.splice(flags.indexOf('--cluster-auth-mode'), 2);
    const bad = await startHttpServer(t, [...flags, ...extra], {}, { expectExit: 2 }).catch((e) => e);
    assert.match(String(bad.message ?? bad), message);
  }
  const noIssuer = await startHttpServer(t, ['--require-oauth', '--token-exchange-strategy', 'rfc8693'], {}, { expectExit: 2 }).catch((e) => e);
  assert.match(String(noIssuer.message ?? noIssuer), /token_exchange_strategy needs an OpenID issuer/);
});

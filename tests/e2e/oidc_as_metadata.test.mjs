// The OpenID issuer's authorization server metadata served again at kubemcp's own origin
// (/.well-known/oauth-authorization-server[/mcp], /.well-known/openid-configuration[/mcp]), for MCP
// clients of the 2025-03-26 spec that look for it there: against the real oidc-provider fixture
// publishing RFC 8414 metadata, and with --no-rfc8414 (only openid-configuration, as Entra ID), read
// by the MCP SDK's discovery functions and by plain fetches; no token needed on any /.well-known/ path;
// CORS as on the Protected Resource Metadata; 404 without an issuer; 503 while the IdP is down; and
// against a hostile local IdP: another issuer's document, a redirect to another host, an oversized body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  discoverAuthorizationServerMetadata, discoverOAuthMetadata, startAuthorization,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { OAuthMetadataSchema, OpenIdProviderDiscoveryMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import { startHttpServer, request } from './lib/http.mjs';
import { OIDC_FLAGS, freePort, startIdp } from './lib/idp.mjs';

const APP_ORIGIN = 'http://app.example.test';
const AS_PATHS = ['/.well-known/oauth-authorization-server', '/.well-known/oauth-authorization-server/mcp'];
const OIDC_PATHS = ['/.well-known/openid-configuration', '/.well-known/openid-configuration/mcp'];
// Members oidc-provider publishes that are not registered AS metadata (or that kubemcp leaves out on purpose).
const UNREGISTERED = ['pushed_authorization_request_endpoint', 'end_session_endpoint', 'dpop_signing_alg_values_supported'];

/** A GET of a path exactly as written (URL parsing would resolve "..", which is the point of some paths). */
function rawGet(port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
    });
    req.setTimeout(15000, () => req.destroy(new Error(`no answer for ${path}`)));
    req.on('error', reject);
  });
}

async function json(url) {
  const r = await request(url);
  assert.equal(r.status, 200, `${url}: ${r.status} ${r.body.slice(0, 300)}`);
  return JSON.parse(r.body);
}

/** kubemcp in front of the fixture IdP (with or without its RFC 8414 document). */
async function startPair(t, { rfc8414 }) {
  const idpPort = await freePort();
  const issuer = `http://127.0.0.1:${idpPort}`;
  const srv = await startHttpServer(t, [...OIDC_FLAGS(issuer), '--allowed-origins', APP_ORIGIN]);
  const idp = await startIdp(t, { port: idpPort, resources: [`${srv.url}/mcp`], args: rfc8414 ? [] : ['--no-rfc8414'] });
  return { srv, idp, issuer };
}

for (const rfc8414 of [true, false]) {
  const what = rfc8414 ? 'an IdP that publishes RFC 8414 metadata' : 'an IdP that publishes only openid-configuration';
  test(`authorization server metadata at kubemcp's origin, from ${what}`, async (t) => {
    const { srv, issuer } = await startPair(t, { rfc8414 });
    const own = await request(`${issuer}/.well-known/oauth-authorization-server`);
    assert.equal(own.status, rfc8414 ? 200 : 404, 'the fixture publishes RFC 8414 metadata or not');
    const openid = await json(`${issuer}/.well-known/openid-configuration`);
    const upstream = rfc8414 ? JSON.parse(own.body) : openid;

    await t.test('plain fetches get a valid RFC 8414 document, built from the IdP\'s', async () => {
      for (const p of AS_PATHS) {
        const r = await request(`${srv.url}${p}`);
        assert.equal(r.status, 200, `${p}: ${r.status} ${r.body.slice(0, 300)}`);
        assert.match(r.headers['content-type'] ?? '', /^application\/json/);
        const doc = JSON.parse(r.body);
        assert.equal(doc.issuer, issuer, 'the issuer stays the IdP\'s (the document is about the IdP)');
        assert.equal(doc.authorization_endpoint, `${issuer}/auth`);
        assert.equal(doc.token_endpoint, `${issuer}/token`);
        assert.ok(doc.response_types_supported.includes('code'));
        assert.ok(doc.code_challenge_methods_supported.includes('S256'));
        assert.deepEqual(doc.scopes_supported, ['mcp:read'], 'scopes_supported is kubemcp\'s, as in its PRM');
        for (const [k, v] of Object.entries(doc))
          if (k !== 'scopes_supported') assert.deepEqual(v, upstream[k], `${p}: ${k} is the IdP's`);
        for (const k of UNREGISTERED) {
          assert.ok(k in upstream, `the fixture publishes ${k}`);
          assert.ok(!(k in doc), `${k} is not passed on`);
        }
        assert.doesNotThrow(() => OAuthMetadataSchema.parse(doc));
      }
    });

    await t.test('the OpenID route serves an OpenID configuration', async () => {
      for (const p of OIDC_PATHS) {
        const doc = await json(`${srv.url}${p}`);
        assert.equal(doc.issuer, issuer);
        assert.equal(doc.jwks_uri, openid.jwks_uri);
        assert.deepEqual(doc.subject_types_supported, openid.subject_types_supported);
        assert.deepEqual(doc.id_token_signing_alg_values_supported, openid.id_token_signing_alg_values_supported);
        assert.deepEqual(doc.scopes_supported, ['mcp:read']);
        assert.doesNotThrow(() => OpenIdProviderDiscoveryMetadataSchema.parse(doc));
      }
    });

    await t.test('the MCP SDK\'s discovery finds it at kubemcp\'s URL', async () => {
      const fetched = [];
      const fetchFn = (url, init) => { fetched.push(String(url)); return fetch(url, init); };
      // A 2025-03-26 client takes the MCP server's origin as the authorization server.
      const meta = await discoverAuthorizationServerMetadata(srv.url, { fetchFn });
      assert.equal(meta?.issuer, issuer);
      assert.equal(fetched[0], `${srv.url}/.well-known/oauth-authorization-server`);
      // Path-aware discovery from the MCP endpoint's URL.
      fetched.length = 0;
      const fromMcp = await discoverAuthorizationServerMetadata(`${srv.url}/mcp`, { fetchFn });
      assert.equal(fromMcp?.token_endpoint, `${issuer}/token`);
      assert.deepEqual(fetched, [`${srv.url}/.well-known/oauth-authorization-server/mcp`]);
      const legacy = await discoverOAuthMetadata(srv.url, {}, fetchFn);
      assert.equal(legacy?.authorization_endpoint, `${issuer}/auth`);
      // The document is good enough for the SDK to start an authorization (code + S256 checked).
      const { authorizationUrl } = await startAuthorization(srv.url, {
        metadata: meta, clientInformation: { client_id: 'kubemcp-e2e-public' },
        redirectUrl: 'http://127.0.0.1:5555/callback', scope: 'mcp:read', resource: new URL(`${srv.url}/mcp`),
      });
      assert.equal(authorizationUrl.origin + authorizationUrl.pathname, `${issuer}/auth`);
    });

    await t.test('no token needed; CORS, HEAD, methods and preflight as on the PRM route', async () => {
      const prm = await request(`${srv.url}/.well-known/oauth-protected-resource`, { headers: { Origin: APP_ORIGIN } });
      for (const p of [...AS_PATHS, ...OIDC_PATHS]) {
        const r = await request(`${srv.url}${p}`, { headers: { Origin: APP_ORIGIN, Authorization: 'Bearer not-a-token' } });
        assert.equal(r.status, 200, `${p} with a garbage token: ${r.status}`);
        assert.equal(r.headers['access-control-allow-origin'], APP_ORIGIN);
        assert.equal(r.headers['access-control-allow-origin'], prm.headers['access-control-allow-origin']);
        const foreign = await request(`${srv.url}${p}`, { headers: { Origin: 'http://evil.example.test' } });
        assert.equal(foreign.status, 403, 'a foreign Origin is refused as everywhere');
        const head = await request(`${srv.url}${p}`, { method: 'HEAD' });
        assert.equal(head.status, 200);
        assert.equal(head.body, '');
        const post = await request(`${srv.url}${p}`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
        assert.equal(post.status, 405);
        assert.equal(post.headers.allow, 'GET, HEAD, OPTIONS');
        const pre = await request(`${srv.url}${p}`, {
          method: 'OPTIONS', headers: { Origin: APP_ORIGIN, 'Access-Control-Request-Method': 'GET' },
        });
        assert.equal(pre.status, 204);
        assert.equal(pre.headers['access-control-allow-origin'], APP_ORIGIN);
      }
    });

    await t.test('every /.well-known/ path answers or 404s without a token', async () => {
      const paths = [
        '/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp',
        '/.well-known/oauth-protected-resource/sse', '/.well-known/oauth-authorization-server/sse',
        '/.well-known/oauth-authorization-server/a/b/c', '/.well-known/openid-configuration/x',
        '/.well-known/oauth-authorization-server/%2e%2e/x', '/.well-known/oauth-authorization-server/../../mcp',
        '/.well-known/oauth-authorization-serverX', '/.well-known/jwks.json', '/.well-known/', '/.well-known',
        '/.well-known/mcp', '/.well-known/security.txt', '/mcp/.well-known/openid-configuration',
      ];
      for (const p of paths) {
        for (const headers of [{}, { Authorization: 'Bearer garbage' }]) {
          const r = await rawGet(srv.port, p, headers);
          assert.ok(r.status === 200 || r.status === 404, `${p}: ${r.status}`);
          assert.equal(r.headers['www-authenticate'], undefined, `${p} asks for no token`);
        }
      }
    });
  });
}

test('without an OpenID issuer the metadata routes are 404', async (t) => {
  const srv = await startHttpServer(t, ['--log-level', '9']);
  for (const p of [...AS_PATHS, ...OIDC_PATHS]) {
    const r = await request(`${srv.url}${p}`);
    assert.equal(r.status, 404, `${p}: ${r.status}`);
  }
});

test('an unreachable IdP: 503 with a JSON reason, answered at once, and served once the IdP is up', async (t) => {
  const idpPort = await freePort();
  const issuer = `http://127.0.0.1:${idpPort}`;
  const srv = await startHttpServer(t, OIDC_FLAGS(issuer));
  const r = await request(`${srv.url}/.well-known/oauth-authorization-server`);
  assert.equal(r.status, 503, r.body);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(r.body);
  assert.equal(body.error, 'temporarily_unavailable');
  assert.match(body.error_description, /unreachable/);
  const started = Date.now();
  const again = await request(`${srv.url}/.well-known/openid-configuration`);
  assert.equal(again.status, 503);
  const quick = await request(`${srv.url}/.well-known/oauth-authorization-server`);
  assert.equal(quick.status, 503);
  assert.ok(Date.now() - started < 2000, 'a recent failure is answered from memory, not refetched');
  assert.match(srv.stderr(), /WARN \/\.well-known\/oauth-authorization-server answered 503 \(the IdP at http:\/\/127\.0\.0\.1:\d+ is unreachable/);

  await startIdp(t, { port: idpPort, resources: [`${srv.url}/mcp`] });
  let status = 0;
  for (let i = 0; i < 40 && status !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    status = (await request(`${srv.url}/.well-known/oauth-authorization-server`)).status;
  }
  assert.equal(status, 200, 'served once the IdP answers (after the back-off)');
});

/** A hostile IdP double: its RFC 8414 route answers as `mode` says; its openid-configuration is honest. */
async function hostileIdp(t, mode, elsewhere) {
  const server = http.createServer((req, res) => {
    const issuer = `http://127.0.0.1:${server.address().port}`;
    const doc = (extra) => JSON.stringify({
      issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'], subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'], code_challenge_methods_supported: ['S256'], ...extra,
    });
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(doc({ service_documentation: `${issuer}/honest` }));
    } else if (req.url === '/.well-known/oauth-authorization-server' && mode === 'mismatch') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(doc({ issuer: `${issuer}/evil` }));
    } else if (req.url === '/.well-known/oauth-authorization-server' && mode === 'redirect') {
      res.writeHead(302, { Location: `${elsewhere}/.well-known/oauth-authorization-server` }).end();
    } else if (req.url === '/.well-known/oauth-authorization-server' && mode === 'huge') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(`{"x":"${'a'.repeat(1024 * 1024)}"}`);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return `http://127.0.0.1:${server.address().port}`;
}

test('a hostile IdP: another issuer, a redirect to another host, an oversized document', async (t) => {
  const hits = [];
  const other = http.createServer((req, res) => { hits.push(req.url); res.writeHead(200).end('{}'); });
  await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => { other.closeAllConnections(); other.close(resolve); }));
  const elsewhere = `http://127.0.0.1:${other.address().port}`;

  await t.test('another issuer\'s document is refused with 502, not replaced by the OpenID one', async (t) => {
    const issuer = await hostileIdp(t, 'mismatch', elsewhere);
    const srv = await startHttpServer(t, OIDC_FLAGS(issuer));
    const r = await request(`${srv.url}/.well-known/oauth-authorization-server`);
    assert.equal(r.status, 502, r.body);
    const body = JSON.parse(r.body);
    assert.equal(body.error, 'server_error');
    assert.match(body.error_description, /issuer mismatch/);
    assert.equal((await request(`${srv.url}/.well-known/openid-configuration`)).status, 200, 'the honest document is served');
  });
  await t.test('a redirect is not followed: the document is built from openid-configuration', async (t) => {
    const issuer = await hostileIdp(t, 'redirect', elsewhere);
    const srv = await startHttpServer(t, OIDC_FLAGS(issuer));
    const doc = await json(`${srv.url}/.well-known/oauth-authorization-server`);
    assert.equal(doc.service_documentation, `${issuer}/honest`);
    assert.deepEqual(hits, [], 'kubemcp never asked the other host');
  });
  await t.test('a document over the size cap is refused with 502', async (t) => {
    const issuer = await hostileIdp(t, 'huge', elsewhere);
    const srv = await startHttpServer(t, OIDC_FLAGS(issuer));
    const r = await request(`${srv.url}/.well-known/oauth-authorization-server`);
    assert.equal(r.status, 502, r.body.slice(0, 300));
    assert.match(JSON.parse(r.body).error_description, /larger than \d+ bytes/);
  });
});

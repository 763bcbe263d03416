// kubemcp as an OAuth resource server in front of a real OpenID provider (oidc-provider, on loopback,
// tests/fixtures/oidc-provider/idp.mjs): Protected Resource Metadata, the 401/403 challenges, the real
// SDK OAuth client going from kubemcp's URL through discovery, dynamic registration and a scripted
// PKCE login to a tool call, the token's user and groups impersonated towards the API double (so
// RBAC is the user's), refusal of wrong-audience, expired, garbage and under-scoped tokens, and no
// token in kubemcp's log at the highest verbosity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { doubleRequests, startDouble, text } from './lib/harness.mjs';
import { startHttpServer, request } from './lib/http.mjs';
import { OIDC_FLAGS, challenge, freePort, initializeBody, mcpHeaders, mintedToken, startIdp } from './lib/idp.mjs';

const PUBLIC_CLIENT = 'kubemcp-e2e-public';
const PUBLIC_REDIRECT = 'http://127.0.0.1:5555/callback';   // nobody listens: the headless agent stops there
const SERVICE_CLIENT = ['kubemcp-e2e-service', 'kubemcp-e2e-service-secret'];
const SDK_REDIRECT = 'http://127.0.0.1:5556/callback';

/** The claims of a JWT, unverified (to check what the IdP issued). */
function jwtParts(token) {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), claims: JSON.parse(Buffer.from(p, 'base64url')) };
}

/**
 * A scripted user agent for oidc-provider's devInteractions: follows redirects with a cookie jar,
 * submits the login form as `login` and the consent form, and stops at the redirect URI.
 * Returns the callback's query (code, state, iss); checks state and iss.
 */
async function headlessLogin(authUrl, { login, redirectUri, state, issuer }) {
  const jar = new Map();
  let next = { url: String(authUrl), method: 'GET' };
  const pages = [];
  for (let hop = 0; hop < 25; hop++) {
    if (next.url.startsWith(redirectUri)) {
      const q = new URL(next.url).searchParams;
      assert.equal(q.get('error'), null, `authorization failed: ${q.get('error')} ${q.get('error_description')}`);
      assert.equal(q.get('state'), state, 'state round-trips');
      assert.equal(q.get('iss'), issuer, 'RFC 9207 iss names the IdP');
      return { code: q.get('code'), pages };
    }
    const res = await fetch(next.url, {
      method: next.method, redirect: 'manual', body: next.body,
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(next.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
    });
    for (const c of res.headers.getSetCookie()) {
      const kv = c.split(';')[0];
      const i = kv.indexOf('=');
      jar.set(kv.slice(0, i), kv.slice(i + 1));
    }
    if (res.status >= 300 && res.status < 400) {
      next = { url: new URL(res.headers.get('location'), next.url).href, method: 'GET' };
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(action && prompt, `unexpected IdP page (${res.status}): ${html.slice(0, 300)}`);
    pages.push(prompt);
    const form = prompt === 'login' ? { prompt, login, password: 'any' } : { prompt };
    next = { url: new URL(action, next.url).href, method: 'POST', body: new URLSearchParams(form).toString() };
  }
  throw new Error('too many redirects in the authorization flow');
}

/** An access token for `login`, through the static public client (authorization code + PKCE). */
async function userToken(idp, login, { resource, scope = 'mcp:read' }) {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const auth = new URL('/auth', idp.issuer);
  auth.search = new URLSearchParams({
    response_type: 'code', client_id: PUBLIC_CLIENT, redirect_uri: PUBLIC_REDIRECT, scope, state, resource,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  });
  const { code } = await headlessLogin(auth, { login, redirectUri: PUBLIC_REDIRECT, state, issuer: idp.issuer });
  const res = await fetch(new URL('/token', idp.issuer), {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: PUBLIC_REDIRECT,
      client_id: PUBLIC_CLIENT, resource,
    }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.access_token;
}

/** An access token for the static confidential client (client_credentials with a resource indicator). */
async function serviceToken(idp, { resource, scope }) {
  const res = await fetch(new URL('/token', idp.issuer), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(SERVICE_CLIENT.join(':')).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.access_token;
}

/** OAuthClientProvider kept in memory; records what the SDK did. */
class MemoryOAuthProvider {
  constructor() { this.store = {}; this.events = []; }
  get redirectUrl() { return SDK_REDIRECT; }
  get clientMetadata() {
    return {
      client_name: 'kubemcp-oidc-e2e', redirect_uris: [SDK_REDIRECT], application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none',
    };
  }
  state() { return (this.store.state = randomBytes(16).toString('base64url')); }
  clientInformation() { return this.store.client; }
  saveClientInformation(info) { this.events.push('registered'); this.store.client = info; }
  tokens() { return this.store.tokens; }
  saveTokens(tokens) { this.events.push('tokens'); this.store.tokens = tokens; }
  saveCodeVerifier(v) { this.store.verifier = v; }
  codeVerifier() { return this.store.verifier; }
  redirectToAuthorization(url) { this.events.push('redirect'); this.store.authUrl = new URL(url); }
  invalidateCredentials(scope) {
    this.events.push(`invalidate:${scope}`);
    if (scope === 'all' || scope === 'tokens') delete this.store.tokens;
    if (scope === 'all' || scope === 'client') delete this.store.client;
  }
}

test('OIDC resource server against a real OpenID provider', async (t) => {
  const cluster = await startDouble(t);
  // kubemcp needs the issuer at start-up and the IdP needs kubemcp's resource URI: the IdP's port is
  // picked first, kubemcp starts with that issuer (it fetches discovery and JWKS on the first token),
  // then the IdP starts on that port with kubemcp's URL as its resource.
  const idpPort = await freePort();
  const issuer = `http://127.0.0.1:${idpPort}`;
  let srv;
  try {
    srv = await startHttpServer(t, OIDC_FLAGS(issuer), { KUBECONFIG: cluster.kubeconfig });
  } catch (e) {
    assert.fail(`kubemcp does not start with the OIDC flags (not implemented in this build?): ${String(e.message).slice(0, 1500)}`);
  }
  const resource = `${srv.url}/mcp`;
  const otherResource = `${srv.url}/other`;   // same server, different resource: aud must match exactly
  const idp = await startIdp(t, { port: idpPort, resources: [resource, otherResource] });
  assert.equal(idp.issuer, issuer);
  const prmUrl = `${srv.url}/.well-known/oauth-protected-resource`;
  const seenTokens = new Set();   // every token any case handled, for the log check (f)
  const use = (token) => { seenTokens.add(token); return token; };
  const post = (token, body = initializeBody) => request(resource, {
    method: 'POST', body, headers: { ...mcpHeaders, ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}) },
  });

  await t.test('a. Protected Resource Metadata at both well-known URLs, without a token', async () => {
    for (const url of [prmUrl, `${prmUrl}/mcp`]) {
      const r = await request(url);
      assert.equal(r.status, 200, `${url}: ${r.status} ${r.body.slice(0, 300)}`);
      assert.match(r.headers['content-type'] ?? '', /^application\/json/);
      const doc = JSON.parse(r.body);
      assert.equal(doc.resource, resource, url);
      assert.deepEqual(doc.authorization_servers, [issuer], url);
      assert.ok(Array.isArray(doc.scopes_supported) && doc.scopes_supported.includes('mcp:read'), JSON.stringify(doc));
      assert.deepEqual(doc.bearer_methods_supported, ['header'], url);
    }
  });

  await t.test('b. /mcp without a token: 401 with the resource_metadata and scope challenge', async () => {
    const r = await post(undefined);
    assert.equal(r.status, 401, r.body.slice(0, 300));
    // Bearer resource_metadata="<PRM URL>", scope="mcp:read" (other auth-params such as realm may come along,
    // but no error: RFC 6750 §3.1, a request without credentials gets a bare challenge)
    const header = r.headers['www-authenticate'];
    const c = challenge(header);
    assert.equal(c.resource_metadata, prmUrl, header);
    assert.equal(c.scope, 'mcp:read', header);
    assert.equal(c.error, undefined, header);
    // a token in the query string is not a token
    const q = await request(`${resource}?access_token=${encodeURIComponent(await mintedToken(idp, { sub: 'carol' }))}`, {
      method: 'POST', headers: mcpHeaders, body: initializeBody,
    });
    assert.equal(q.status, 401, 'tokens are only read from the Authorization header');
  });

  await t.test('c. the SDK OAuth client: discovery, DCR, PKCE login as carol, then carol\'s RBAC', async () => {
    const provider = new MemoryOAuthProvider();
    const fetched = [];
    const recordingFetch = (url, init) => { fetched.push(`${init?.method ?? 'GET'} ${String(url)}`); return fetch(url, init); };
    const transport = () => new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider, fetch: recordingFetch });

    const first = transport();
    const err = await new Client({ name: 'oidc-e2e', version: '1.0.0' }).connect(first).then(() => null, (e) => e);
    assert.ok(err instanceof UnauthorizedError, `expected the SDK to stop for authorization, got: ${err?.stack ?? 'a connection'}`);
    assert.ok(fetched.some((f) => f === `GET ${prmUrl}` || f === `GET ${prmUrl}/mcp`), `PRM fetched: ${fetched.join('\n')}`);
    assert.ok(fetched.some((f) => f.startsWith(`GET ${issuer}/.well-known/`)), `AS metadata fetched: ${fetched.join('\n')}`);
    assert.ok(fetched.includes(`POST ${issuer}/reg`), `dynamic registration: ${fetched.join('\n')}`);
    assert.ok(provider.store.client?.client_id && provider.store.client.client_id !== PUBLIC_CLIENT, 'a DCR client id');

    const authUrl = provider.store.authUrl;
    assert.equal(authUrl.origin + authUrl.pathname, `${issuer}/auth`);
    assert.equal(authUrl.searchParams.get('resource'), resource, 'RFC 8707 resource = the PRM resource');
    assert.equal(authUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.match(authUrl.searchParams.get('scope') ?? '', /(^| )mcp:read( |$)/);

    const { code, pages } = await headlessLogin(authUrl, { login: 'carol', redirectUri: SDK_REDIRECT, state: provider.store.state, issuer });
    assert.deepEqual(pages, ['login', 'consent']);
    await first.finishAuth(code);
    const tokens = provider.store.tokens;
    assert.ok(tokens?.access_token, 'the SDK saved tokens');
    use(tokens.access_token);
    if (tokens.refresh_token) use(tokens.refresh_token);
    const { header, claims } = jwtParts(tokens.access_token);
    assert.equal(header.alg, 'RS256');
    assert.equal(header.typ, 'at+jwt');
    assert.equal(claims.iss, issuer);
    assert.equal(claims.aud, resource);
    assert.equal(claims.sub, 'carol');
    assert.deepEqual(claims.groups, ['viewers']);
    assert.match(claims.scope, /(^| )mcp:read( |$)/);

    const client = new Client({ name: 'oidc-e2e', version: '1.0.0' });
    await client.connect(transport());
    t.after(() => client.close());
    const ok = await client.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
    assert.ok(!ok.isError, `carol (oidc:viewers → view) lists pods in default: ${text(ok)}`);
    // ClusterRole view grants namespaces (as on a real cluster), so carol may list them; it does not grant secrets
    const ns = await client.callTool({ name: 'namespaces_list', arguments: {} });
    assert.ok(!ns.isError, `view includes namespaces: ${text(ns)}`);
    const refused = await client.callTool({ name: 'resources_list', arguments: { apiVersion: 'v1', kind: 'Secret', namespace: 'default' } });
    assert.equal(refused.isError, true, text(refused));
    assert.match(text(refused), /secrets is forbidden: User "oidc:carol" cannot list resource "secrets" in API group "" in the namespace "default"/);

    const calls = (await doubleRequests(cluster)).filter((r) => r.impersonation?.user === 'oidc:carol');
    assert.ok(calls.length >= 2, 'the API double saw carol impersonated');
    for (const r of calls) {
      assert.equal(r.authenticatedAs, 'admin', 'sent with the server\'s own credentials');
      assert.ok(r.impersonation.groups.includes('oidc:viewers'), JSON.stringify(r.impersonation));
    }
  });

  await t.test('d. dave (no groups) is refused by RBAC as User "oidc:dave"', async () => {
    const token = use(await userToken(idp, 'dave', { resource }));
    assert.deepEqual(jwtParts(token).claims.groups, []);
    const client = new Client({ name: 'oidc-e2e-dave', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(resource), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }));
    t.after(() => client.close());
    const r = await client.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), /pods is forbidden: User "oidc:dave" cannot list resource "pods" in API group "" in the namespace "default"/);
  });

  await t.test('e. wrong audience, expired and garbage tokens → 401 invalid_token; missing scope → 403', async (t) => {
    await t.test('a real token issued for another resource', async () => {
      const token = use(await userToken(idp, 'carol', { resource: otherResource }));
      assert.equal(jwtParts(token).claims.aud, otherResource);
      const r = await post(token);
      assert.equal(r.status, 401, r.body.slice(0, 300));
      const c = challenge(r.headers['www-authenticate']);
      assert.equal(c.error, 'invalid_token');
      assert.equal(c.resource_metadata, prmUrl);
    });
    await t.test('a token for another resource from client_credentials', async () => {
      const r = await post(use(await serviceToken(idp, { resource: otherResource, scope: 'mcp:read' })));
      assert.equal(r.status, 401);
      assert.equal(challenge(r.headers['www-authenticate']).error, 'invalid_token');
    });
    await t.test('signed tokens whose aud is close to, but not, the resource', async () => {
      for (const aud of [srv.url, `${resource}/`, `${resource}x`, [otherResource], 'kubemcp']) {
        const r = await post(use(await mintedToken(idp, { sub: 'carol', aud })));
        assert.equal(r.status, 401, `aud ${JSON.stringify(aud)}: ${r.status}`);
        assert.equal(challenge(r.headers['www-authenticate']).error, 'invalid_token');
      }
    });
    await t.test('an expired token signed by the IdP', async () => {
      const r = await post(use(await mintedToken(idp, { sub: 'carol', aud: resource, expiresIn: -3600 })));
      assert.equal(r.status, 401, r.body.slice(0, 300));
      assert.equal(challenge(r.headers['www-authenticate']).error, 'invalid_token');
    });
    await t.test('garbage', async () => {
      const good = await mintedToken(idp, { sub: 'carol', aud: resource });
      const [h, p, s] = good.split('.');
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...jwtParts(good).claims, sub: 'admin' })).toString('base64url')}.${s}`;
      for (const token of ['garbage', 'a.b.c', `${h}.${p}.`, `${h}.${p}.${s.slice(0, -4)}AAAA`, tampered]) {
        const r = await post(use(token));
        assert.equal(r.status, 401, `${token.slice(0, 40)}…: ${r.status}`);
        assert.equal(challenge(r.headers['www-authenticate']).error, 'invalid_token', token.slice(0, 40));
      }
    });
    await t.test('a valid token without mcp:read → 403 insufficient_scope', async () => {
      const token = use(await serviceToken(idp, { resource, scope: 'mcp:write' }));
      assert.equal(jwtParts(token).claims.scope, 'mcp:write');
      const r = await post(token);
      assert.equal(r.status, 403, r.body.slice(0, 300));
      const c = challenge(r.headers['www-authenticate']);
      assert.equal(c.error, 'insufficient_scope');
      assert.equal(c.scope, 'mcp:read');
      assert.equal(c.resource_metadata, prmUrl);
    });
  });

  await t.test('f. no token in kubemcp\'s log at --log-level 9', async () => {
    assert.ok(seenTokens.size >= 8, `tokens collected: ${seenTokens.size}`);
    const log = srv.stderr();
    assert.ok(log.length > 0);
    for (const token of seenTokens) {
      if (token.length < 20) continue;   // 'garbage', 'a.b.c': too short to tell apart from ordinary words
      assert.ok(!log.includes(token), `a token reached kubemcp's log: ${token.slice(0, 12)}…`);
      const sig = token.split('.')[2];
      if (sig && sig.length >= 16) assert.ok(!log.includes(sig), `a token signature reached kubemcp's log: ${sig.slice(0, 8)}…`);
    }
  });
});

test('per-tool scopes: a read-only token sees and calls only read-only tools', async (t) => {
  const cluster = await startDouble(t);
  const idpPort = await freePort();
  const issuer = `http://127.0.0.1:${idpPort}`;
  const flags = OIDC_FLAGS(issuer).filter((f) => f !== '--oidc-scopes' && f !== 'mcp:read');
  const srv = await startHttpServer(t, [...flags, '--oidc-read-scope', 'mcp:read', '--oidc-write-scope', 'mcp:write',
    '--oidc-tool-scopes', 'pods_log=mcp:logs'], { KUBECONFIG: cluster.kubeconfig });
  const resource = `${srv.url}/mcp`;
  const idp = await startIdp(t, { port: idpPort, resources: [resource] });
  const readOnly = await serviceToken(idp, { resource, scope: 'mcp:read' });
  const readWrite = await serviceToken(idp, { resource, scope: 'mcp:read mcp:write' });
  const post = (token, body) => request(resource, {
    method: 'POST', body, headers: { ...mcpHeaders, Authorization: `Bearer ${token}` },
  });
  const listBody = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  const names = (r) => JSON.parse(r.body).result.tools.map((x) => x.name);

  const prm = JSON.parse((await request(`${srv.url}/.well-known/oauth-protected-resource`)).body);
  assert.ok(prm.scopes_supported.includes('mcp:read') && prm.scopes_supported.includes('mcp:write'));
  assert.ok(prm.scopes_supported.includes('mcp:logs'), 'a per-tool override scope is advertised');

  const ro = names(await post(readOnly, listBody));
  assert.ok(ro.includes('pods_list') && ro.includes('resources_get'), ro.join(','));
  assert.ok(!ro.includes('pods_delete') && !ro.includes('resources_create_or_update'), ro.join(','));
  assert.ok(!ro.includes('pods_log'), 'pods_log needs its own scope (oidc_tool_scopes)');
  const rw = names(await post(readWrite, listBody));
  assert.ok(rw.includes('pods_delete'), rw.join(','));

  const del = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'pods_delete', arguments: { name: 'bench-01', namespace: 'default' } } });
  const refused = await post(readOnly, del);
  assert.equal(refused.status, 403, refused.body);
  const c = challenge(refused.headers['www-authenticate']);
  assert.equal(c.error, 'insufficient_scope');
  assert.equal(c.scope, 'mcp:write');
  const shim = await request(`${srv.url}/api/mcp/tools/pods_delete`, {
    method: 'POST', body: JSON.stringify({ name: 'bench-01', namespace: 'default' }),
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${readOnly}` },
  });
  assert.equal(shim.status, 403);
  const read = await post(readOnly, JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'pods_get', arguments: { name: 'bench-01', namespace: 'default' } } }));
  assert.equal(read.status, 200, read.body);
});

test('a bad oidc_tool_scopes entry refuses to start', async (t) => {
  const cluster = await startDouble(t);
  const issuer = `http://127.0.0.1:${await freePort()}`;
  const bad = await startHttpServer(t, [...OIDC_FLAGS(issuer), '--oidc-tool-scopes', 'pods_lgo=mcp:logs'],
    { KUBECONFIG: cluster.kubeconfig }, { expectExit: 2 }).catch((e) => e);
  assert.match(String(bad.message ?? bad), /oidc_tool_scopes entry "pods_lgo=mcp:logs"/);
});

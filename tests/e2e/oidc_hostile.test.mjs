// The hostile-token matrix over HTTP: tokens an attacker can build (alg none, algorithm confusion,
// key-type confusion, header injection, tampering, wrong claims, broken structure, oversized and
// non-UTF-8 input) sent to kubemcp's /mcp in front of the real oidc-provider fixture, and JWKS
// shapes only a hostile or broken IdP serves (wrong kty, use "enc", short keys) plus key rotation
// from a small local OpenID discovery + JWKS server. Every token must get 401 with
// `WWW-Authenticate: Bearer … error="invalid_token"`; kubemcp (at --log-level 9) must log the
// sanitised reason for each and none of the tokens or their segments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { startHttpServer, request } from './lib/http.mjs';
import { OIDC_FLAGS, challenge, freePort, initializeBody, mcpHeaders, mintedToken, startIdp } from './lib/idp.mjs';

const b64u = (v) => Buffer.from(typeof v === 'string' || Buffer.isBuffer(v) ? v : JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const DIGEST = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };

/** A compact JWS over header and payload (objects, or raw strings/Buffers used as they are). */
function sign(header, payload, key) {
  const input = `${b64u(header)}.${b64u(payload)}`;
  const alg = typeof header === 'object' && !Buffer.isBuffer(header) ? String(header.alg) : 'RS256';
  const hash = DIGEST[alg.slice(2)];
  let sig;
  if (alg.startsWith('HS')) sig = crypto.createHmac(hash, key).update(input).digest();
  else if (alg.startsWith('RS')) sig = crypto.sign(hash, Buffer.from(input), key);
  else if (alg.startsWith('PS'))
    sig = crypto.sign(hash, Buffer.from(input), { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
  else if (alg.startsWith('ES')) sig = crypto.sign(hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  else if (alg === 'EdDSA') sig = crypto.sign(null, Buffer.from(input), key);
  else sig = Buffer.alloc(0);
  return `${input}.${b64u(sig)}`;
}

/** Checks one hostile token: 401, invalid_token, the expected reason in the challenge and in the log. */
async function expectRefused(srv, resource, prmUrl, { name, token, reason, rawAuthorization }) {
  const before = srv.stderr().length;
  const authorization = rawAuthorization ?? `Bearer ${token}`;
  const r = await request(resource, { method: 'POST', body: initializeBody, headers: { ...mcpHeaders, Authorization: authorization } });
  assert.equal(r.status, 401, `${name}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  const header = r.headers['www-authenticate'];
  const c = challenge(header);
  assert.equal(c.error, 'invalid_token', `${name}: ${header}`);
  assert.equal(c.resource_metadata, prmUrl, name);
  const sanitised = reason.replace(/"/g, "'");
  assert.equal(c.error_description, sanitised, `${name}: ${header}`);
  assert.ok(!r.body.includes(token ?? authorization), `${name}: the answer quotes the token`);
  const line = `with HTTP 401 (invalid_token): ${reason}`;
  for (let i = 0; i < 50 && !srv.stderr().slice(before).includes(line); i++) await new Promise((res) => setTimeout(res, 20));
  assert.ok(srv.stderr().slice(before).includes(line), `${name}: kubemcp logged "${line}"; log:\n${srv.stderr().slice(before, before + 2000)}`);
}

/** None of the tokens, nor any of their segments of 16 characters or more, is in the log. */
function assertNoTokenInLog(log, tokens) {
  for (const token of tokens) {
    if (!token || token.length < 20) continue;
    assert.ok(!log.includes(token), `a token reached kubemcp's log: ${token.slice(0, 12)}…`);
    for (const seg of token.split('.'))
      if (seg.length >= 16) assert.ok(!log.includes(seg), `a token segment reached kubemcp's log: ${seg.slice(0, 12)}…`);
  }
}

/** A server that records every request and answers 200 {} (what an attacker's jku/x5u would point at). */
async function recordingServer(t) {
  const hits = [];
  const server = http.createServer((req, res) => { hits.push(req.url); res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"keys":[]}'); });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return { url: `http://127.0.0.1:${server.address().port}`, hits };
}

test('hostile tokens against kubemcp in front of oidc-provider: every one 401 invalid_token', async (t) => {
  const idpPort = await freePort();
  const issuer = `http://127.0.0.1:${idpPort}`;
  const srv = await startHttpServer(t, OIDC_FLAGS(issuer));
  const resource = `${srv.url}/mcp`;
  const prmUrl = `${srv.url}/.well-known/oauth-protected-resource`;
  const idp = await startIdp(t, { port: idpPort, resources: [resource] });
  const attackerSite = await recordingServer(t);

  // What an attacker can know: the IdP's public key (its JWKS), and keys of their own.
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  const idpJwk = (await (await fetch(discovery.jwks_uri)).json()).keys[0];
  const KID = idpJwk.kid;
  const idpPublic = crypto.createPublicKey({ key: idpJwk, format: 'jwk' });
  const pemSpki = idpPublic.export({ type: 'spki', format: 'pem' });
  const pemPkcs1 = idpPublic.export({ type: 'pkcs1', format: 'pem' });
  const der = idpPublic.export({ type: 'spki', format: 'der' });
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec256 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ec384 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const ed = crypto.generateKeyPairSync('ed25519');
  const attackerJwk = { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'attacker', use: 'sig', alg: 'RS256' };

  const claims = (over = {}) => {
    const c = { iss: issuer, sub: 'carol', aud: resource, iat: now(), exp: now() + 300, scope: 'mcp:read', jti: crypto.randomUUID(), ...over };
    for (const k of Object.keys(c)) if (c[k] === null) delete c[k];
    return c;
  };
  const hdr = (over = {}) => ({ alg: 'RS256', typ: 'at+jwt', kid: KID, ...over });
  const mint = (body) => mintedToken(idp, body);

  // The control: a token the IdP signed for kubemcp is accepted, so every refusal below is the token's fault.
  const good = await mint({ sub: 'carol' });
  const ok = await request(resource, { method: 'POST', body: initializeBody, headers: { ...mcpHeaders, Authorization: `Bearer ${good}` } });
  assert.equal(ok.status, 200, `a good token is accepted: ${ok.body.slice(0, 300)}`);
  const [gh, gp, gs] = good.split('.');
  const goodClaims = JSON.parse(Buffer.from(gp, 'base64url'));
  const other = await mint({ sub: 'dave' });

  const NOT_ALLOWED = 'algorithm not allowed';
  const NO_FIT = 'signing key does not fit the algorithm';
  const BAD_SIG = 'signature invalid';
  const UNKNOWN_KEY = 'unknown signing key';
  const BAD_HEADER = 'malformed token (header is not a JSON object)';
  const BAD_PAYLOAD = 'malformed token (payload is not a JSON object)';
  const TOO_LONG = 'the bearer token in the Authorization header is longer than 16384 bytes';
  const BAD_CHARS = 'the bearer token in the Authorization header contains characters a token cannot have';

  const cases = [
    // alg "none" and algorithm confusion
    ['alg none, empty signature', () => mint({ header: { alg: 'none' } }), NOT_ALLOWED],
    ['alg "None", signed', () => mint({ header: { alg: 'None' } }), NOT_ALLOWED],
    ['alg "NONE" over the IdP\'s real signature', () => `${b64u(hdr({ alg: 'NONE' }))}.${gp}.${gs}`, NOT_ALLOWED],
    ['alg none, signature stripped from a real token', () => `${b64u(hdr({ alg: 'none' }))}.${gp}.`, NOT_ALLOWED],
    ['HS256 keyed with the IdP\'s RSA public key (SPKI PEM)', () => sign(hdr({ alg: 'HS256' }), claims(), pemSpki), NOT_ALLOWED],
    ['HS256 keyed with the IdP\'s RSA public key (PKCS#1 PEM)', () => sign(hdr({ alg: 'HS256' }), claims(), pemPkcs1), NOT_ALLOWED],
    ['HS256 keyed with the IdP\'s public key (DER)', () => sign(hdr({ alg: 'HS256' }), claims(), der), NOT_ALLOWED],
    ['HS256 keyed with the JWK modulus', () => sign(hdr({ alg: 'HS256' }), claims(), idpJwk.n), NOT_ALLOWED],
    ['HS384 keyed with the public key, no kid', () => sign(hdr({ alg: 'HS384', kid: undefined }), claims(), pemSpki), NOT_ALLOWED],
    ['HS512 keyed with the public key', () => sign(hdr({ alg: 'HS512' }), claims(), pemSpki), NOT_ALLOWED],
    ['EdDSA by an attacker key', () => sign(hdr({ alg: 'EdDSA' }), claims(), ed.privateKey), NOT_ALLOWED],
    ['ES512 (outside the allowlist)', () => mint({ header: { alg: 'ES512' } }), NOT_ALLOWED],
    ['alg in lower case (rs256)', () => mint({ header: { alg: 'rs256' } }), NOT_ALLOWED],
    ['alg as an array', () => mint({ header: { alg: ['RS256'] } }), 'algorithm missing'],
    ['alg missing', () => mint({ header: { alg: null } }), 'algorithm missing'],
    // key-type confusion
    ['ES256 by an attacker EC key, kid of the IdP\'s RSA key', () => sign(hdr({ alg: 'ES256' }), claims(), ec256.privateKey), NO_FIT],
    ['ES384 by an attacker EC key, kid of the IdP\'s RSA key', () => sign(hdr({ alg: 'ES384' }), claims(), ec384.privateKey), NO_FIT],
    // (the IdP's JWK says alg RS256, so no other algorithm may use it, whatever the signature)
    ['PS256 header over the IdP\'s RS256 signature', () => mint({ header: { alg: 'PS256' } }), NO_FIT],
    ['RS384 header over the IdP\'s RS256 signature', () => mint({ header: { alg: 'RS384' } }), NO_FIT],
    ['PS256 by an attacker RSA key with the IdP\'s kid', () => sign(hdr({ alg: 'PS256' }), claims(), rsa.privateKey), NO_FIT],
    ['RS256 by an attacker key with the IdP\'s kid', () => sign(hdr(), claims(), rsa.privateKey), BAD_SIG],
    ['RS256 by an attacker key, no kid', () => sign(hdr({ kid: undefined }), claims(), rsa.privateKey), BAD_SIG],
    // kid tricks
    ['unknown kid', () => mint({ header: { kid: 'no-such-key' } }), UNKNOWN_KEY],
    ['kid path traversal', () => mint({ header: { kid: '../../../../../../dev/null' } }), UNKNOWN_KEY],
    ['kid with an SQL injection', () => mint({ header: { kid: "x' OR '1'='1" } }), UNKNOWN_KEY],
    ['kid as a number', () => mint({ header: { kid: 1 } }), UNKNOWN_KEY],
    ['kid of 4 KiB', () => mint({ header: { kid: 'k'.repeat(4096) } }), UNKNOWN_KEY],
    ['kid with a NUL after the real kid', () => `${b64u(`{"alg":"RS256","typ":"at+jwt","kid":"${KID}\\u0000x"}`)}.${gp}.${gs}`, BAD_HEADER],
    ['HS256 with kid /dev/null and an empty key', () => sign(hdr({ alg: 'HS256', kid: '/dev/null' }), claims(), ''), NOT_ALLOWED],
    // header injection
    ['jku to an attacker JWKS, attacker kid', () => sign(hdr({ jku: `${attackerSite.url}/jwks`, kid: 'attacker' }), claims(), rsa.privateKey), UNKNOWN_KEY],
    ['jku to an attacker JWKS, the IdP\'s kid', () => sign(hdr({ jku: `${attackerSite.url}/jwks` }), claims(), rsa.privateKey), BAD_SIG],
    ['x5u to an attacker certificate', () => sign(hdr({ x5u: `${attackerSite.url}/cert.pem` }), claims(), rsa.privateKey), BAD_SIG],
    ['embedded jwk of the attacker, no kid', () => sign(hdr({ jwk: attackerJwk, kid: undefined }), claims(), rsa.privateKey), BAD_SIG],
    ['embedded jwk of the attacker with the IdP\'s kid', () => sign(hdr({ jwk: { ...attackerJwk, kid: KID } }), claims(), rsa.privateKey), BAD_SIG],
    ['x5c garbage', () => sign(hdr({ x5c: ['MIIBgarbage'] }), claims(), rsa.privateKey), BAD_SIG],
    ['crit naming exp', () => mint({ header: { crit: ['exp'] } }), 'unsupported critical header'],
    ['crit b64 false (unencoded payload)', () => mint({ header: { crit: ['b64'], b64: false } }), 'unsupported critical header'],
    // tampering
    ['payload tampered (sub admin), signature kept', () => `${gh}.${b64u({ ...goodClaims, sub: 'admin' })}.${gs}`, BAD_SIG],
    ['payload tampered (scope escalated), signature kept', () => `${gh}.${b64u({ ...goodClaims, scope: 'mcp:read mcp:write' })}.${gs}`, BAD_SIG],
    ['signature with one bit flipped', () => {
      const sig = Buffer.from(gs, 'base64url');
      sig[10] ^= 1;
      return `${gh}.${gp}.${b64u(sig)}`;
    }, BAD_SIG],
    ['signature of another token', () => `${gh}.${gp}.${other.split('.')[2]}`, BAD_SIG],
    ['signature truncated', () => `${gh}.${gp}.${b64u(Buffer.from(gs, 'base64url').subarray(0, 200))}`, BAD_SIG],
    ['empty signature, alg RS256', () => `${gh}.${gp}.`, 'malformed token (empty segment)'],
    // claims
    ['wrong iss', () => mint({ claims: { iss: 'http://evil.example.test' } }), 'issuer mismatch'],
    ['iss with a trailing slash', () => mint({ claims: { iss: `${issuer}/` } }), 'issuer mismatch'],
    ['iss missing', () => mint({ claims: { iss: null } }), 'issuer mismatch'],
    ['iss as an array', () => mint({ claims: { iss: [issuer] } }), 'issuer mismatch'],
    ['aud array without the resource', () => mint({ aud: [srv.url, 'kubemcp', `${resource}/`] }), 'audience mismatch'],
    ['aud missing', () => mint({ claims: { aud: null } }), 'audience mismatch'],
    ['aud in other case', () => mint({ aud: resource.toUpperCase() }), 'audience mismatch'],
    ['aud as an object', () => mint({ claims: { aud: { resource } } }), 'audience mismatch'],
    ['expired two minutes ago (skew is 60 s)', () => mint({ expiresIn: -120 }), 'token expired'],
    ['exp missing', () => mint({ claims: { exp: null } }), 'expiry (exp) missing'],
    ['exp as a string', () => mint({ claims: { exp: String(now() + 300) } }), 'invalid exp claim'],
    ['exp as a boolean', () => mint({ claims: { exp: true } }), 'invalid exp claim'],
    ['nbf an hour ahead', () => mint({ notBefore: 3600 }), 'token not yet valid'],
    ['nbf as a string', () => mint({ claims: { nbf: String(now()) } }), 'invalid nbf claim'],
    ['iat an hour ahead', () => mint({ claims: { iat: now() + 3600 } }), 'token issued in the future'],
    ['sub missing', () => mint({ claims: { sub: null } }), 'subject (sub) missing'],
    ['sub empty', () => mint({ claims: { sub: '' } }), 'subject (sub) missing'],
    ['sub as a number', () => mint({ claims: { sub: 42 } }), 'subject (sub) missing'],
    ['groups as an object', () => mint({ groups: { admin: true } }), 'invalid groups claim'],
    ['groups with a number', () => mint({ groups: ['viewers', 7] }), 'invalid groups claim'],
    ['typ missing (at+jwt required)', () => mint({ header: { typ: null } }), 'token type (typ) missing'],
    ['typ JWT (an ID token\'s)', () => mint({ header: { typ: 'JWT' } }), 'token type not at+jwt'],
    ['typ as a number', () => mint({ header: { typ: 1 } }), 'token type not accepted'],
    // structure and encoding
    ['five segments (JWE shape)', () => `${b64u({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.${gs}.${gp}.${gp}.${gs}`, 'encrypted tokens (JWE) are not accepted'],
    ['four segments', () => `${good}.${gs}`, 'malformed token'],
    ['two segments', () => `${gh}.${gp}`, 'malformed token'],
    ['six segments', () => `${good}.${gp}.${gp}.${gs}`, 'malformed token'],
    ['base64 padding', () => `${gh}.${gp}.${gs}==`, 'malformed token (base64url padding)'],
    ['standard base64 characters', () => `${gh}.+${gp.slice(1)}.${gs}`, 'malformed token (bad base64url)'],
    ['header not JSON', () => `${b64u('not json at all')}.${gp}.${gs}`, BAD_HEADER],
    ['header a JSON array', () => `${b64u(['RS256'])}.${gp}.${gs}`, BAD_HEADER],
    ['header with a duplicate alg', () => `${b64u(`{"alg":"none","alg":"RS256","kid":"${KID}","typ":"at+jwt"}`)}.${gp}.${gs}`, BAD_HEADER],
    ['payload not JSON', () => sign(hdr(), 'garbage', rsa.privateKey), BAD_PAYLOAD],
    ['payload with invalid UTF-8', () => sign(hdr(), Buffer.from([0x7b, 0x22, 0x73, 0x75, 0x62, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), rsa.privateKey), BAD_PAYLOAD],
    ['payload with a duplicate sub', () => `${gh}.${b64u(`{"sub":"dave",${JSON.stringify(goodClaims).slice(1)}`)}.${gs}`, BAD_PAYLOAD],
    ['empty header segment', () => `.${gp}.${gs}`, 'malformed token (empty segment)'],
    ['oversized: 16385 bytes', () => `${gh}.${gp}.${gs}${'A'.repeat(16385 - good.length)}`, TOO_LONG],
    ['oversized: 24000 bytes', () => `${gh}.${'A'.repeat(24000 - good.length)}${gp}.${gs}`, TOO_LONG],
  ];
  const raw = [
    ['non-UTF-8 bytes in the token', `Bearer ${gh}.${gp}\xff\xfe.${gs}`, BAD_CHARS],
    ['a space inside the token', `Bearer ${gh}.${gp} .${gs}`, BAD_CHARS],
    ['two tokens separated by a comma', `Bearer ${good},${other}`, BAD_CHARS],
  ];
  assert.ok(cases.length + raw.length >= 40, `${cases.length + raw.length} cases`);
  const seen = [good, other];
  for (const [name, make, reason] of cases) {
    await t.test(name, async () => {
      const token = await make();
      seen.push(token);
      await expectRefused(srv, resource, prmUrl, { name, token, reason });
    });
  }
  for (const [name, rawAuthorization, reason] of raw) {
    await t.test(name, async () => {
      seen.push(rawAuthorization.slice(7));
      await expectRefused(srv, resource, prmUrl, { name, rawAuthorization, reason });
    });
  }
  await t.test('a header larger than a connection\'s memory: 431 before any parsing', async () => {
    const huge = `${gh}.${'A'.repeat(60000)}${gp}.${gs}`;
    seen.push(huge);
    const r = await request(resource, { method: 'POST', body: initializeBody, headers: { ...mcpHeaders, Authorization: `Bearer ${huge}` } });
    assert.equal(r.status, 431, r.body.slice(0, 200));
  });
  await t.test('kubemcp never fetched an attacker\'s jku or x5u', () => {
    assert.deepEqual(attackerSite.hits, []);
  });
  await t.test('no token, payload or signature in the log at --log-level 9', () => {
    assertNoTokenInLog(srv.stderr(), seen);
  });
});

/** A minimal OpenID issuer: discovery and a JWKS the test replaces at will; records JWKS fetch times. */
async function jwksIdp(t) {
  const state = { keys: [], fetches: [] };
  const server = http.createServer((req, res) => {
    const issuer = `http://127.0.0.1:${server.address().port}`;
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({
        issuer, jwks_uri: `${issuer}/jwks`, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`,
        response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'],
      }));
    } else if (req.url === '/jwks') {
      state.fetches.push(Date.now());
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return { issuer: `http://127.0.0.1:${server.address().port}`, state };
}

test('hostile JWKS shapes and key rotation (a local OpenID issuer)', async (t) => {
  const idp = await jwksIdp(t);
  const srv = await startHttpServer(t, OIDC_FLAGS(idp.issuer));
  const resource = `${srv.url}/mcp`;
  const prmUrl = `${srv.url}/.well-known/oauth-protected-resource`;
  const pub = (key, extra) => ({ ...key.publicKey.export({ format: 'jwk' }), ...extra });
  const k1 = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const k2 = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const encKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const opsKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const shortKey = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
  const rsaAsEc = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaForEs = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecOther = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const octSecret = crypto.randomBytes(32);
  idp.state.keys = [
    pub(k1, { kid: 'k1', use: 'sig', alg: 'RS256' }),
    { kty: 'oct', kid: 'oct', k: octSecret.toString('base64url'), use: 'sig', alg: 'HS256' },
    { ...pub(rsaAsEc), kty: 'EC', kid: 'rsa-as-ec', use: 'sig' },
    pub(rsaForEs, { kid: 'rsa-alg-es256', use: 'sig', alg: 'ES256' }),
    pub(encKey, { kid: 'enc', use: 'enc', alg: 'RS256' }),
    pub(opsKey, { kid: 'ops', key_ops: ['encrypt'] }),
    pub(shortKey, { kid: 'short', use: 'sig' }),
    pub(ec, { kid: 'ec', use: 'sig', alg: 'ES256' }),
  ];
  const claims = () => ({ iss: idp.issuer, sub: 'carol', aud: resource, iat: now(), exp: now() + 300, scope: 'mcp:read', jti: crypto.randomUUID() });
  const token = (alg, kid, key) => sign({ alg, typ: 'at+jwt', kid }, claims(), key);
  const post = (tok) => request(resource, { method: 'POST', body: initializeBody, headers: { ...mcpHeaders, Authorization: `Bearer ${tok}` } });
  const seen = [];

  const before = await post(token('RS256', 'k1', k1.privateKey));
  assert.equal(before.status, 200, `a token from the JWKS's good key is accepted: ${before.body.slice(0, 300)}`);
  const oldAccepted = token('RS256', 'k1', k1.privateKey);
  assert.equal((await post(oldAccepted)).status, 200);
  seen.push(oldAccepted);

  const cases = [
    ['HS256 with the kid of a JWKS "oct" key (its k as the secret)', token('HS256', 'oct', octSecret), 'algorithm not allowed'],
    ['RS256 naming the "oct" key', token('RS256', 'oct', k1.privateKey), 'unknown signing key'],
    ['RS256 naming an RSA key published as kty EC', token('RS256', 'rsa-as-ec', rsaAsEc.privateKey), 'unknown signing key'],
    ['RS256 naming an RSA key whose JWK alg is ES256', token('RS256', 'rsa-alg-es256', rsaForEs.privateKey), 'signing key does not fit the algorithm'],
    ['RS256 naming a key with use "enc"', token('RS256', 'enc', encKey.privateKey), 'unknown signing key'],
    ['RS256 naming a key with key_ops ["encrypt"]', token('RS256', 'ops', opsKey.privateKey), 'unknown signing key'],
    ['RS256 naming a 1024-bit key', token('RS256', 'short', shortKey.privateKey), 'unknown signing key'],
    ['PS256 naming the EC key', token('PS256', 'ec', k1.privateKey), 'signing key does not fit the algorithm'],
    ['ES384 naming the P-256 key', token('ES384', 'ec', crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey), 'signing key does not fit the algorithm'],
    ['ES256 by another P-256 key, naming the EC key', token('ES256', 'ec', ecOther.privateKey), 'signature invalid'],
  ];
  for (const [name, tok, reason] of cases) {
    await t.test(name, async () => {
      seen.push(tok);
      await expectRefused(srv, resource, prmUrl, { name, token: tok, reason });
    });
  }

  await t.test('key rotation: the new key is fetched, the removed one is refused', async () => {
    const ecOk = await post(token('ES256', 'ec', ec.privateKey));
    assert.equal(ecOk.status, 200, 'the EC key of the set works');
    // The IdP rotates: k1 is gone, k2 is new. kubemcp refetches on an unknown kid, at most every 30 s.
    idp.state.keys = [pub(k2, { kid: 'k2', use: 'sig', alg: 'RS256' })];
    const lastFetch = idp.state.fetches.at(-1);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastFetch + 31000 - Date.now())));
    const fetchesBefore = idp.state.fetches.length;
    const fresh = token('RS256', 'k2', k2.privateKey);
    seen.push(fresh);
    const r = await post(fresh);
    assert.equal(r.status, 200, `a token from the new key is accepted after a refetch: ${r.body.slice(0, 300)}`);
    assert.equal(idp.state.fetches.length, fetchesBefore + 1, 'one JWKS refetch');
    const oldFresh = token('RS256', 'k1', k1.privateKey);
    seen.push(oldFresh);
    await expectRefused(srv, resource, prmUrl, { name: 'a new token from the removed key', token: oldFresh, reason: 'unknown signing key' });
    await expectRefused(srv, resource, prmUrl, { name: 'a token from the removed key accepted before the rotation', token: oldAccepted, reason: 'unknown signing key' });
    // Within the refetch rate limit, made-up kids do not make kubemcp hammer the IdP.
    for (let i = 0; i < 3; i++) {
      const made = token('RS256', `made-up-${i}`, k2.privateKey);
      seen.push(made);
      await expectRefused(srv, resource, prmUrl, { name: `made-up kid ${i}`, token: made, reason: 'unknown signing key' });
    }
    assert.equal(idp.state.fetches.length, fetchesBefore + 1, 'no refetch within the rate limit');
  });

  await t.test('no token, payload or signature in the log at --log-level 9', () => {
    assertNoTokenInLog(srv.stderr(), seen);
  });
});

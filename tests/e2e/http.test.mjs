// kubemcp over HTTP: Streamable HTTP (/mcp), the legacy HTTP+SSE transport (/sse + /message), the REST
// shim, health/readiness/metrics, the protections every request passes, TLS with reload, and a clean
// shutdown — driven by real clients (the MCP SDK, mcp-remote, curl) and raw HTTP probes.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startDouble, scratchDir, writeFile, text, repoRoot } from './lib/harness.mjs';
import { startHttpServer, request, openSse, slowClient } from './lib/http.mjs';

const json = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
const init = (version = '2025-11-25') => JSON.stringify({
  jsonrpc: '2.0', id: 0, method: 'initialize',
  params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'probe', version: '0' } },
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function connectSdk(t, transport) {
  const client = new Client({ name: 'kubemcp-e2e-http', version: '1.0.0' });
  await client.connect(transport);
  t.after(() => client.close().catch(() => {}));
  return client;
}

test('Streamable HTTP with the SDK client: tools, RBAC, session end', async (t) => {
  const cluster = await startDouble(t);
  const srv = await startHttpServer(t, [], { KUBECONFIG: cluster.kubeconfig });
  const transport = new StreamableHTTPClientTransport(new URL(`${srv.url}/mcp`));
  const client = await connectSdk(t, transport);
  assert.match(transport.sessionId, /^[0-9a-f]{64}$/);

  const { tools } = await client.listTools();
  assert.ok(tools.some((x) => x.name === 'pods_list'));

  const all = await client.callTool({ name: 'pods_list', arguments: {} });
  assert.ok(!all.isError, text(all));
  assert.match(text(all), /bench-01/);

  const refused = await client.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'kube-system', context: 'alice' } });
  assert.equal(refused.isError, true);
  assert.match(text(refused), /pods is forbidden: User "alice" cannot list resource "pods"/);

  // Progress notifications for a call travel on that call's SSE stream.
  const progress = [];
  const withProgress = await client.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } },
    undefined, { onprogress: (p) => progress.push(p) });
  assert.ok(!withProgress.isError, text(withProgress));

  const sid = transport.sessionId;
  await transport.terminateSession();
  const after = await request(`${srv.url}/mcp`, {
    method: 'POST', headers: { ...json, 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }),
  });
  assert.equal(after.status, 404);
});

test('legacy HTTP+SSE with the SDK SSEClientTransport (Claude Desktop "url": ".../sse" with headers)', async (t) => {
  const cluster = await startDouble(t);
  const srv = await startHttpServer(t, [], { KUBECONFIG: cluster.kubeconfig });
  // The header is applied to the GET and to every POST; its token is alice's, so the cluster sees alice.
  const tokens = JSON.parse(readFileSync(path.join(cluster.dir, 'tokens.json'), 'utf8'));
  const transport = new SSEClientTransport(new URL(`${srv.url}/sse`),
    { requestInit: { headers: { Authorization: `Bearer ${tokens.alice}` } } });
  const client = await connectSdk(t, transport);
  const { tools } = await client.listTools();
  assert.ok(tools.length > 5);
  const r = await client.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
  assert.ok(!r.isError, text(r));
  assert.match(text(r), /web-0/);
  const refused = await client.callTool({ name: 'namespaces_list', arguments: {} });
  assert.equal(refused.isError, true);
  assert.match(text(refused), /cannot list resource "namespaces"/);
});

test('mcp-remote (stdio proxy used by desktop hosts) reaches /mcp', async (t) => {
  const cluster = await startDouble(t);
  const srv = await startHttpServer(t, [], { KUBECONFIG: cluster.kubeconfig });
  const dir = scratchDir(t);
  const bin = path.join(repoRoot, 'tests/e2e/node_modules/mcp-remote/dist/proxy.js');
  const transport = new StdioClientTransport({
    command: process.execPath, args: [bin, `${srv.url}/mcp`, '--allow-http', '--transport', 'http-only'],
    env: { PATH: process.env.PATH, HOME: dir, MCP_REMOTE_CONFIG_DIR: dir }, stderr: 'pipe',
  });
  const client = await connectSdk(t, transport);
  const r = await client.callTool({ name: 'pods_list_in_namespace', arguments: { namespace: 'default' } });
  assert.ok(!r.isError, text(r));
  assert.match(text(r), /bench-50/);
});

test('the seed curl examples work as written', async (t) => {
  const cluster = await startDouble(t);
  const srv = await startHttpServer(t, [], { KUBECONFIG: cluster.kubeconfig });
  // Seed 001: a bare tools/call, no session, no Accept header.
  const out = execFileSync('curl', ['-s', '-X', 'POST', `${srv.url}/mcp`, '-H', 'Content-Type: application/json', '-d',
    '{"jsonrpc":"2.0","method":"tools/call","params":{"name":"pods_list","arguments":{"namespace":"default"}},"id":1}'],
  { encoding: 'utf8' });
  const answer = JSON.parse(out);
  assert.equal(answer.id, 1);
  assert.ok(answer.result, out);
  assert.ok(!answer.result.isError, out);
  assert.match(answer.result.content[0].text, /name: bench-01/);
  assert.doesNotMatch(answer.result.content[0].text, /namespace: kube-system/);
  // Seed 000: curl -N on /sse gets the endpoint event.
  const sse = spawn('curl', ['-s', '-N', '-H', 'Authorization: Bearer X', '-H', 'Accept: text/event-stream', `${srv.url}/sse`]);
  let got = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no endpoint event: ${got}`)), 10000);
    sse.stdout.on('data', (d) => { got += d; if (/\n\n/.test(got)) { clearTimeout(timer); resolve(); } });
  });
  process.kill(sse.pid, 'SIGTERM');
  assert.match(got, /^event: endpoint\ndata: \/message\?sessionId=[0-9a-f]{64}\n\n/);
});

test('raw HTTP probes: Origin, versions, sessions, limits, batches', async (t) => {
  const cluster = await startDouble(t);
  const srv = await startHttpServer(t, ['--max-body-bytes', '2048'], { KUBECONFIG: cluster.kubeconfig });
  const mcp = `${srv.url}/mcp`;
  const evil = { Origin: 'http://evil.example' };

  await t.test('a foreign Origin is refused with 403 on /mcp, /sse and /message', async () => {
    for (const [method, url, body] of [['POST', mcp, init()], ['GET', `${srv.url}/sse`], ['POST', `${srv.url}/message?sessionId=x`, '{}']]) {
      const r = await request(url, { method, headers: { ...json, ...evil }, body });
      assert.equal(r.status, 403, `${method} ${url}`);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
    }
    const own = await request(mcp, { method: 'POST', headers: { ...json, Origin: `http://127.0.0.1:${srv.port}` }, body: init() });
    assert.equal(own.status, 200);
  });

  await t.test('a rebinding Host is refused', async () => {
    const r = await request(`${srv.url}/health`, { headers: { Host: 'evil.example' } });
    assert.equal(r.status, 403);
  });

  await t.test('an unsupported MCP-Protocol-Version is 400', async () => {
    const r = await request(mcp, { method: 'POST', headers: { ...json, 'MCP-Protocol-Version': '1999-01-01' }, body: init() });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).error.message, /Unsupported protocol version/);
  });

  await t.test('initialize issues a session; notifications get 202; unknown session 404; DELETE then 404', async () => {
    const r = await request(mcp, { method: 'POST', headers: json, body: init() });
    assert.equal(r.status, 200);
    const sid = r.headers['mcp-session-id'];
    assert.match(sid, /^[0-9a-f]{64}$/);
    const h = { ...json, 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' };
    const note = await request(mcp, { method: 'POST', headers: h, body: '{"jsonrpc":"2.0","method":"notifications/initialized"}' });
    assert.equal(note.status, 202);
    assert.equal(note.body, '');
    const list = await request(mcp, { method: 'POST', headers: h, body: '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' });
    assert.equal(list.status, 200);
    assert.ok(JSON.parse(list.body).result.tools.length > 5);
    const unknown = await request(mcp, { method: 'POST', headers: { ...h, 'Mcp-Session-Id': 'f'.repeat(64) }, body: '{"jsonrpc":"2.0","id":3,"method":"ping"}' });
    assert.equal(unknown.status, 404);
    const getNoSession = await request(mcp, { headers: { Accept: 'text/event-stream' } });
    assert.equal(getNoSession.status, 400);
    const del = await request(mcp, { method: 'DELETE', headers: h });
    assert.equal(del.status, 200);
    const gone = await request(mcp, { method: 'POST', headers: h, body: '{"jsonrpc":"2.0","id":4,"method":"ping"}' });
    assert.equal(gone.status, 404);
  });

  await t.test('an oversized body is 413 with a JSON-RPC error', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(5000) } });
    const r = await request(mcp, { method: 'POST', headers: json, body: big });
    assert.equal(r.status, 413);
    assert.match(JSON.parse(r.body).error.message, /max_body_bytes/);
  });

  await t.test('a 20 KiB request header is served; a 40 KiB one gets 431', async () => {
    // Each connection's header space is bounded (HTTP_CONNECTION_MEMORY): room for a large OpenID
    // token, not for unbounded headers.
    const ok = await request(mcp, { method: 'POST', headers: { ...json, 'X-Padding': 'a'.repeat(20 * 1024) }, body: init() });
    assert.equal(ok.status, 200);
    const big = await request(mcp, { method: 'POST', headers: { ...json, 'X-Padding': 'a'.repeat(40 * 1024) }, body: init() });
    assert.equal(big.status, 431);
  });

  await t.test('a batch is refused with 400 in 2025-06-18', async () => {
    const batch = JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', id: 2, method: 'ping' }]);
    const r = await request(mcp, { method: 'POST', headers: { ...json, 'MCP-Protocol-Version': '2025-06-18' }, body: batch });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).error.message, /batching/);
  });

  await t.test('CORS preflight is answered for no foreign origin', async () => {
    const r = await request(mcp, { method: 'OPTIONS', headers: { Origin: `http://127.0.0.1:${srv.port}`, 'Access-Control-Request-Method': 'POST' } });
    assert.equal(r.status, 204);
  });

  await t.test('/health, /healthz, /readyz and /metrics', async () => {
    for (const p of ['/health', '/healthz']) {
      const r = await request(`${srv.url}${p}`);
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { status: 'ok' });
    }
    const ready = await request(`${srv.url}/readyz`);
    assert.equal(ready.status, 200, ready.body);
    const m = await request(`${srv.url}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.headers['content-type'], /text\/plain; version=0\.0\.4/);
    assert.match(m.body, /kubemcp_http_requests_total\{route="\/mcp",code="200"\} \d+/);
    assert.match(m.body, /kubemcp_http_requests_total\{route="\/mcp",code="413"\} 1/);
    assert.match(m.body, /kubemcp_http_request_duration_seconds_bucket\{route="\/health"/);
    assert.match(m.body, /kubemcp_sessions /);
  });
});

test('/readyz is 503 with the reason when the API server does not answer', async (t) => {
  const dir = scratchDir(t);
  // A listener that accepts and never answers.
  const silent = http.createServer(() => {});
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => { silent.closeAllConnections(); silent.close(); });
  const kc = writeFile(dir, 'kubeconfig', `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:${silent.address().port}"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`);
  const srv = await startHttpServer(t, [], { KUBECONFIG: kc });
  const started = Date.now();
  const health = request(`${srv.url}/health`);
  const r = await request(`${srv.url}/readyz`);
  assert.equal(r.status, 503);
  assert.match(JSON.parse(r.body).reason, /did not answer GET \/version within 2 s/);
  assert.ok(Date.now() - started < 4500);
  assert.equal((await health).status, 200, 'a slow readiness probe must not hold the HTTP threads');
});

test('streams and connections: keepalive, vanishing clients, slow clients, stateless mode, REST shim', async (t) => {
  const cluster = await startDouble(t);
  const srv = await startHttpServer(t, ['--sse-keepalive-seconds', '1', '--connection-timeout-seconds', '2'],
    { KUBECONFIG: cluster.kubeconfig });

  await t.test('idle SSE streams get keepalive comments', async () => {
    const s = await openSse(`${srv.url}/sse`);
    await s.next((e) => e.event === 'endpoint');
    const ka = await s.next((e) => e.comment === 'keepalive', 5000);
    assert.equal(ka.comment, 'keepalive');
    s.close();
  });

  await t.test('a client vanishing mid-stream leaves the server healthy', async () => {
    for (let i = 0; i < 5; i++) {
      const s = await openSse(`${srv.url}/sse`);
      const ep = await s.next((e) => e.event === 'endpoint');
      // Start a call whose answer goes to a stream that is about to disappear.
      await request(`${srv.url}${ep.data}`, { method: 'POST', headers: json,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'pods_list', arguments: {} } }) });
      s.res.socket.destroy();
    }
    await sleep(2500); // keepalives find the dead sockets
    const r = await request(`${srv.url}/health`);
    assert.equal(r.status, 200);
    const m = await request(`${srv.url}/metrics`);
    assert.match(m.body, /kubemcp_open_sse_streams 0/);
    assert.match(m.body, /kubemcp_sessions 0/);
  });

  await t.test('a client that stops sending its headers is timed out', async () => {
    const res = await slowClient(srv.port, ['POST /mcp HTTP/1.1\r\n', 'Host: 127.0.0.1\r\n'], 300);
    assert.ok(res.elapsed < 6000, `closed after ${res.elapsed} ms`);
    assert.equal((await request(`${srv.url}/health`)).status, 200);
  });

  await t.test('REST shim: POST /api/mcp/tools/{name}', async () => {
    const ok = await request(`${srv.url}/api/mcp/tools/pods_list_in_namespace`, { method: 'POST', headers: json, body: '{"namespace":"default"}' });
    assert.equal(ok.status, 200);
    assert.match(JSON.parse(ok.body).content[0].text, /bench-01/);
    const unknown = await request(`${srv.url}/api/mcp/tools/no_such_tool`, { method: 'POST', headers: json, body: '{}' });
    assert.equal(unknown.status, 404);
    const bad = await request(`${srv.url}/api/mcp/tools/pods_list`, { method: 'POST', headers: json, body: '{oops' });
    assert.equal(bad.status, 400);
  });
});

test('stateless mode: no session id, GET is 405', async (t) => {
  const cluster = await startDouble(t);
  const srv = await startHttpServer(t, ['--stateless'], { KUBECONFIG: cluster.kubeconfig });
  const r = await request(`${srv.url}/mcp`, { method: 'POST', headers: json, body: init() });
  assert.equal(r.status, 200);
  assert.equal(r.headers['mcp-session-id'], undefined);
  const get = await request(`${srv.url}/mcp`, { headers: { Accept: 'text/event-stream' } });
  assert.equal(get.status, 405);
  const client = await connectSdk(t, new StreamableHTTPClientTransport(new URL(`${srv.url}/mcp`)));
  const list = await client.callTool({ name: 'namespaces_list', arguments: {} });
  assert.match(text(list), /kube-system/);
});

function makeCert(dir, name, cn) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`), '-days', '1', '-subj', `/CN=${cn}`,
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

function peerCert(port, ca, maxVersion) {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, ca, maxVersion, servername: undefined }, () => {
      const c = sock.getPeerCertificate();
      sock.end();
      resolve(c);
    });
    sock.on('error', reject);
  });
}

test('TLS: HTTPS with a PEM pair, TLS 1.2 minimum, SIGHUP reloads the certificate', async (t) => {
  const dir = scratchDir(t);
  const first = makeCert(dir, 'one', 'kubemcp-one');
  const { readFileSync, copyFileSync } = await import('node:fs');
  copyFileSync(first.cert, path.join(dir, 'tls.crt'));
  copyFileSync(first.key, path.join(dir, 'tls.key'));
  const srv = await startHttpServer(t, ['--tls-cert', path.join(dir, 'tls.crt'), '--tls-key', path.join(dir, 'tls.key')]);
  assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ca1 = readFileSync(first.cert);
  const r = await request(`${srv.url}/health`, { ca: ca1 });
  assert.equal(r.status, 200);
  assert.match(r.headers['strict-transport-security'], /max-age=/);
  assert.equal((await peerCert(srv.port, ca1)).subject.CN, 'kubemcp-one');
  await assert.rejects(new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: srv.port, ca: ca1, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, resolve);
    s.on('error', reject);
  }), 'TLS 1.1 must be refused');

  const second = makeCert(dir, 'two', 'kubemcp-two');
  copyFileSync(second.cert, path.join(dir, 'tls.crt'));
  copyFileSync(second.key, path.join(dir, 'tls.key'));
  process.kill(srv.pid, 'SIGHUP');
  const ca2 = readFileSync(second.cert);
  let cn;
  for (let i = 0; i < 50 && cn !== 'kubemcp-two'; i++) {
    await sleep(100);
    cn = (await peerCert(srv.port, ca2).catch(() => ({ subject: {} }))).subject.CN;
  }
  assert.equal(cn, 'kubemcp-two');
  const client = https.request(`${srv.url}/healthz`, { ca: ca2, agent: false });
  const status = await new Promise((resolve, reject) => { client.on('response', (res) => { res.resume(); resolve(res.statusCode); }); client.on('error', reject); client.end(); });
  assert.equal(status, 200);
});

/** An API server that answers every request after 1.5 s with a PodList of items(url), stopped after
 * the test; returns the path of a kubeconfig pointing at it. */
async function slowApiServer(t, dir, items) {
  const slow = http.createServer((req, res) => {
    setTimeout(() => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: items(req.url) }));
    }, 1500);
  });
  await new Promise((r) => slow.listen(0, '127.0.0.1', r));
  t.after(() => { slow.closeAllConnections(); slow.close(); });
  return writeFile(dir, 'kubeconfig', `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:${slow.address().port}"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`);
}

test('SIGTERM while a tool call runs: the call answers, then exit 0', async (t) => {
  const dir = scratchDir(t);
  // A slow API server: every answer takes 1.5 s.
  const kc = await slowApiServer(t, dir, () => []);
  const srv = await startHttpServer(t, [], { KUBECONFIG: kc });
  const call = request(`${srv.url}/mcp`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'pods_list', arguments: {} } }) });
  const sse = await openSse(`${srv.url}/sse`);
  await sse.next((e) => e.event === 'endpoint');
  // Listen for the stream's end before anything can end it: kubemcp may end it before the call's
  // answer is read, and an 'end' that fired before a listener was attached would never resolve.
  const sseEnded = new Promise((resolve) => { sse.res.on('end', resolve); sse.res.on('close', resolve); });
  await sleep(400);
  process.kill(srv.pid, 'SIGTERM');
  const r = await call;
  assert.equal(r.status, 200);
  const answer = JSON.parse(r.body);
  assert.equal(answer.id, 7);
  assert.ok(answer.result, r.body);
  // The open SSE stream is ended cleanly, not cut.
  await sseEnded;
  const { code } = await srv.exited;
  assert.equal(code, 0, srv.stderr());
});

/** POSTs one message to /mcp and reads the answer as SSE events ({id, event, data, retry}). */
function postSse(url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(url), { method: 'POST', headers: { ...json, ...headers }, agent: false }, (res) => {
      const events = [];
      const waiters = [];
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        pending += d;
        let i;
        while ((i = pending.indexOf('\n\n')) >= 0) {
          const ev = { id: undefined, event: 'message', data: undefined, retry: undefined };
          for (const line of pending.slice(0, i).split('\n')) {
            const [, k, v] = /^([a-z]+): ?(.*)$/.exec(line) ?? [];
            if (k === 'data') ev.data = (ev.data === undefined ? '' : `${ev.data}\n`) + v;
            else if (k) ev[k] = v;
          }
          pending = pending.slice(i + 2);
          if (ev.data !== undefined) events.push(ev);
          for (const w of waiters.splice(0)) w();
        }
      });
      const ended = new Promise((r) => { res.on('end', r); res.on('close', r); });
      const next = (ms = 10000) => new Promise((res2, rej2) => {
        if (events.length) { res2(events.shift()); return; }
        const timer = setTimeout(() => rej2(new Error(`no SSE event in ${ms} ms`)), ms);
        waiters.push(() => { clearTimeout(timer); res2(events.shift()); });
      });
      resolve({ res, events, next, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('SEP-1699: POST streams are primed, and a client that lost one resumes it with GET + Last-Event-ID', async (t) => {
  const dir = scratchDir(t);
  // A slow API server (every answer takes 1.5 s), so the calls are still running when the client drops.
  const kc = await slowApiServer(t, dir, (url) => {
    const ns = /namespaces\/([^/]+)\/pods/.exec(url)?.[1] ?? 'all';
    return [{ metadata: { name: `pod-in-${ns}`, namespace: ns } }];
  });
  const srv = await startHttpServer(t, [], { KUBECONFIG: kc });
  const mcp = `${srv.url}/mcp`;
  const first = await request(mcp, { method: 'POST', headers: json, body: init() });
  const sid = first.headers['mcp-session-id'];
  const h = { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' };
  await request(mcp, { method: 'POST', headers: { ...json, ...h }, body: '{"jsonrpc":"2.0","method":"notifications/initialized"}' });
  const call = (id, namespace) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call',
    params: { name: 'pods_list_in_namespace', arguments: { namespace } } });

  // Two calls on two POST streams; each starts with a priming event: an id, retry:, empty data.
  const a = await postSse(mcp, h, call(1, 'alpha'));
  const b = await postSse(mcp, h, call(2, 'beta'));
  const primeA = await a.next();
  const primeB = await b.next();
  for (const p of [primeA, primeB]) {
    assert.equal(p.data, '');
    assert.match(p.id, /^r\d+-0$/);
    assert.equal(p.retry, '1000');
  }
  assert.notEqual(primeA.id, primeB.id, 'event ids are unique across the session and name their stream');
  a.close();
  b.close();

  // Resuming b's stream delivers b's answer, and never a's.
  const rb = await openSseWithIds(mcp, { ...h, 'Last-Event-ID': primeB.id });
  assert.equal(rb.status, 200);
  const ra = await openSseWithIds(mcp, { ...h, 'Last-Event-ID': primeA.id });
  assert.equal(ra.status, 200);
  const gotB = await rb.all;
  const gotA = await ra.all;
  assert.equal(gotB.length, 1, JSON.stringify(gotB));
  assert.equal(JSON.parse(gotB[0].data).id, 2);
  assert.match(JSON.parse(gotB[0].data).result.content[0].text, /pod-in-beta/);
  assert.equal(gotB[0].id, primeB.id.replace(/-0$/, '-1'));
  assert.equal(gotA.length, 1, JSON.stringify(gotA));
  assert.equal(JSON.parse(gotA[0].data).id, 1);
  assert.match(JSON.parse(gotA[0].data).result.content[0].text, /pod-in-alpha/);

  // A delivered stream cannot be resumed again; an id this server never sent is refused.
  const again = await request(mcp, { headers: { Accept: 'text/event-stream', ...h, 'Last-Event-ID': primeB.id } });
  assert.equal(again.status, 400);
  assert.match(JSON.parse(again.body).error.message, /cannot be resumed/);
  const bogus = await request(mcp, { headers: { Accept: 'text/event-stream', ...h, 'Last-Event-ID': 'not-an-id' } });
  assert.equal(bogus.status, 400);
  // Another session cannot resume this session's streams.
  const other = await request(mcp, { method: 'POST', headers: json, body: init() });
  const foreign = await request(mcp, { headers: { Accept: 'text/event-stream', 'Mcp-Session-Id': other.headers['mcp-session-id'],
    'MCP-Protocol-Version': '2025-11-25', 'Last-Event-ID': primeA.id } });
  assert.equal(foreign.status, 400);
});

/** GET /mcp as SSE, collecting events with ids until the server ends the stream. */
function openSseWithIds(url, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(url), { method: 'GET', headers: { Accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      let raw = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { raw += d; });
      const all = new Promise((done, fail) => {
        const timer = setTimeout(() => { req.destroy(); fail(new Error(`the resumed stream did not end: ${raw}`)); }, 10000);
        res.on('end', () => {
          clearTimeout(timer);
          const events = raw.split('\n\n').filter((b) => /^data:/m.test(b)).map((b) => ({
            id: /^id: (.*)$/m.exec(b)?.[1], data: /^data: (.*)$/m.exec(b)[1] }));
          done(events);
        });
      });
      resolve({ status: res.statusCode, all });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Runs the MCP Inspector CLI (npm @modelcontextprotocol/inspector, v2 `--cli` mode); resolves {code, stdout, stderr}. */
function inspectorCli(t, args) {
  const dir = scratchDir(t);
  const bin = path.join(repoRoot, 'tests/e2e/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js');
  // Its catalog and secret store live under HOME: a scratch directory, not ours.
  const child = spawn(process.execPath, [bin, '--cli', ...args], {
    cwd: dir, env: { PATH: process.env.PATH, HOME: dir, MCP_CATALOG_PATH: path.join(dir, 'mcp.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => {
    const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch {} }, 30000);
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code: code ?? signal, stdout, stderr }); });
  });
}

test('MCP Inspector CLI over Streamable HTTP: tools/list and tools/call', async (t) => {
  const cluster = await startDouble(t);
  const srv = await startHttpServer(t, [], { KUBECONFIG: cluster.kubeconfig });
  const url = `${srv.url}/mcp`;

  const list = await inspectorCli(t, [url, '--transport', 'http', '--method', 'tools/list']);
  assert.equal(list.code, 0, list.stderr);
  const { tools } = JSON.parse(list.stdout);
  const names = tools.map((x) => x.name);
  for (const name of ['pods_list', 'pods_list_in_namespace', 'namespaces_list']) assert.ok(names.includes(name), name);
  const inNs = tools.find((x) => x.name === 'pods_list_in_namespace');
  assert.ok(inNs.description);
  assert.deepEqual(inNs.inputSchema.required, ['namespace']);
  assert.equal(tools.find((x) => x.name === 'pods_list').annotations?.readOnlyHint, true);

  const call = await inspectorCli(t, [url, '--transport', 'http', '--method', 'tools/call',
    '--tool-name', 'pods_list_in_namespace', '--tool-arg', 'namespace=default']);
  assert.equal(call.code, 0, call.stderr);
  const result = JSON.parse(call.stdout);
  assert.ok(!result.isError, call.stdout);
  assert.match(result.content[0].text, /name: bench-01/);
  assert.doesNotMatch(result.content[0].text, /namespace: kube-system/);

  // A refused call comes back as a tool error the CLI prints, not as a transport failure.
  const refused = await inspectorCli(t, [url, '--transport', 'http', '--method', 'tools/call',
    '--tool-name', 'pods_list_in_namespace', '--tool-arg', 'namespace=kube-system', '--tool-arg', 'context=alice']);
  assert.match(refused.stdout + refused.stderr, /cannot list resource "pods"|forbidden/);
});

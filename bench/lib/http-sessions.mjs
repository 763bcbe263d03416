// Streamable HTTP: open many MCP sessions on /mcp, each with its standalone SSE stream (GET) held
// open, to measure what idle sessions cost the server. Loopback only.
import http from 'node:http';
import { PROTOCOL } from './stdio-client.mjs';

function post(agent, url, body, sessionId) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(url, {
      method: 'POST', agent,
      headers: {
        'content-type': 'application/json', accept: 'application/json, text/event-stream',
        'content-length': Buffer.byteLength(data), 'mcp-protocol-version': PROTOCOL,
        ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
      },
      timeout: 30000,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; if (body.id !== undefined && /\n\n/.test(text) && /^data:/m.test(text)) res.destroy(); });
      const done = () => resolve({ status: res.statusCode, headers: res.headers, text });
      res.on('end', done); res.on('close', done);
    });
    req.on('timeout', () => req.destroy(new Error('POST timed out')));
    req.on('error', reject);
    req.end(data);
  });
}

function parseRpc(text) {
  const t = text.trim();
  if (t.startsWith('{')) return JSON.parse(t);
  for (const line of t.split('\n')) if (line.startsWith('data:')) { try { const m = JSON.parse(line.slice(5)); if (m.id !== undefined) return m; } catch {} }
  return null;
}

// Open one session: initialize, notifications/initialized, GET stream. Returns the open GET request.
async function openOne(agent, url) {
  const init = await post(agent, url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'kubemcp-bench', version: '1' } } });
  const sid = init.headers['mcp-session-id'];
  const msg = parseRpc(init.text);
  if (init.status !== 200 || !msg || !msg.result) throw new Error(`initialize: HTTP ${init.status} ${init.text.slice(0, 200)}`);
  if (!sid) throw new Error('initialize: no Mcp-Session-Id header (stateless server?)');
  const ack = await post(agent, url, { jsonrpc: '2.0', method: 'notifications/initialized' }, sid);
  if (ack.status !== 202 && ack.status !== 200) throw new Error(`notifications/initialized: HTTP ${ack.status}`);
  return await new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'GET', agent, headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': PROTOCOL } }, (res) => {
      if (res.statusCode !== 200) { res.resume(); return reject(new Error(`GET stream: HTTP ${res.statusCode}`)); }
      res.on('data', () => {}); // keep draining heartbeats
      res.on('error', () => {});
      resolve({ req, res, sid });
    });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error('GET stream: no answer')));
    req.end();
  });
}

// Open n sessions, `batch` at a time, within maxMs. Returns { opened, failed, firstError, close() }.
export async function openSessions(baseUrl, n, { batch = 50, maxMs = 60000 } = {}) {
  const url = new URL('/mcp', baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const streams = [];
  let failed = 0, firstError = null;
  const t0 = Date.now();
  for (let i = 0; i < n && Date.now() - t0 < maxMs; i += batch) {
    const k = Math.min(batch, n - i);
    const rs = await Promise.allSettled(Array.from({ length: k }, () => openOne(agent, url)));
    for (const r of rs) {
      if (r.status === 'fulfilled') { r.value.req.setTimeout(0); streams.push(r.value); }
      else { failed++; firstError ??= r.reason.message; }
    }
    if (failed > 20 && !streams.length) break;
  }
  return {
    opened: streams.length, failed, firstError, seconds: (Date.now() - t0) / 1000,
    close() { for (const s of streams) { try { s.req.destroy(); } catch {} } agent.destroy(); },
  };
}

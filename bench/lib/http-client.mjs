// Request-level MCP over Streamable HTTP (POST /mcp), loopback only. Each concurrent client is its
// own MCP session on its own keep-alive connection (as separate users' agents would be), with
// optional extra headers sent on every request (e.g. `Authorization: Bearer …`). The answer may be
// `application/json` (kubemcp) or a one-message `text/event-stream` (the peer); both are read to
// the end of the body, and latency is measured from the write of the request to that end.
import http from 'node:http';
import { PROTOCOL } from './stdio-client.mjs';

function parseRpc(text, id) {
  const t = text.trim();
  if (t.startsWith('{')) { try { return JSON.parse(t); } catch { return null; } }
  for (const line of t.split('\n')) {
    if (!line.startsWith('data:')) continue;
    try { const m = JSON.parse(line.slice(5)); if (id === undefined || m.id === id) return m; } catch {}
  }
  return null;
}

export class HttpSession {
  constructor(url, headers = {}) {
    this.url = new URL('/mcp', url);
    this.headers = headers;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.sid = null; this.nextId = 1;
  }

  post(body, timeoutMs) {
    const data = JSON.stringify(body);
    const t0 = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
      const req = http.request(this.url, {
        method: 'POST', agent: this.agent,
        headers: {
          'content-type': 'application/json', accept: 'application/json, text/event-stream',
          'content-length': Buffer.byteLength(data), ...this.headers,
          ...(this.sid ? { 'mcp-session-id': this.sid, 'mcp-protocol-version': PROTOCOL } : {}),
        },
      }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode, headers: res.headers, text, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
        });
        res.on('error', (e) => { clearTimeout(timer); reject(e); });
      });
      const timer = setTimeout(() => req.destroy(new Error(`POST ${body.method} timed out after ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (e) => { clearTimeout(timer); reject(e); });
      req.end(data);
    });
  }

  async initialize(timeoutMs = 30000) {
    const r = await this.post({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'kubemcp-bench', version: '1' } } }, timeoutMs);
    const msg = parseRpc(r.text, 0);
    if (r.status !== 200 || !msg || !msg.result) throw new Error(`initialize: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    this.sid = r.headers['mcp-session-id'] || null;
    const ack = await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' }, timeoutMs);
    if (ack.status !== 202 && ack.status !== 200) throw new Error(`notifications/initialized: HTTP ${ack.status} ${ack.text.slice(0, 200)}`);
    return msg.result;
  }

  // Same shape as StdioServer.request: resolves { msg, ms, bytes }.
  async request(method, params, timeoutMs = 60000) {
    const id = this.nextId++;
    const r = await this.post({ jsonrpc: '2.0', id, method, params }, timeoutMs);
    const msg = parseRpc(r.text, id);
    if (!msg) throw new Error(`${method}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    return { msg, ms: r.ms, bytes: r.text.length };
  }

  async close() {
    if (this.sid) {
      // DELETE ends the session on the server (both servers accept it); bounded by a short timeout
      await new Promise((resolve) => {
        const req = http.request(this.url, { method: 'DELETE', agent: this.agent, headers: { ...this.headers, 'mcp-session-id': this.sid, 'mcp-protocol-version': PROTOCOL } }, (res) => { res.resume(); res.on('end', resolve); res.on('error', resolve); });
        req.setTimeout(3000, () => req.destroy());
        req.on('error', resolve); req.on('close', resolve);
        req.end();
      });
    }
    this.agent.destroy();
  }
}

// A pool of n sessions that looks like one server to runLoad (lib/load.mjs): `request` takes a free
// session, so with `concurrency` ≤ n each session has at most one request in flight.
export async function openPool(url, n, { headers = {}, pid } = {}) {
  const sessions = [];
  for (let i = 0; i < n; i += 16) {
    const batch = Array.from({ length: Math.min(16, n - i) }, () => new HttpSession(url, headers));
    await Promise.all(batch.map((s) => s.initialize()));
    sessions.push(...batch);
  }
  const free = [...sessions];
  const waiters = [];
  const take = () => (free.length ? Promise.resolve(free.pop()) : new Promise((r) => waiters.push(r)));
  const give = (s) => { const w = waiters.shift(); if (w) w(s); else free.push(s); };
  return {
    pid, sessions: sessions.length, exited: null,
    async request(method, params, timeoutMs) {
      const s = await take();
      try { return await s.request(method, params, timeoutMs); } finally { give(s); }
    },
    async close() { await Promise.all(sessions.map((s) => s.close())); },
  };
}

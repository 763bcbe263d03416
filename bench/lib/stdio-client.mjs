// A minimal MCP client over stdio that keeps many JSON-RPC requests in flight on one session,
// matching answers to requests by id. No SDK: the driver must cost little and add no hidden work.
import { start, stop } from './children.mjs';

export const PROTOCOL = '2025-06-18';

export class StdioServer {
  constructor(name, cmd, args, env = {}) {
    this.name = name; this.cmd = cmd; this.args = args; this.env = env;
    this.nextId = 1; this.pending = new Map(); this.stderr = ''; this.exited = null;
  }

  start() {
    this.child = start(this.cmd, this.args, { env: { ...process.env, ...this.env } });
    this.pid = this.child.pid;
    let buf = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl); buf = buf.slice(nl + 1);
        if (line.trim()) this.onLine(line);
      }
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d) => { if (this.stderr.length < 65536) this.stderr += d; });
    this.child.stdin.on('error', () => {});
    this.child.once('exit', (code, sig) => {
      this.exited = { code, sig };
      for (const p of this.pending.values()) p.reject(new Error(`${this.name} exited (${code ?? sig}) with requests in flight; stderr: ${this.stderr.slice(-500)}`));
      this.pending.clear();
    });
    return this;
  }

  onLine(line) {
    const t = process.hrtime.bigint();
    let msg;
    try { msg = JSON.parse(line); } catch { return; }
    if (msg.id === undefined || msg.id === null || msg.method) return; // notification or server request
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    p.resolve({ msg, ms: Number(t - p.t0) / 1e6, bytes: line.length });
  }

  request(method, params, timeoutMs = 60000) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.exited) return reject(new Error(`${this.name} has exited: ${this.stderr.slice(-500)}`));
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error(`${this.name}: ${method} timed out after ${timeoutMs} ms`)); }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, t0: process.hrtime.bigint() });
      this.child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
    });
  }

  notify(method, params) {
    this.child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method, ...(params ? { params } : {}) }) + '\n');
  }

  async initialize() {
    const r = await this.request('initialize', { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'kubemcp-bench', version: '1' } }, 30000);
    if (!r.msg.result) throw new Error(`${this.name}: initialize failed: ${JSON.stringify(r.msg.error)}`);
    this.notify('notifications/initialized');
    this.serverInfo = r.msg.result.serverInfo;
    return r.msg.result;
  }

  // Abandon what is still in flight (a time-bounded run may stop with requests queued).
  abandonPending() {
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.resolve(null); }
    this.pending.clear();
  }

  async stop() {
    this.abandonPending();
    try { this.child.stdin.end(); } catch {}
    await stop(this.child, 2000);
  }
}

// kubemcp as an HTTP server for the end-to-end tests: started on port 0, its address read from the
// "kubemcp listening on URL" line, stopped by PID with SIGTERM, and required to exit 0 (that is
// where LeakSanitizer reports under the sanitizer build).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { keepLog, kubemcpBin, kubemcpEnv } from './harness.mjs';

/** Starts `kubemcp --port 0 ...args`; resolves once it listens. */
export async function startHttpServer(t, args = [], extraEnv = {}, { expectExit = 0 } = {}) {
  const child = spawn(kubemcpBin, ['--port', '0', ...args], {
    env: kubemcpEnv(extraEnv), stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubemcp did not listen in 20 s: ${stderr}`)), 20000);
    child.stderr.on('data', (d) => {
      stderr += d;
      keepLog('kubemcp', child.pid, d);
      const m = /kubemcp listening on (\S+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`kubemcp exited (${code}): ${stderr}`)); });
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stopped = false;
  const stop = async () => {
    if (stopped) return exited;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch {} }, 15000);
    const res = await exited;
    clearTimeout(timer);
    return res;
  };
  t.after(async () => {
    const { code, signal } = await stop();
    if (expectExit !== null)
      assert.equal(code, expectExit, `kubemcp exited with ${code ?? signal}; stderr:\n${stderr.slice(-4000)}`);
  });
  const u = new URL(url);
  return { url, port: Number(u.port), child, pid: child.pid, stop, exited, stderr: () => stderr };
}

/** One raw HTTP request; resolves with {status, headers, body}. */
export function request(url, { method = 'GET', headers = {}, body, ca, timeout = 15000 } = {}) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method, headers, ca, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.setTimeout(timeout, () => req.destroy(new Error(`no answer from ${method} ${url} in ${timeout} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Opens an SSE stream and collects events; returns {events, next(type), close(), res}. */
export function openSse(url, headers = {}, { timeout = 15000 } = {}) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    // A stream whose response headers never come fails the test instead of hanging it.
    const timer = setTimeout(() => { req.destroy(); reject(new Error(`no SSE response from ${url} in ${timeout} ms`)); }, timeout);
    const req = http.request(u, { method: 'GET', headers: { Accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      clearTimeout(timer);
      const events = [];
      const waiters = [];
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        pending += d;
        let i;
        while ((i = pending.indexOf('\n\n')) >= 0) {
          const block = pending.slice(0, i);
          pending = pending.slice(i + 2);
          const ev = { event: 'message', data: '', comment: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) ev.comment += line.slice(1).trim();
            else if (line.startsWith('event:')) ev.event = line.slice(6).trim();
            else if (line.startsWith('data:')) ev.data += line.slice(5).trim();
          }
          events.push(ev);
          for (const w of waiters.splice(0)) w();
        }
      });
      const next = (pred, ms = 15000) => new Promise((res2, rej2) => {
        const check = () => {
          const idx = events.findIndex(pred);
          if (idx >= 0) { res2(events.splice(idx, 1)[0]); return true; }
          return false;
        };
        if (check()) return;
        const timer = setTimeout(() => rej2(new Error(`no matching SSE event in ${ms} ms`)), ms);
        const w = () => { if (check()) clearTimeout(timer); else waiters.push(w); };
        waiters.push(w);
      });
      resolve({ res, events, next, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A TCP client that sends bytes slowly; resolves when the server closes the connection (or with
 * closedByServer false after limitMs, so a server that never closes fails the test, not hangs it). */
export function slowClient(port, chunks, intervalMs, limitMs = 60000) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const limit = setTimeout(() => { sock.destroy(); }, limitMs);
    sock.on('close', () => clearTimeout(limit));
    let i = 0;
    let received = '';
    const timer = setInterval(() => {
      if (i < chunks.length && !sock.destroyed) sock.write(chunks[i++]);
    }, intervalMs);
    const started = Date.now();
    sock.on('data', (d) => { received += d; });
    sock.on('error', () => {});
    sock.on('close', () => { clearInterval(timer); resolve({ elapsed: Date.now() - started, received }); });
  });
}

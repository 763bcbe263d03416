// Shared plumbing for the end-to-end tests: the Kubernetes API double, the kubemcp binary under
// test, a real MCP SDK client over stdio, and a raw line-level session for malformed input.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * With KUBEMCP_E2E_ARTIFACTS set, every log a process of the suite writes is kept there, with the
 * tokens of every API double, so scripts/scan-logs.mjs can check afterwards that no token reached
 * any log.
 */
const artifacts = process.env.KUBEMCP_E2E_ARTIFACTS;
export function keepLog(kind, pid, chunk) {
  if (artifacts) appendFileSync(path.join(artifacts, `${kind}-${process.pid}-${pid}.log`), chunk);
}
function keepTokens(dir) {
  if (artifacts && existsSync(path.join(dir, 'tokens.json')))
    copyFileSync(path.join(dir, 'tokens.json'), path.join(artifacts, `tokens-${path.basename(dir)}.json`));
}
export const repoRoot = path.resolve(here, '../../..');
export const kubemcpBin = process.env.KUBEMCP_BIN ?? path.join(repoRoot, 'build/kubemcp');
const doubleServer = path.join(repoRoot, 'tests/fixtures/kube-apiserver-double/server.mjs');

/** A scratch directory removed when the test file ends. */
export function scratchDir(t) {
  const dir = mkdtempSync(path.join(tmpdir(), 'kubemcp-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeFile(dir, name, text) {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/**
 * Starts the API double on a free loopback port (extra command-line flags in args, e.g. its
 * --oidc-issuer options); stopped by PID when the test ends.
 */
export async function startDouble(t, args = []) {
  const dir = scratchDir(t);
  const child = spawn(process.execPath, [doubleServer, '--port', '0', '--host', '127.0.0.1', '--dir', dir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; keepLog('double', child.pid, d); });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`API double did not start in 30 s: ${stderr}`)), 30000);
    createInterface({ input: child.stdout }).once('line', (line) => { clearTimeout(timer); resolve(JSON.parse(line)); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`API double exited (${code}): ${stderr}`)); });
  });
  keepTokens(dir);
  t.after(() => stopProcess(child));
  return { ...ready, child };
}

/** The API double's record of the requests it served (the last 2000), oldest first. */
export function doubleRequests(cluster) {
  const ca = readFileSync(path.join(cluster.dir, 'ca.crt'));
  return new Promise((resolve, reject) => {
    https.get(`${cluster.url}/__double/requests?limit=2000`, { ca }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(JSON.parse(body).items));
    }).on('error', reject);
  });
}

export function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch {} }, 10000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    try { process.kill(child.pid, 'SIGTERM'); } catch { resolve(); }
  });
}

/** The environment kubemcp runs with: nothing from ours but what it needs. */
export function kubemcpEnv(extra = {}) {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? '/root' };
  for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) if (process.env[k]) env[k] = process.env[k];
  return { ...env, ...extra };
}

/**
 * Connects the real MCP SDK client to kubemcp over stdio. When the test ends the client closes
 * the connection and kubemcp must exit by itself with status 0 — under the sanitizer build that
 * is also where LeakSanitizer reports, so a leak fails the test.
 */
export async function connectClient(t, args = [], extraEnv = {}) {
  const transport = new StdioClientTransport({
    command: kubemcpBin, args, env: kubemcpEnv(extraEnv), stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => { stderr += d; keepLog('kubemcp', 'stdio', d); });
  const client = new Client({ name: 'kubemcp-e2e', version: '1.0.0' });
  await client.connect(transport);
  // The SDK keeps the child private; its exit status is what this harness checks.
  const child = transport._process;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.after(async () => {
    await client.close();
    const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch {} }, 15000);
    const { code, signal } = await exited;
    clearTimeout(timer);
    assert.ok(code === 0, `kubemcp exited with ${code ?? signal}; stderr:\n${stderr.slice(-4000)}`);
  });
  return { client, stderr: () => stderr, pid: child.pid };
}

/** The text of a tool result's first content block. */
export function text(result) {
  return result.content?.map((c) => c.text ?? '').join('\n') ?? '';
}

/**
 * A raw stdio session: write any bytes, read answers line by line. For malformed input the SDK
 * client would refuse to send.
 */
export function rawSession(t, args = [], extraEnv = {}) {
  const child = spawn(kubemcpBin, args, { env: kubemcpEnv(extraEnv), stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; keepLog('kubemcp', child.pid, d); });
  const lines = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const w = waiters.shift();
    if (w) w(line); else lines.push(line);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.after(async () => {
    await stopProcess(child);
    const { code, signal } = await exited;
    assert.ok(code === 0, `kubemcp exited with ${code ?? signal} after SIGTERM; stderr:\n${stderr.slice(-4000)}`);
  });
  return {
    child,
    exited,
    stderr: () => stderr,
    write(data) { child.stdin.write(data); },
    send(obj) { child.stdin.write(JSON.stringify(obj) + '\n'); },
    end() { child.stdin.end(); },
    next(ms = 15000) {
      if (lines.length) return Promise.resolve(JSON.parse(lines.shift()));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms; stderr: ${stderr}`)), ms);
        waiters.push((line) => { clearTimeout(timer); resolve(JSON.parse(line)); });
      });
    },
    async request(id, method, params = {}) {
      this.send({ jsonrpc: '2.0', id, method, params });
      return this.next();
    },
    async initialize(version = '2025-11-25') {
      const answer = await this.request(0, 'initialize', {
        protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '0' },
      });
      this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      return answer;
    },
  };
}

/** Runs kubemcp to completion (for start-up errors); resolves with exit code and output. */
export function runKubemcp(args, extraEnv = {}, input = '') {
  return new Promise((resolve) => {
    const child = spawn(kubemcpBin, args, { env: kubemcpEnv(extraEnv), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; keepLog('kubemcp', child.pid, d); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
    // 'close', not 'exit': the output is complete only once the pipes are closed.
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    // A server that refuses its configuration exits before it reads stdin: the EPIPE of writing to
    // it is expected, and the exit code and stderr are what the test checks.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

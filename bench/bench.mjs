#!/usr/bin/env node
// kubemcp vs kubernetes-mcp-server (the Go peer), same run, same Kubernetes API double.
// Started by bench/run.sh, which builds and installs everything first; writes results/raw.json.
//
//   node bench.mjs --kubemcp BIN --peer BIN --startup BIN --double server.mjs --work DIR --out raw.json [--commit SHA] [--quick] [--only SECTIONS]
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setPidfile, start, stop } from './lib/children.mjs';
import { StdioServer } from './lib/stdio-client.mjs';
import { runLoad } from './lib/load.mjs';
import { memory, listeningPorts, sleep, percentile, round, cpuSeconds, systemBusySeconds } from './lib/proc.mjs';
import { startDouble } from './lib/double.mjs';
import { openSessions } from './lib/http-sessions.mjs';
import { openPool } from './lib/http-client.mjs';
import net from 'node:net';
import { summarize } from './lib/summary.mjs';
import { profileCpu, profileStartup, profileMemory } from './lib/profile.mjs';

const argv = process.argv.slice(2);
const opt = (k, d) => { const i = argv.indexOf(`--${k}`); return i >= 0 ? argv[i + 1] : d; };
const QUICK = argv.includes('--quick');
// --only a,b: run only these sections (startup, stdio, sessions, http, profiles) — for working on the
// harness; a published report comes from a run without it.
const ONLY = opt('only', null) ? new Set(opt('only').split(',')) : null;
const want = (sec) => !ONLY || ONLY.has(sec);
const KUBEMCP = path.resolve(opt('kubemcp'));
const PEER = path.resolve(opt('peer'));
const STARTUP = path.resolve(opt('startup'));
const DOUBLE = path.resolve(opt('double'));
const WORK = path.resolve(opt('work'));
const OUT = path.resolve(opt('out'));
const RESULTS = path.dirname(OUT);
const T_START = Date.now();

// Bounds for every loop: count and time.
const B = QUICK
  ? { startupRuns: 5, maxRequests: 300, maxMs: 1000, throttledMs: 2000, sessions: 100, warmup: 10, httpMaxRequests: 300, httpMaxMs: 800 }
  : { startupRuns: 25, maxRequests: 5000, maxMs: 5000, throttledMs: 4000, sessions: 1000, warmup: 30, httpMaxRequests: 3000, httpMaxMs: 3000 };
// The peer uses client-go, whose default limiter allows 5 requests/s (burst 10) to the API server.
// It reads KUBE_CLIENT_QPS / KUBE_CLIENT_BURST from the environment (verified: see raw.json
// peerThrottle), so we also run it with the limiter raised far above what the double can serve.
const PEER_RAISED_ENV = { KUBE_CLIENT_QPS: '1000000', KUBE_CLIENT_BURST: '1000000' };

const log = (...m) => process.stderr.write(`[bench +${((Date.now() - T_START) / 1000).toFixed(0)}s] ${m.join(' ')}\n`);
mkdirSync(WORK, { recursive: true });
setPidfile(path.join(WORK, 'children.pids'));

function sh(cmd, args) { try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 }).trim(); } catch (e) { return null; } }

function machineFacts() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = (cpuinfo.match(/^model name\s*:\s*(.*)$/m) || [])[1] || 'unknown';
  const mem = readFileSync('/proc/meminfo', 'utf8').match(/^MemTotal:\s+(\d+)/m);
  const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
  const dirty = sh('git', ['-C', repo, 'status', '--porcelain', '--', 'src', 'CMakeLists.txt']);
  return {
    nproc: os.cpus().length, cpuModel: model, kernel: `${os.type()} ${os.release()}`, memTotalGiB: mem ? round(Number(mem[1]) / 1048576, 1) : null,
    hypervisor: /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo), node: process.version, clockTicksPerSecond: Number(sh('getconf', ['CLK_TCK'])) || 100,
    // run.sh builds kubemcp from `git archive COMMIT` (--commit), so the working tree's state does not matter
    ...(opt('commit')
      ? { gitCommit: opt('commit'), builtFrom: 'git archive', gitDirty: false, gitDirtyFiles: [] }
      : { gitCommit: sh('git', ['-C', repo, 'rev-parse', 'HEAD']), builtFrom: 'working tree', gitDirty: dirty === null ? null : dirty.length > 0, gitDirtyFiles: dirty ? dirty.split('\n').map((l) => l.trim()) : [] }),
    date: new Date().toISOString(),
  };
}

// ----------------------------------------------------------------------------------------- servers
const serverDefs = (kubeconfig) => ({
  kubemcp: { label: 'kubemcp', cmd: KUBEMCP, args: (fmt) => ['--kubeconfig', kubeconfig, '--list-output', fmt], env: {} },
  peer: { label: 'peer (QPS limit raised)', cmd: PEER, args: (fmt) => ['--kubeconfig', kubeconfig, '--list-output', fmt], env: PEER_RAISED_ENV },
  peerDefault: { label: 'peer (as shipped: 5 QPS)', cmd: PEER, args: (fmt) => ['--kubeconfig', kubeconfig, '--list-output', fmt], env: {} },
});

const OPS = {
  tools_list: { fmt: 'yaml', req: () => ['tools/list', {}], validate: (m) => (m.result && m.result.tools && m.result.tools.length ? `${m.result.tools.length} tools` : 'no tools') },
  pods_list_yaml: {
    fmt: 'yaml', req: () => ['tools/call', { name: 'pods_list_in_namespace', arguments: { namespace: 'default' } }],
    validate: (m) => { const t = m.result.content[0].text; return `${(t.match(/name: bench-\d\d\n/g) || []).length} bench pods, web-0 ${t.includes('web-0') ? 'present' : 'MISSING'}, ${t.length} chars`; },
  },
  pods_list_table: {
    fmt: 'table', req: () => ['tools/call', { name: 'pods_list_in_namespace', arguments: { namespace: 'default' } }],
    validate: (m) => { const t = m.result.content[0].text; return `${(t.match(/bench-\d\d/g) || []).length} bench rows, web-0 ${t.includes('web-0') ? 'present' : 'MISSING'}, ${t.length} chars`; },
  },
  resources_get: {
    fmt: 'yaml', req: () => ['tools/call', { name: 'resources_get', arguments: { apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'bench-01' } }],
    validate: (m) => { const t = m.result.content[0].text; return `${t.includes('name: bench-01') ? 'bench-01' : 'WRONG OBJECT'}, ${t.length} chars`; },
  },
};
const CONCURRENCY = [1, 8, 64];

async function startServer(def, fmt) {
  const s = new StdioServer(def.label, def.cmd, def.args(fmt), def.env).start();
  await s.initialize();
  const tl = await s.request('tools/list', {}, 30000);
  if (!tl.msg.result) throw new Error(`${def.label}: tools/list failed`);
  return s;
}

// How many Kubernetes API requests one tool call makes (after warm-up), from the double's records.
async function kubeCallsPerToolCall(dbl, s, op, n = 10) {
  for (let i = 0; i < 3; i++) await s.request(...op.req(), 30000);
  await dbl.clearRecords();
  for (let i = 0; i < n; i++) await s.request(...op.req(), 30000);
  const recs = (await dbl.records()).filter((r) => !r.path.startsWith('/__double'));
  const paths = {};
  for (const r of recs) { const a = r.accept || ''; const k = `${r.method} ${r.path} (${/as=Table/.test(a) ? 'Table' : /protobuf/.test(a) ? 'protobuf' : 'JSON'})`; paths[k] = (paths[k] || 0) + 1; }
  return { perCall: round(recs.length / n, 2), requests: Object.fromEntries(Object.entries(paths).map(([k, v]) => [k, round(v / n, 2)])) };
}

async function loadScenarios(dbl, def, key, fmt, opNames, concurrencies, maxMs) {
  const out = {};
  await quietGate(`${def.label} ${fmt}`);
  const s = await startServer(def, fmt);
  try {
    await sleep(1000);
    const idle = memory(s.pid);
    out._idle = { ...idle, cpuSecondsAtIdle: round(cpuSeconds(s.pid).total, 3) };
    for (const name of opNames) {
      const op = OPS[name];
      out[name] = { kubeApi: name === 'tools_list' ? { perCall: 0, requests: {} } : await kubeCallsPerToolCall(dbl, s, op, key === 'peerDefault' ? 3 : 10), runs: {} };
      for (const c of concurrencies) {
        log(`${def.label} ${name} c=${c}`);
        out[name].runs[c] = await runLoad(s, op.req, { concurrency: c, warmup: B.warmup, maxRequests: B.maxRequests, maxMs, validate: op.validate, doublePid: dbl.pid });
        if (s.exited) throw new Error(`${def.label} exited: ${s.stderr.slice(-500)}`);
      }
    }
    out._afterLoad = memory(s.pid);
  } finally { await s.stop(); }
  return out;
}

// ------------------------------------------------------------------------------------------ start-up
function measureStartup(def, kubeconfig, runs) {
  const args = [String(runs), '10000', '--', def.cmd, ...def.args('yaml')];
  const r = spawnSync(STARTUP, args, { encoding: 'utf8', env: { ...process.env, ...def.env }, timeout: 10000 * runs + 30000 });
  if (r.status !== 0) throw new Error(`startup helper failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// ------------------------------------------------------------------------------------------- HTTP
// A free loopback port for the peer (kubemcp takes port 0 and prints its port): let the kernel pick
// one, release it, and check that nothing listens on it before handing it over.
function listeningOn(port) {
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let t = '';
    try { t = readFileSync(f, 'utf8'); } catch { continue; }
    for (const line of t.split('\n').slice(1)) { const c = line.trim().split(/\s+/); if (c[3] === '0A' && parseInt((c[1] || ':0').split(':')[1], 16) === port) return true; }
  }
  return false;
}
async function freePort() {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise((resolve, reject) => { const srv = net.createServer(); srv.once('error', reject); srv.listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)); }); });
    if (!listeningOn(port)) return port;
  }
  throw new Error('no free loopback port found in 20 tries');
}

async function startHttp(def, kubeconfig, extraArgs = []) {
  const isKubemcp = def.cmd === KUBEMCP;
  const port = isKubemcp ? 0 : await freePort();
  const child = start(def.cmd, [...def.args('yaml'), ...extraArgs, '--port', String(port), '--bind-address', '127.0.0.1'], { env: { ...process.env, ...def.env } });
  let err = '';
  child.stderr.setEncoding('utf8'); child.stdout.resume();
  const exited = new Promise((r) => child.once('exit', (code) => r(code)));
  child.stderr.on('data', (d) => { if (err.length < 20000) err += d; });
  const t0 = Date.now();
  while (Date.now() - t0 < 15000) {
    const m = err.match(/kubemcp listening on (http:\/\/[^\s]+)/);
    if (m) return { child, url: m[1], args: extraArgs };
    if (child.exitCode !== null) return { refused: `exit ${child.exitCode}: ${err.trim().split('\n').slice(-2).join(' ').slice(0, 300)}` };
    let ports = [];
    try { ports = listeningPorts(child.pid); } catch {}
    if (!isKubemcp && ports.includes(port)) return { child, url: `http://127.0.0.1:${port}`, args: extraArgs };
    await Promise.race([sleep(50), exited]);
  }
  await stop(child);
  return { refused: `no listening socket within 15 s: ${err.slice(-300)}` };
}

async function measureHttp(def, kubeconfig, n) {
  const h = await startHttp(def, kubeconfig);
  if (h.refused) return { skipped: true, reason: h.refused };
  let sampler = null;
  try {
    await sleep(500);
    const before = memory(h.child.pid);
    const cpu0 = cpuSeconds(h.child.pid).total;
    let threadsPeak = before.threads;
    sampler = setInterval(() => { try { threadsPeak = Math.max(threadsPeak, memory(h.child.pid).threads); } catch {} }, 50);
    const ss = await openSessions(h.url, n, { batch: 50, maxMs: 90000 });
    await sleep(1500);
    const after = memory(h.child.pid);
    const cpuOpen = cpuSeconds(h.child.pid).total - cpu0;
    clearInterval(sampler); sampler = null;
    threadsPeak = Math.max(threadsPeak, after.threads);
    ss.close();
    return {
      url: h.url, idleBeforeSessions: before, sessionsRequested: n, sessionsOpened: ss.opened, sessionsFailed: ss.failed, firstError: ss.firstError,
      secondsToOpen: round(ss.seconds, 2), withSessions: after, kibPerSession: ss.opened ? round((after.rssKiB - before.rssKiB) / ss.opened, 2) : null,
      threadsIdle: before.threads, threadsWithSessions: after.threads, threadsPeakWhileOpening: threadsPeak,
      cpuMsPerSessionOpen: ss.opened ? round((cpuOpen / ss.opened) * 1000, 3) : null,
    };
  } finally { if (sampler) clearInterval(sampler); await stop(h.child); }
}

// kubemcp validates OIDC JWTs since commit 471575b; this harness does not drive that mode yet.
const OIDC_PENDING = 'pending: kubemcp validates OIDC JWTs since commit 471575b, but this harness does not drive that mode yet. '
  + 'It needs an issuer that serves discovery and JWKS on loopback (e.g. the e2e suite\'s oidc-provider fixture): the API double mints id_tokens for an issuer URL it does not serve. '
  + 'The peer would need its authorization server configured the same way';

// Auth modes over Streamable HTTP. The driver opens up to 64 sessions (one keep-alive connection
// each) and keeps 1, 8 or 64 of them busy; `headers` go on every request, initialize included.
const HTTP_OPS = ['tools_list', 'pods_list_yaml'];
function authModes(tokens) {
  const bearer = { authorization: `Bearer ${tokens.admin}` };
  return {
    none: { label: 'none (server\'s kubeconfig credentials)', headers: {}, kubemcp: [], peer: [] },
    bearer: { label: 'bearer passthrough (admin token on every request)', headers: bearer, kubemcp: [], peer: [] },
    tokenreview: {
      label: 'bearer passthrough + cached TokenReview', headers: bearer, kubemcp: ['--validate-token'], peer: null,
      peerNa: 'kubernetes-mcp-server removed its TokenReview validation (no --validate-token / validate_token in v0.0.67: `--validate-token` → "unknown flag"); it passes the bearer on and leaves rejection to the API server',
    },
    oidc: { label: 'OIDC JWT', pending: OIDC_PENDING },
  };
}

// Which identity the API server saw for one tools/call sent with `token` (proves passthrough).
async function identitySeen(dbl, url, token) {
  const pool = await openPool(url, 1, { headers: { authorization: `Bearer ${token}` } });
  try {
    await dbl.clearRecords();
    await pool.request(...OPS.pods_list_yaml.req(), 30000);
    const recs = (await dbl.records()).filter((r) => r.path === '/api/v1/namespaces/default/pods');
    return [...new Set(recs.map((r) => r.user))];
  } finally { await pool.close(); }
}

async function httpMode(dbl, def, key, modeName, mode) {
  const args = mode[key];
  await quietGate(`HTTP ${def.label} auth=${modeName}`);
  const h = await startHttp(def, dbl.kubeconfig, args);
  if (h.refused) return { skipped: true, reason: h.refused };
  const out = { args, url: h.url };
  try {
    await sleep(300);
    out._idle = memory(h.child.pid);
    if (modeName !== 'none') {
      // the double's `alice` token on one request: the pods GET must be made as alice
      const seen = await identitySeen(dbl, h.url, dbl.tokens.alice);
      out.passthroughCheck = { sentAs: 'alice', apiServerSaw: seen, ok: seen.length === 1 && seen[0] === 'alice' };
    }
    const pool = await openPool(h.url, 64, { headers: mode.headers, pid: h.child.pid });
    try {
      for (const name of HTTP_OPS) {
        const op = OPS[name];
        out[name] = { kubeApi: await kubeCallsPerToolCall(dbl, pool, op, 10), runs: {} };
        for (const c of CONCURRENCY) {
          log(`HTTP ${def.label} auth=${modeName} ${name} c=${c}`);
          out[name].runs[c] = await runLoad(pool, op.req, { concurrency: c, warmup: B.warmup, maxRequests: B.httpMaxRequests, maxMs: B.httpMaxMs, validate: op.validate, doublePid: dbl.pid });
          if (h.child.exitCode !== null) throw new Error(`${def.label} exited during HTTP load`);
        }
      }
    } finally { await pool.close(); }
    out._afterLoad = memory(h.child.pid);
  } finally { await stop(h.child); }
  return out;
}

// The machine may be shared (teammates' builds and tests). Before each measured scenario, wait while
// something else uses more than half a core (our servers are idle between scenarios), at most 30 s
// each and 150 s in all; every wait is recorded in raw.json (facts.quietWaits).
const quiet = { budgetMs: QUICK ? 20000 : 150000, usedMs: 0, waits: [] };
async function quietGate(what) {
  const t0 = Date.now();
  let load = null;
  while (quiet.usedMs + (Date.now() - t0) < quiet.budgetMs && Date.now() - t0 < 30000) {
    const a = systemBusySeconds(); await sleep(1000); load = systemBusySeconds() - a;
    if (load <= 0.5) break;
  }
  const ms = Date.now() - t0;
  quiet.usedMs += ms;
  if (ms > 1500) { quiet.waits.push({ before: what, waitedMs: ms, lastLoadCores: round(load, 2) }); log(`waited ${(ms / 1000).toFixed(0)} s for a quiet machine before ${what}`); }
}

// ------------------------------------------------------------------------------------------- main
async function main() {
  const raw = { schema: 2, quick: QUICK, only: ONLY ? [...ONLY] : null, bounds: B, facts: machineFacts(), versions: {}, notes: [] };
  raw.versions.kubemcp = sh(KUBEMCP, ['version']);
  raw.versions.peer = sh(PEER, ['--version']);
  raw.versions.peerBinaryBytes = Number(sh('stat', ['-c', '%s', PEER]));
  raw.versions.kubemcpBinaryBytes = Number(sh('stat', ['-c', '%s', KUBEMCP]));
  raw.peerRaisedEnv = PEER_RAISED_ENV;
  log('machine:', raw.facts.nproc, 'CPUs,', raw.facts.cpuModel, '|', raw.versions.kubemcp, 'vs', raw.versions.peer);

  // The machine may be shared (teammates' builds, fuzzers): wait up to 60 s for it to be quiet-ish.
  const busy = async () => { const a = systemBusySeconds(); await sleep(2000); return (systemBusySeconds() - a) / 2; };
  let load = await busy(); const w0 = Date.now();
  while (load > 0.5 && Date.now() - w0 < 60000) { log(`machine busy (${load.toFixed(2)} cores used by others), waiting`); await sleep(5000); load = await busy(); }
  raw.facts.otherLoadAtStartCores = round(load, 2);
  raw.facts.loadavgAtStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

  const dbl = await startDouble(process.execPath, DOUBLE, path.join(WORK, 'double'));
  raw.double = { url: dbl.url, pid: dbl.pid, mode: '--fast' };
  log('API double at', dbl.url);
  const defs = serverDefs(dbl.kubeconfig);

  try {
    // 1. start-up: one discarded run each to warm the page cache, then interleaved rounds
    if (want('startup')) {
      log('start-up');
      raw.startup = {};
      for (const k of ['kubemcp', 'peer']) { measureStartup(defs[k], dbl.kubeconfig, 1); raw.startup[k] = { ms: [], failures: 0, firstError: '' }; }
      const rounds = 5;
      for (let r = 0; r < rounds; r++) {
        for (const k of ['kubemcp', 'peer']) {
          const x = measureStartup(defs[k], dbl.kubeconfig, Math.ceil(B.startupRuns / rounds));
          raw.startup[k].ms.push(...x.ms); raw.startup[k].failures += x.failures; raw.startup[k].firstError ||= x.first_error;
        }
      }
      for (const k of ['kubemcp', 'peer']) {
        const ms = raw.startup[k].ms;
        Object.assign(raw.startup[k], { runs: ms.length, medianMs: round(percentile(ms, 50)), p90Ms: round(percentile(ms, 90)), minMs: round(Math.min(...ms)), maxMs: round(Math.max(...ms)) });
      }
    }

    // 2. idle RSS and per-request CPU over stdio
    if (want('stdio')) {
      raw.stdio = {};
      const all = ['tools_list', 'pods_list_yaml', 'resources_get'];
      for (const k of ['kubemcp', 'peer']) {
        raw.stdio[k] = { yaml: await loadScenarios(dbl, defs[k], k, 'yaml', all, CONCURRENCY, B.maxMs) };
        raw.stdio[k].table = await loadScenarios(dbl, defs[k], k, 'table', ['pods_list_table'], CONCURRENCY, B.maxMs);
      }
      // the peer as shipped: throttled by client-go; shorter runs, c=1 and 8 only (a 64-deep queue at 5/s takes 13 s to drain)
      raw.stdio.peerDefault = { yaml: await loadScenarios(dbl, defs.peerDefault, 'peerDefault', 'yaml', ['resources_get', 'pods_list_yaml'], [1, 8], B.throttledMs) };
    }

    // 3. HTTP: 1,000 sessions with open SSE streams
    if (want('sessions')) {
      raw.http = {};
      for (const k of ['kubemcp', 'peer']) {
        log(`HTTP sessions: ${defs[k].label}`);
        try { raw.http[k] = await measureHttp(defs[k], dbl.kubeconfig, B.sessions); } catch (e) { raw.http[k] = { skipped: true, reason: `error: ${e.message}` }; }
        if (raw.http[k].skipped) log(`  skipped: ${raw.http[k].reason}`);
      }
    }

    // 4. HTTP request level, per auth mode
    if (want('http')) {
      dbl.tokens = JSON.parse(readFileSync(path.join(dbl.dir, 'tokens.json'), 'utf8'));
      const modes = authModes(dbl.tokens);
      raw.httpLoad = { ops: HTTP_OPS, concurrency: CONCURRENCY, modes: {} };
      for (const [m, mode] of Object.entries(modes)) {
        const entry = raw.httpLoad.modes[m] = { label: mode.label };
        if (mode.pending) { entry.pending = mode.pending; continue; }
        for (const k of ['kubemcp', 'peer']) {
          if (mode[k] === null) { entry[k] = { na: mode.peerNa }; continue; }
          try { entry[k] = await httpMode(dbl, defs[k], k, m, mode); } catch (e) { entry[k] = { skipped: true, reason: `error: ${e.message}` }; log(`  ${k} ${m}: ${e.message}`); }
        }
      }
    }

    // 5. targets; where kubemcp misses one, profile it (memory and start-up breakdowns are cheap: always)
    raw.summary = summarize(raw);
    if (want('profiles')) {
      raw.profiles = {};
      const cpuT = raw.summary.targets.find((t) => t.id === 'cpu');
      if (cpuT && cpuT.met === false) {
        const failingOps = [cpuT.worstOp, ...cpuT.failingOps.filter((o) => o !== cpuT.worstOp)].slice(0, 3);
        log('CPU target missed: callgrind profile of kubemcp on', failingOps.join(', '));
        raw.profiles.cpu = await profileCpu({ kubemcp: KUBEMCP, kubeconfig: dbl.kubeconfig, ops: OPS, opNames: failingOps, work: WORK, results: RESULTS });
      }
      log('memory breakdown (smaps)');
      raw.profiles.memory = await profileMemory({ defs: { kubemcp: defs.kubemcp, peer: defs.peerDefault } });
      log('start-up breakdown');
      raw.profiles.startup = await profileStartup({ kubemcp: KUBEMCP, kubeconfig: dbl.kubeconfig, startupBin: STARTUP });
    }
  } finally {
    await dbl.stop();
  }
  raw.facts.quietWaits = quiet.waits;
  raw.totalSeconds = round((Date.now() - T_START) / 1000, 1);
  raw.facts.loadavgAtEnd = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  writeFileSync(OUT, JSON.stringify(raw, null, 2) + '\n');
  log('wrote', OUT);
}

main().then(() => process.exit(0), (e) => { log('FAILED:', e.stack || e.message); process.exit(1); });

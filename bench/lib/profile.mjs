// Where kubemcp's time and memory go. perf cannot count instructions in this VM (`perf stat -e
// instructions` reports <not supported>), so CPU profiles use valgrind's callgrind (instructions
// executed, Ir), switched on only around the measured requests with callgrind_control.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StdioServer } from './stdio-client.mjs';
import { runLoad } from './load.mjs';
import { sleep, percentile, round, memory } from './proc.mjs';

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

// Parse `callgrind_annotate` listing lines: "  1,234 (12.34%)  file:function [object]"
function parseAnnotate(text) {
  const rows = [];
  let total = null;
  for (const line of text.split('\n')) {
    const t = line.match(/^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+PROGRAM TOTALS/);
    if (t) { total = Number(t[1].replace(/,/g, '')); continue; }
    const m = line.match(/^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*?)\s+\[(.*)\]\s*$/);
    if (!m) continue;
    const fn = m[3].includes(':') ? m[3].slice(m[3].lastIndexOf(':') + 1) : m[3];
    rows.push({ ir: Number(m[1].replace(/,/g, '')), pct: Number(m[2]), fn, object: path.basename(m[4]) });
  }
  return { total, rows };
}

function annotate(file, inclusive) {
  return execFileSync('callgrind_annotate', [...(inclusive ? ['--inclusive=yes'] : []), '--threshold=100', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

const libGroup = (o) => o.replace(/\.so(\.\d+)*$/, '').replace(/^lib/, 'lib');

export async function profileCpu({ kubemcp, kubeconfig, ops, opNames, work, results, requests = 50, maxMs = 90000 }) {
  if (!have('valgrind') || !have('callgrind_control')) return { skipped: 'valgrind is not installed' };
  const out = {};
  for (const name of opNames) {
    const op = ops[name];
    const file = path.join(work, `callgrind.${name}.out`);
    const s = new StdioServer('kubemcp (callgrind)', 'valgrind', ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${file}`, kubemcp, '--kubeconfig', kubeconfig, '--list-output', op.fmt]).start();
    try {
      await s.initialize();
      // warm-up: every worker thread gets its connection (TLS handshake) and discovery is cached
      await runLoad(s, op.req, { concurrency: 8, warmup: 16, maxRequests: 16, maxMs: 30000 });
      execFileSync('callgrind_control', ['-i', 'on', String(s.pid)], { stdio: 'ignore', timeout: 30000 });
      const r = await runLoad(s, op.req, { concurrency: 1, warmup: 0, maxRequests: requests, maxMs });
      execFileSync('callgrind_control', ['-i', 'off', String(s.pid)], { stdio: 'ignore', timeout: 30000 });
      await s.stop();
      const exText = annotate(file, false), inText = annotate(file, true);
      const ex = parseAnnotate(exText), inc = parseAnnotate(inText);
      const n = r.requests + 1; // runLoad's minimum warm-up of one request at c=1 is also instrumented
      const byObject = {};
      for (const row of ex.rows) byObject[libGroup(row.object)] = (byObject[libGroup(row.object)] || 0) + row.ir;
      const objects = Object.entries(byObject).sort((a, b) => b[1] - a[1]).slice(0, 10).map(([object, ir]) => ({ object, pct: round((100 * ir) / ex.total, 1) }));
      const ours = inc.rows.filter((x) => x.object === path.basename(kubemcp) && !/^0x/.test(x.fn)).slice(0, 25).map((x) => ({ fn: x.fn, pct: round((100 * x.ir) / inc.total, 1) }));
      const named = (rows) => rows.filter((x) => !/^0x/.test(x.fn));
      const topExclusive = ex.rows.slice(0, 15).map((x) => ({ fn: x.fn, object: libGroup(x.object), pct: round(x.pct, 1) }));
      const topInclusiveLib = named(inc.rows).filter((x) => x.object !== path.basename(kubemcp) && !/^(start_thread|clone3?|0x)/.test(x.fn)).slice(0, 15).map((x) => ({ fn: x.fn, object: libGroup(x.object), pct: round((100 * x.ir) / inc.total, 1) }));
      const txt = path.join(results, `profile-cpu-${name}.txt`);
      writeFileSync(txt, `callgrind, kubemcp, ${name}, ${n} requests at concurrency 1 after a warm-up; instructions (Ir)\n\n== exclusive ==\n${exText.split('\n').slice(0, 70).join('\n')}\n\n== inclusive ==\n${inText.split('\n').slice(0, 90).join('\n')}\n`);
      out[name] = { requests: n, irTotal: ex.total, irPerRequest: Math.round(ex.total / n), byObject: objects, ourFunctionsInclusive: ours, topExclusive, topInclusiveLibrary: topInclusiveLib, file: path.basename(txt) };
    } catch (e) {
      out[name] = { error: e.message };
      await s.stop();
    }
  }
  return out;
}

// RSS by mapping (/proc/PID/smaps), for kubemcp and the peer, idle after initialize + tools/list.
export async function profileMemory({ defs }) {
  const out = {};
  for (const [key, def] of Object.entries(defs)) {
    const s = new StdioServer(def.label, def.cmd, def.args('yaml'), def.env).start();
    try {
      await s.initialize();
      await s.request('tools/list', {}, 30000);
      await sleep(1000);
      const smaps = readFileSync(`/proc/${s.pid}/smaps`, 'utf8');
      const groups = {};
      let cur = null;
      for (const line of smaps.split('\n')) {
        const h = line.match(/^[0-9a-f]+-[0-9a-f]+\s+(\S+)\s+\S+\s+\S+\s+\d+\s*(.*)$/);
        if (h) {
          const p = h[2].trim();
          cur = p === '' ? 'anonymous (heap arenas, thread stacks)' : p.startsWith('[') ? p : path.basename(p);
          if (cur === '[heap]') cur = '[heap] (main malloc arena)';
          groups[cur] ??= { rssKiB: 0, pssKiB: 0, anonKiB: 0, mappings: 0 };
          groups[cur].mappings++;
          continue;
        }
        const kv = line.match(/^(Rss|Pss|Anonymous):\s+(\d+) kB/);
        if (kv && cur) groups[cur][{ Rss: 'rssKiB', Pss: 'pssKiB', Anonymous: 'anonKiB' }[kv[1]]] += Number(kv[2]);
      }
      const rows = Object.entries(groups).map(([name, g]) => ({ name, ...g })).filter((g) => g.rssKiB > 0).sort((a, b) => b.rssKiB - a.rssKiB);
      out[key] = { total: memory(s.pid), top: rows.slice(0, 14), objectsMapped: rows.filter((r) => /\.so/.test(r.name)).length };
    } finally { await s.stop(); }
  }
  return out;
}

// Start-up: how much of exec → initialize is the dynamic loader and library set-up.
export async function profileStartup({ kubemcp, kubeconfig, startupBin, runs = 20 }) {
  const out = {};
  const run = (args, env = {}) => {
    const r = spawnSync(startupBin, [String(runs), '10000', '--', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120000 });
    try { const j = JSON.parse(r.stdout); return { medianMs: round(percentile(j.ms, 50)), p90Ms: round(percentile(j.ms, 90)) }; } catch { return null; }
  };
  out.initialize = run([kubemcp, '--kubeconfig', kubeconfig]);
  out.versionUntilExit = run([kubemcp, 'version'], { STARTUP_UNTIL_EXIT: '1' });
  out.trueUntilExit = run(['/bin/true'], { STARTUP_UNTIL_EXIT: '1' });
  try {
    const ldd = execFileSync('ldd', [kubemcp], { encoding: 'utf8' });
    out.sharedObjects = ldd.split('\n').filter((l) => /=>|ld-linux/.test(l)).length;
    out.directNeeded = execFileSync('sh', ['-c', `objdump -p '${kubemcp}' | awk '/NEEDED/{print $2}'`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {}
  try {
    const st = spawnSync(kubemcp, ['version'], { encoding: 'utf8', env: { ...process.env, LD_DEBUG: 'statistics' } }).stderr;
    const g = (re) => { const m = st.match(re); return m ? Number(m[1].replace(/,/g, '')) : null; };
    out.loader = { totalCycles: g(/total startup time in dynamic loader:\s+([\d,]+)/), relocationCycles: g(/time needed for relocation:\s+([\d,]+)/), relocations: g(/number of relocations:\s+([\d,]+)/), relativeRelocations: g(/number of relative relocations:\s+([\d,]+)/) };
  } catch {}
  if (have('valgrind')) {
    // instructions from exec to exit for one initialize (stdin then closed), by object
    const file = `/tmp/kubemcp-bench-startup-${process.pid}.cg`;
    const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'b', version: '1' } } }) + '\n';
    spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${file}`, kubemcp, '--kubeconfig', kubeconfig], { input: init, timeout: 60000 });
    try {
      const ex = parseAnnotate(annotate(file, false));
      const byObject = {};
      for (const row of ex.rows) byObject[libGroup(row.object)] = (byObject[libGroup(row.object)] || 0) + row.ir;
      out.instructions = { total: ex.total, byObject: Object.entries(byObject).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([object, ir]) => ({ object, pct: round((100 * ir) / ex.total, 1) })) };
      const inc = parseAnnotate(annotate(file, true));
      out.instructions.topInclusive = inc.rows.filter((x) => !/^0x/.test(x.fn)).slice(0, 20).map((x) => ({ fn: x.fn, object: libGroup(x.object), pct: round((100 * x.ir) / inc.total, 1) }));
    } catch (e) { out.instructions = { error: e.message }; }
    try { execFileSync('rm', ['-f', file]); } catch {}
  }
  return out;
}

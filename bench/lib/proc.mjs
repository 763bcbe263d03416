// /proc readers: CPU time, memory and listening ports of a process we started.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clkTck = 0;
export function clockTicks() {
  if (!clkTck) {
    try { clkTck = parseInt(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim(), 10) || 100; } catch { clkTck = 100; }
  }
  return clkTck;
}

// utime + stime of the whole process (all threads, live and exited), in seconds.
// Fields 14 and 15 of /proc/PID/stat; the command name (field 2) may hold spaces, so split after ')'.
export function cpuSeconds(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  const utime = Number(f[11]), stime = Number(f[12]);
  return { user: utime / clockTicks(), system: stime / clockTicks(), total: (utime + stime) / clockTicks() };
}

// Sum of the per-thread run time from /proc/PID/task/*/schedstat (nanoseconds): finer than ticks,
// but only live threads count, so it is a cross-check rather than the reported figure.
export function schedSeconds(pid) {
  let ns = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try { ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]); } catch {}
    }
  } catch {}
  return ns / 1e9;
}

// VmRSS, VmHWM (kB), thread count from /proc/PID/status.
export function memory(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k) => { const m = s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')); return m ? Number(m[1]) : null; };
  return { rssKiB: get('VmRSS'), hwmKiB: get('VmHWM'), anonKiB: get('RssAnon'), fileKiB: get('RssFile'), threads: get('Threads') };
}

// TCP ports the process listens on (IPv4 and IPv6), found through its socket inodes, so a server
// started with port 0 that does not print its port can still be reached.
export function listeningPorts(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try { const l = readlinkSync(`/proc/${pid}/fd/${fd}`); const m = l.match(/^socket:\[(\d+)\]$/); if (m) inodes.add(m[1]); } catch {}
  }
  const ports = [];
  for (const file of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    let text = '';
    try { text = readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length < 10 || c[3] !== '0A') continue; // 0A = LISTEN
      if (inodes.has(c[9])) ports.push(parseInt(c[1].split(':')[1], 16));
    }
  }
  return ports;
}

// Busy CPU time of the whole machine (all CPUs), in seconds, from the first line of /proc/stat:
// user nice system idle iowait irq softirq steal ... — busy = all but idle and iowait.
export function systemBusySeconds() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0);
  return busy / clockTicks();
}

export function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Percentile by linear interpolation between closest ranks; xs need not be sorted.
export function percentile(xs, p) {
  if (!xs.length) return null;
  const a = [...xs].sort((x, y) => x - y);
  const r = (p / 100) * (a.length - 1);
  const lo = Math.floor(r), hi = Math.ceil(r);
  return a[lo] + (a[hi] - a[lo]) * (r - lo);
}

export const round = (x, d = 3) => (x == null || !Number.isFinite(x) ? x : Math.round(x * 10 ** d) / 10 ** d);

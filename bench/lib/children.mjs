// Every process the harness starts is registered here and ended by its PID: on normal stop, on an
// exception, on SIGINT/SIGTERM, and (through PIDFILE, read by run.sh's trap) if this process dies.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const live = new Map(); // pid -> ChildProcess
let pidfile = null;

function save() {
  if (pidfile) { try { writeFileSync(pidfile, [...live.keys()].join('\n') + (live.size ? '\n' : '')); } catch {} }
}

export function setPidfile(path) { pidfile = path; save(); }

export function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  if (child.pid) {
    live.set(child.pid, child);
    save();
    child.once('exit', () => { live.delete(child.pid); save(); });
  }
  return child;
}

// SIGTERM, then SIGKILL after graceMs; resolves when the child has exited.
export function stop(child, graceMs = 2000) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null || !live.has(child.pid)) return resolve();
    const t = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch {} }, graceMs);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    try { process.kill(child.pid, 'SIGTERM'); } catch { clearTimeout(t); resolve(); }
  });
}

export function killAllNow() {
  for (const pid of live.keys()) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  live.clear();
  save();
}

process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { killAllNow(); process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)); });
}

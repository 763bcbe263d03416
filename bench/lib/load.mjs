// Closed-loop load over one stdio session: `concurrency` requests always in flight, each answer
// sending the next, until a request count or a time limit is reached (whichever comes first).
// CPU time of the server (and of the API double and of this driver) is read around the measured
// window only; a warm-up at the same concurrency runs first.
import { cpuSeconds, schedSeconds, systemBusySeconds, percentile, round } from './proc.mjs';

function isToolError(msg) {
  if (msg.error) return JSON.stringify(msg.error).slice(0, 300);
  if (msg.result && msg.result.isError) return JSON.stringify(msg.result.content).slice(0, 300);
  return null;
}

async function closedLoop(server, makeReq, concurrency, maxRequests, maxMs, reqTimeoutMs, onDone) {
  const t0 = Date.now();
  let sent = 0;
  const worker = async () => {
    while (sent < maxRequests && Date.now() - t0 < maxMs) {
      sent++;
      const [method, params] = makeReq();
      let r;
      try { r = await server.request(method, params, reqTimeoutMs); } catch (e) { onDone(null, e); continue; }
      onDone(r, null);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export async function runLoad(server, makeReq, o) {
  const { concurrency, warmup = 20, maxRequests = 5000, maxMs = 5000, drainMs = 20000, validate, doublePid } = o;
  // warm-up (not measured): same concurrency, small count, short time
  await closedLoop(server, makeReq, concurrency, Math.max(warmup, concurrency), Math.min(1500, maxMs), maxMs + drainMs, () => {});

  const lat = [];
  let errors = 0, firstError = null, bytes = 0, validated = null;
  const onDone = (r, e) => {
    if (e) { errors++; firstError ??= e.message; return; }
    if (!r) return; // abandoned
    const err = isToolError(r.msg);
    if (err) { errors++; firstError ??= err; return; }
    if (validated === null && validate) validated = validate(r.msg) || 'ok';
    lat.push(r.ms); bytes += r.bytes;
  };
  const s0 = cpuSeconds(server.pid), q0 = schedSeconds(server.pid), d0 = doublePid ? cpuSeconds(doublePid) : null;
  const c0 = process.cpuUsage(); const w0 = process.hrtime.bigint(); const m0 = systemBusySeconds();
  await closedLoop(server, makeReq, concurrency, maxRequests, maxMs, maxMs + drainMs, onDone);
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  const s1 = cpuSeconds(server.pid), q1 = schedSeconds(server.pid), d1 = doublePid ? cpuSeconds(doublePid) : null;
  const c1 = process.cpuUsage(c0); const m1 = systemBusySeconds();

  const n = lat.length;
  const srvCpu = s1.total - s0.total;
  const dblCpu = d0 ? d1.total - d0.total : null;
  const drvCpu = (c1.user + c1.system) / 1e6;
  return {
    concurrency, requests: n, errors, firstError, validation: validated,
    wallSeconds: round(wall, 3), reqPerSec: round(n / wall, 1),
    latencyMs: { p50: round(percentile(lat, 50)), p90: round(percentile(lat, 90)), p99: round(percentile(lat, 99)), max: round(percentile(lat, 100)) },
    meanResponseBytes: n ? Math.round(bytes / n) : null,
    server: {
      cpuSeconds: round(srvCpu, 3), userSeconds: round(s1.user - s0.user, 3), systemSeconds: round(s1.system - s0.system, 3),
      cpuMsPerRequest: n ? round((srvCpu / n) * 1000, 4) : null,
      schedCpuMsPerRequest: n ? round(((q1 - q0) / n) * 1000, 4) : null,
      cpuUtilisation: round(srvCpu / wall, 3),
    },
    double: dblCpu == null ? null : { cpuSeconds: round(dblCpu, 3), cpuMsPerRequest: n ? round((dblCpu / n) * 1000, 4) : null, cpuUtilisation: round(dblCpu / wall, 3) },
    driver: { cpuSeconds: round(drvCpu, 3), cpuUtilisation: round(drvCpu / wall, 3) },
    // CPU used on the machine by anything else (other users' jobs) during the window, in cores
    otherLoadCores: round(Math.max(0, (m1 - m0) - srvCpu - (dblCpu || 0) - drvCpu) / wall, 2),
  };
}

// Ratios kubemcp / peer and the targets, computed from raw.json. Lower ratio = kubemcp cheaper.
import { round } from './proc.mjs';

export const TARGETS = { cpuRatio: 1 / 5, rssRatio: 1 / 12, startupMs: 10, seenTokenUs: 5 };

const OP_LABEL = { tools_list: 'tools/list', pods_list_yaml: 'pods_list yaml', pods_list_table: 'pods_list table', resources_get: 'resources_get' };
export const opLabel = (k) => OP_LABEL[k] || k;

function run(raw, server, op, c) {
  const s = raw.stdio && raw.stdio[server];
  if (!s) return null;
  const block = op === 'pods_list_table' ? s.table : s.yaml;
  return block && block[op] && block[op].runs && block[op].runs[c] ? block[op].runs[c] : null;
}
export { run as getRun };

// A request-level HTTP run: raw.httpLoad.modes[mode][server][op].runs[c]
export function httpRun(raw, mode, server, op, c) {
  const e = raw.httpLoad?.modes?.[mode]?.[server];
  return e && e[op] && e[op].runs && e[op].runs[c] ? e[op].runs[c] : null;
}
export const MODE_LABEL = { none: 'none', bearer: 'bearer passthrough', tokenreview: 'bearer + cached TokenReview', oidc: 'OIDC JWT' };

export function summarize(raw) {
  const ratios = [];
  const add = (group, metric, k, p, unit, chart = true) => {
    if (k == null || p == null || !p) return;
    ratios.push({ group, metric, kubemcp: k, peer: p, unit, ratio: round(k / p, 4), chart });
  };
  const su = raw.startup || {};
  if (su.kubemcp && su.peer) {
    add('start-up', 'start-up median', su.kubemcp.medianMs, su.peer.medianMs, 'ms');
    add('start-up', 'start-up p90', su.kubemcp.p90Ms, su.peer.p90Ms, 'ms', false);
  }
  const idleK = raw.stdio?.kubemcp?.yaml?._idle?.rssKiB, idleP = (raw.stdio?.peerDefault?.yaml?._idle ?? raw.stdio?.peer?.yaml?._idle)?.rssKiB;
  add('memory', 'RSS idle (stdio)', idleK, idleP, 'KiB');
  add('memory', 'RSS after load (stdio)', raw.stdio?.kubemcp?.yaml?._afterLoad?.rssKiB, raw.stdio?.peer?.yaml?._afterLoad?.rssKiB, 'KiB', false);
  const hk = raw.http?.kubemcp, hp = raw.http?.peer;
  if (hk && hp && !hk.skipped && !hp.skipped) {
    add('memory', `RSS with ${hk.sessionsOpened} sessions`, hk.withSessions.rssKiB, hp.withSessions.rssKiB, 'KiB');
    add('memory', 'RSS idle (HTTP)', hk.idleBeforeSessions.rssKiB, hp.idleBeforeSessions.rssKiB, 'KiB', false);
  }
  const cpuRatios = [];
  for (const op of ['tools_list', 'pods_list_yaml', 'pods_list_table', 'resources_get']) {
    for (const c of [1, 8, 64]) {
      const k = run(raw, 'kubemcp', op, c), p = run(raw, 'peer', op, c);
      if (!k || !p) continue;
      add('cpu', `CPU/req ${opLabel(op)} c=${c}`, k.server.cpuMsPerRequest, p.server.cpuMsPerRequest, 'ms', c === 8 || c === 1);
      if (op !== 'tools_list' && k.server.cpuMsPerRequest != null && p.server.cpuMsPerRequest) cpuRatios.push({ op, c, ratio: k.server.cpuMsPerRequest / p.server.cpuMsPerRequest });
      add('latency', `p50 ${opLabel(op)} c=${c}`, k.latencyMs.p50, p.latencyMs.p50, 'ms', false);
      add('latency', `p99 ${opLabel(op)} c=${c}`, k.latencyMs.p99, p.latencyMs.p99, 'ms', false);
      add('throughput', `req/s ${opLabel(op)} c=${c}`, k.reqPerSec, p.reqPerSec, 'req/s', false);
    }
  }

  // Streamable HTTP, request level, per auth mode (the peer has no TokenReview mode: no ratio there)
  const httpCpu = [];
  for (const mode of ['none', 'bearer', 'oidc']) {
    for (const op of ['tools_list', 'pods_list_yaml']) {
      for (const c of [1, 8, 64]) {
        const k = httpRun(raw, mode, 'kubemcp', op, c), p = httpRun(raw, mode, 'peer', op, c);
        if (!k || !p) continue;
        const tag = `HTTP ${mode === 'none' ? '' : mode === 'oidc' ? 'OIDC ' : 'bearer '}${opLabel(op)} c=${c}`;
        add('http', `CPU/req ${tag}`, k.server.cpuMsPerRequest, p.server.cpuMsPerRequest, 'ms', c === 8);
        if (op !== 'tools_list' && k.server.cpuMsPerRequest != null && p.server.cpuMsPerRequest) httpCpu.push({ op, c, mode, ratio: k.server.cpuMsPerRequest / p.server.cpuMsPerRequest });
        add('latency', `p50 ${tag}`, k.latencyMs.p50, p.latencyMs.p50, 'ms', false);
        add('latency', `p99 ${tag}`, k.latencyMs.p99, p.latencyMs.p99, 'ms', false);
        add('throughput', `req/s ${tag}`, k.reqPerSec, p.reqPerSec, 'req/s', false);
      }
    }
  }
  if (hk && hp && !hk.skipped && !hp.skipped) {
    add('memory', 'RSS per open SSE stream', hk.kibPerSession, hp.kibPerSession, 'KiB', false);
    add('threads', `threads with ${hk.sessionsOpened} open streams`, hk.withSessions.threads, hp.withSessions.threads, 'threads', false);
  }

  const targets = [];
  if (cpuRatios.length) {
    const worst = cpuRatios.reduce((a, b) => (b.ratio > a.ratio ? b : a));
    const best = cpuRatios.reduce((a, b) => (b.ratio < a.ratio ? b : a));
    targets.push({
      id: 'cpu', what: 'server CPU per tools/call ≤ 1/5 of the peer\'s (every tools/call scenario)', met: worst.ratio <= TARGETS.cpuRatio,
      value: `worst ${round(worst.ratio, 3)} (${opLabel(worst.op)} c=${worst.c}), best ${round(best.ratio, 3)} (${opLabel(best.op)} c=${best.c})`,
      worstOp: worst.op, worstRatio: round(worst.ratio, 4), failingOps: [...new Set(cpuRatios.filter((r) => r.ratio > TARGETS.cpuRatio).map((r) => r.op))], failing: cpuRatios.filter((r) => r.ratio > TARGETS.cpuRatio).map((r) => `${opLabel(r.op)} c=${r.c}: ${round(r.ratio, 3)}`),
    });
  }
  if (httpCpu.length) {
    const worst = httpCpu.reduce((a, b) => (b.ratio > a.ratio ? b : a));
    const best = httpCpu.reduce((a, b) => (b.ratio < a.ratio ? b : a));
    const lbl = (r) => `${opLabel(r.op)} c=${r.c}, auth ${r.mode}`;
    targets.push({
      id: 'cpu-http', what: 'the same over Streamable HTTP (auth none and bearer passthrough)', met: worst.ratio <= TARGETS.cpuRatio,
      value: `worst ${round(worst.ratio, 3)} (${lbl(worst)}), best ${round(best.ratio, 3)} (${lbl(best)})`,
      failing: httpCpu.filter((r) => r.ratio > TARGETS.cpuRatio).map((r) => `${lbl(r)}: ${round(r.ratio, 3)}`),
    });
  }
  if (hk && !hk.skipped && hk.sessionsOpened >= 1000) {
    targets.push({ id: 'threads', what: '1,000 open SSE streams do not take 1,000 threads', met: hk.withSessions.threads < hk.sessionsOpened / 10, value: `${hk.withSessions.threads} threads with ${hk.sessionsOpened} streams (${hk.threadsIdle ?? hk.idleBeforeSessions.threads} idle, peak ${hk.threadsPeakWhileOpening ?? '?'} while opening)` });
  }
  if (idleK && idleP) targets.push({ id: 'rss', what: 'idle RSS ≤ 1/12 of the peer\'s', met: idleK / idleP <= TARGETS.rssRatio, value: `${round(idleK / idleP, 4)} (${round(idleK / 1024, 1)} MiB vs ${round(idleP / 1024, 1)} MiB)` });
  if (su.kubemcp) targets.push({ id: 'startup', what: 'first initialize within 10 ms (median, exec → response)', met: su.kubemcp.medianMs <= TARGETS.startupMs, value: `median ${su.kubemcp.medianMs} ms, p90 ${su.kubemcp.p90Ms} ms` });
  const jv = raw.jwtValidator;
  if (jv && !jv.error) targets.push({ id: 'jwt-seen', what: 'OIDC: an already-seen token costs ≤ 5 µs amortised (issue #5; validator alone)', met: jv.seenUs <= TARGETS.seenTokenUs, value: `${jv.seenUs} µs seen, ${jv.freshUs} µs fresh RS256 (median of ${jv.runs.length} runs)` });
  return { ratios, targets };
}

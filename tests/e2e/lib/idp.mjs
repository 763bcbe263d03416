// The OpenID provider fixture (tests/fixtures/oidc-provider/idp.mjs, panva/oidc-provider on loopback)
// and what the OIDC end-to-end tests share around it: kubemcp's OIDC flags, a free port for the IdP
// (kubemcp must know the issuer before the IdP, which must know kubemcp's URL, runs), tokens from the
// IdP's test hook, and RFC 6750 challenge parsing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { keepLog, repoRoot, stopProcess } from './harness.mjs';

const idpScript = path.join(repoRoot, 'tests/fixtures/oidc-provider/idp.mjs');

/** A loopback port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/**
 * Starts the IdP fixture (extra command-line flags in args, e.g. ['--no-rfc8414']); resolves with its
 * ready line {issuer, port, pid, resources}; stopped by PID when the test ends.
 */
export async function startIdp(t, { port = 0, resources, args = [] }) {
  const child = spawn(process.execPath, [idpScript, '--port', String(port), '--resource', resources.join(','), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; keepLog('idp', child.pid, d); });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`IdP did not start in 30 s: ${stderr}`)), 30000);
    createInterface({ input: child.stdout }).once('line', (line) => { clearTimeout(timer); resolve(JSON.parse(line)); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`IdP exited (${code}): ${stderr}`)); });
  });
  t.after(() => stopProcess(child));
  return { ...ready, child, stderr: () => stderr };
}

/** A token signed by the IdP's own key with whatever claims and header the test asks for (the IdP's test hook). */
export async function mintedToken(idp, body) {
  const res = await fetch(new URL('/__test/mint', idp.issuer), { method: 'POST', body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  return (await res.json()).access_token;
}

/** RFC 6750 challenge parameters: Bearer k="v", k="v" → {k: v}. */
export function challenge(header) {
  assert.ok(header, 'a WWW-Authenticate header');
  assert.match(header, /^Bearer [a-z_]+="/);
  return Object.fromEntries([...header.matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

/** kubemcp as a resource server for issuer, impersonating the token's user towards the cluster. */
export const OIDC_FLAGS = (issuer) => [
  '--require-oauth', '--oidc-issuer-url', issuer, '--oidc-allow-http', '--oidc-scopes', 'mcp:read',
  '--oidc-require-at-jwt',
  '--cluster-auth-mode', 'impersonate',
  '--oidc-username-claim', 'sub', '--oidc-username-prefix', 'oidc:',
  '--oidc-groups-claim', 'groups', '--oidc-groups-prefix', 'oidc:',
  '--log-level', '9',
];

export const initializeBody = JSON.stringify({
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'oidc-e2e', version: '0' } },
});
export const mcpHeaders = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };

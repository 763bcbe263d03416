// Reads every log the e2e suites kept (KUBEMCP_E2E_ARTIFACTS) and fails if any credential of any
// API double used in the run, a private key, or a Secret value of the double appears in one.
// usage: node scripts/scan-logs.mjs DIR
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: scan-logs.mjs DIR');
  process.exit(2);
}
const files = readdirSync(dir);
const secrets = new Map();
for (const f of files.filter((f) => f.startsWith('tokens-') && f.endsWith('.json'))) {
  for (const [name, value] of Object.entries(JSON.parse(readFileSync(path.join(dir, f), 'utf8'))))
    if (typeof value === 'string' && value.length >= 8) secrets.set(value, `${name} token (${f})`);
}
// The double's Secret default/db-credentials, base64 and plain.
secrets.set('czNjcjN0LXZhbHVlLTQy', 'Secret value (base64)');
secrets.set('s3cr3t-value-42', 'Secret value');
const logs = files.filter((f) => f.endsWith('.log'));
let leaks = 0;
let bytes = 0;
for (const f of logs) {
  const text = readFileSync(path.join(dir, f), 'utf8');
  bytes += text.length;
  for (const [secret, what] of secrets) {
    if (text.includes(secret)) {
      leaks++;
      console.log(`LEAK: ${what} appears in ${f}`);
    }
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    leaks++;
    console.log(`LEAK: a private key appears in ${f}`);
  }
}
console.log(`scanned ${logs.length} logs (${bytes} bytes) for ${secrets.size} secrets: ${leaks} leaks`);
if (logs.length === 0 || secrets.size < 3) {
  console.log('nothing to scan: the e2e suites kept no logs or tokens');
  process.exit(1);
}
process.exit(leaks ? 1 : 0);

// `kubemcp token create`: mints a service-account token through the TokenRequest API with the
// user's kubeconfig, and the minted token works against the cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDouble, runKubemcp } from './lib/harness.mjs';

async function apiGet(cluster, token, path) {
  // The double's CA is private: ask it through kubemcp's own client would hide the point, so use
  // node's https with the CA from the double's directory.
  const { request } = await import('node:https');
  const { readFileSync } = await import('node:fs');
  const ca = readFileSync(`${cluster.dir}/ca.crt`);
  return new Promise((resolve, reject) => {
    const req = request(`${cluster.url}${path}`, { ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('kubemcp token create', async (t) => {
  const cluster = await startDouble(t);
  const env = { KUBECONFIG: cluster.kubeconfig };

  await t.test('prints a token that authenticates as the service account', async () => {
    const r = await runKubemcp(['token', 'create', 'mcp-test', '-n', 'default', '--duration', '20m'], env);
    assert.equal(r.code, 0, r.stderr);
    const token = r.stdout.trim();
    assert.equal(token.split('.').length, 3);
    assert.equal(r.stderr.includes(token), false, 'the token must not be logged');
    const pods = await apiGet(cluster, token, '/api/v1/namespaces/default/pods?limit=1');
    assert.equal(pods.status, 200, pods.body);
    const denied = await apiGet(cluster, token, '/api/v1/namespaces/kube-system/pods');
    assert.equal(denied.status, 403);
    assert.match(denied.body, /system:serviceaccount:default:mcp-test/);
  });

  await t.test('-o json adds the expiry, and --audience is passed on', async () => {
    const r = await runKubemcp(['token', 'create', 'mcp-test', '--namespace=default', '-o', 'json', '--audience', 'k8slab'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.serviceAccount, 'mcp-test');
    assert.equal(out.namespace, 'default');
    assert.match(out.expirationTimestamp, /^\d{4}-\d\d-\d\dT/);
    const claims = JSON.parse(Buffer.from(out.token.split('.')[1], 'base64url').toString());
    assert.deepEqual([].concat(claims.aud), ['k8slab']);
  });

  await t.test('--context picks the kubeconfig user, whose RBAC decides', async () => {
    const r = await runKubemcp(['token', 'create', 'mcp-test', '-n', 'default', '--context', 'bob'], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /User "bob" cannot create resource "serviceaccounts\/token"/);
  });

  await t.test('clear errors for an unknown account and bad usage', async () => {
    const missing = await runKubemcp(['token', 'create', 'nobody', '-n', 'default'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /serviceaccounts "nobody" not found/);
    const noName = await runKubemcp(['token', 'create'], env);
    assert.equal(noName.code, 2);
    assert.match(noName.stderr, /name the service account/);
    const badDuration = await runKubemcp(['token', 'create', 'mcp-test', '--duration', 'forever'], env);
    assert.equal(badDuration.code, 2);
    assert.match(badDuration.stderr, /1h, 30m/);
  });
});

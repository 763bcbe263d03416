// The Kubernetes API double: start it in --fast mode, and read its request records (test hook).
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { start, stop } from './children.mjs';

export async function startDouble(node, serverMjs, dir) {
  const child = start(node, [serverMjs, '--port', '0', '--fast', '--dir', dir]);
  let out = '', err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { if (err.length < 20000) err += d; });
  const ready = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`API double not ready in 60 s: ${err.slice(-500)}`)), 60000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) { clearTimeout(t); try { resolve(JSON.parse(out.slice(0, nl))); } catch (e) { reject(e); } }
    });
    child.once('exit', (c) => { clearTimeout(t); reject(new Error(`API double exited (${c}): ${err.slice(-500)}`)); });
  });
  const ca = readFileSync(`${ready.dir}/ca.crt`);
  const hook = (method, path) => new Promise((resolve, reject) => {
    const req = https.request(new URL(path, ready.url), { method, ca, timeout: 10000 }, (res) => {
      let b = ''; res.setEncoding('utf8'); res.on('data', (d) => { b += d; }); res.on('end', () => { try { resolve(JSON.parse(b)); } catch (e) { reject(e); } });
    });
    req.on('error', reject); req.end();
  });
  return {
    ...ready, child, pid: child.pid,
    clearRecords: () => hook('DELETE', '/__double/requests'),
    records: async (limit = 2000) => (await hook('GET', `/__double/requests?limit=${limit}`)).items,
    stop: () => stop(child, 3000),
  };
}

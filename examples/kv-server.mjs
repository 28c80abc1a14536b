// A toy replicated key-value store that shows a StatefulSet's "topology state": ordinal 0 is the
// primary, the others are replicas that find it ONLY by its stable DNS name, never by address.
// When the primary is recreated at a new address, replicas keep following the name; the new primary
// recovers the data from replica 1, which it also finds by name.
import dns from 'node:dns';
import http from 'node:http';

const env = process.env;
const address = env.ORDINAL_ADDRESS ?? '127.0.0.1';
const port = Number(env.PORT ?? 8080);
const ordinal = Number(env.ORDINAL_INDEX ?? 0);
const role = ordinal === 0 ? 'primary' : 'replica';
const peerName = (n) => `${env.ORDINAL_SET}-${n}.${env.ORDINAL_SERVICE_DNS_NAME}`;
const primaryName = peerName(0);

const resolver = new dns.promises.Resolver({ timeout: 500, tries: 2 });
if (env.ORDINAL_DNS_SERVER) resolver.setServers([env.ORDINAL_DNS_SERVER]);

let data = {};
let version = 0;
let ready = false;
let lastPrimaryAddress = null;

async function fetchSnapshot(name) {
  const [peer] = await resolver.resolve4(name);
  const res = await fetch(`http://${peer}:${port}/snapshot`, { signal: AbortSignal.timeout(1000) });
  if (!res.ok) throw new Error(`${name}: HTTP ${res.status}`);
  return { peer, snapshot: await res.json() };
}

async function startPrimary() {
  // Recover what replica 1 holds: a recreated primary must not start empty. Only when replica 1's name
  // does not exist (a new set: the primary comes first) is there nothing to recover. A replica that is
  // slow to answer (a loaded machine) is retried, not taken for absent; after a minute, give up loudly.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const { snapshot } = await fetchSnapshot(peerName(1));
      data = snapshot.data;
      version = snapshot.version;
      console.log(`recovered version ${version} from ${peerName(1)}`);
      break;
    } catch (err) {
      const reason = err.code ?? err.message;
      if (reason === 'ENOTFOUND' || reason === 'ENODATA') {
        console.log(`starting empty: ${peerName(1)} does not exist`);
        break;
      }
      if (Date.now() > deadline) {
        console.log(`starting EMPTY: could not recover from ${peerName(1)} for a minute (${reason})`);
        break;
      }
      console.log(`cannot recover from ${peerName(1)} yet (${reason}), retrying`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  ready = true;
}

async function followPrimary() {
  for (;;) {
    try {
      const { peer, snapshot } = await fetchSnapshot(primaryName);
      if (peer !== lastPrimaryAddress) console.log(`following ${primaryName} at ${peer}`);
      lastPrimaryAddress = peer;
      if (snapshot.version >= version) ({ data, version } = snapshot);
      ready = true;
    } catch (err) {
      console.log(`cannot reach ${primaryName}: ${err.code ?? err.message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const send = (status, value) => res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(value)}\n`);
  const key = req.url.startsWith('/kv/') ? decodeURIComponent(req.url.slice(4)) : undefined;
  if (req.url === '/healthz') return ready ? send(200, { ready }) : send(503, { ready });
  if (req.url === '/snapshot') return send(200, { version, data });
  if (key !== undefined && req.method === 'PUT') {
    if (role !== 'primary') return send(403, { error: `read-only replica: write to ${primaryName}` });
    data = { ...data, [key]: await readBody(req) };
    version += 1;
    return send(200, { key, version });
  }
  if (key !== undefined) return key in data ? send(200, { key, value: data[key], version }) : send(404, { error: `no key ${key}` });
  send(200, { name: env.ORDINAL_NAME, role, address, primary: primaryName, primaryAddress: lastPrimaryAddress, version, keys: Object.keys(data) });
});

server.listen(port, address, () => {
  console.log(`${env.ORDINAL_NAME} (${role}) listening on http://${address}:${port}`);
  if (role === 'primary') void startPrimary();
  else void followPrimary();
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

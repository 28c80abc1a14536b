// A tiny instance program for the web example: it binds the address Ordinal gives it and answers
// with its own identity, so you can see which incarnation a DNS name leads to.
import http from 'node:http';

const address = process.env.ORDINAL_ADDRESS ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);
const identity = {
  name: process.env.ORDINAL_NAME,
  ordinal: Number(process.env.ORDINAL_INDEX),
  address,
  dnsName: process.env.ORDINAL_DNS_NAME,
  incarnation: Number(process.env.ORDINAL_INCARNATION),
  greeting: process.env.GREETING ?? 'hello',
  pid: process.pid,
  startedAt: new Date().toISOString(),
};

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  if (req.url === '/pid') {
    // For the demo: `kill -9 $(curl -s http://<address>:8080/pid)`.
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`${process.pid}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(identity)}\n`);
});

server.listen(port, address, () => console.log(`${identity.name} listening on http://${address}:${port}`));
// Stop accepting connections on SIGTERM and exit once the open ones are done.
process.on('SIGTERM', () => server.close(() => process.exit(0)));

#!/usr/bin/env node
// The bench's instance program: ready the moment it can be, an HTTP server on ORDINAL_ADDRESS, port
// BENCH_PORT (default 8080). GET / answers {name, incarnation, pid}; every other path answers "ok".
// With BENCH_EVENTS=FILE it appends one JSON line once it listens, its own view of its start:
//   {name, incarnation, pid, address, start, listening}
// `start` is the process's own start (performance.timeOrigin: when Node began, right after exec),
// `listening` when its socket was bound; both epoch milliseconds.
import { appendFileSync } from 'node:fs';
import http from 'node:http';

const start = performance.timeOrigin;
const name = process.env.ORDINAL_NAME ?? 'instant';
const incarnation = Number(process.env.ORDINAL_INCARNATION ?? 0);
const address = process.env.ORDINAL_ADDRESS ?? '127.0.0.1';
const port = Number(process.env.BENCH_PORT ?? 8080);
const identity = JSON.stringify({ name, incarnation, pid: process.pid });

const server = http.createServer((req, res) => {
  if (req.url === '/') res.writeHead(200, { 'content-type': 'application/json' }).end(identity);
  else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
});
server.listen(port, address, () => {
  const listening = performance.timeOrigin + performance.now();
  const file = process.env.BENCH_EVENTS;
  if (file) appendFileSync(file, `${JSON.stringify({ name, incarnation, pid: process.pid, address, start, listening })}\n`);
});
process.on('SIGTERM', () => process.exit(0));

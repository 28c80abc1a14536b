// A fault-injecting HTTP proxy in front of moto_server, for the Route 53 tests. moto is lenient where
// Route 53 is strict (it accepts a DELETE with stale values, lets CREATE duplicate a record set, never
// throttles, reports every change INSYNC at once: getmoto/moto#5059, #5743). The proxy puts that back:
// - at configurable rates, answers ChangeResourceRecordSets with `Throttling` or `PriorRequestNotComplete`;
// - optionally enforces Route 53's account token bucket on every request;
// - gives each change its own id and reports it PENDING for the first N GetChange polls;
// - rejects, as Route 53 does, with InvalidChangeBatch: a DELETE whose TTL or values differ from the
//   current record set (or of one that does not exist), and a CREATE of an existing name and type
//   (and, having checked that, sends CREATE to moto as UPSERT: moto wrongly rejects re-creating a
//   record identical to one created and deleted before);
// - counts requests per operation and keeps every change batch it let through;
// - when asked (`log`), keeps a timed record of every request and how it was answered (the bench).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListResourceRecordSetsCommand, Route53Client, type ResourceRecordSet } from '@aws-sdk/client-route-53';

export interface Route53ProxyOptions {
  /** Probability (0..1) that a ChangeResourceRecordSets is answered `Throttling` (400, Rate exceeded). */
  throttleRate?: number;
  /** Probability (0..1) that a ChangeResourceRecordSets is answered `PriorRequestNotComplete`. */
  priorRequestRate?: number;
  /** GetChange reports each change PENDING for this many polls before INSYNC. */
  pendingPolls?: number;
  /** Route 53's account token bucket over every request (e.g. burst 50, 10 per second). */
  tokenBucket?: { burst: number; perSecond: number };
  /** Reject what Route 53 rejects and moto accepts (default true). */
  strict?: boolean;
  /** Runs before a change batch is checked and forwarded: e.g. someone else's change sneaking in. */
  beforeChange?: (zoneId: string, changes: ProxiedChange[]) => Promise<void> | void;
  /**
   * Changes Route 53 wrongly refuses: a CREATE it answers "already exists" and a DELETE "not found",
   * whatever the zone holds (a fault no listing explains).
   */
  falselyRejects?: (change: ProxiedChange) => boolean;
  /** Answer every request with this error (e.g. AccessDenied, InvalidClientTokenId). */
  forceError?: { code: string; message: string; status?: number };
  /** Seed of the fault dice, for reproducible runs. */
  seed?: number;
  /** Keep a timed record of every request in `requests` (default false). */
  log?: boolean;
}

/** One request as the proxy saw it (with `log`). */
export interface ProxiedRequest {
  operation: string;
  /** Epoch ms: received, and answered. */
  start: number;
  end: number;
  status: number;
  /** The error code the answer carried (the proxy's own, or moto's), e.g. Throttling. */
  code?: string;
}

export interface ProxiedChange {
  action: string;
  name: string;
  type: string;
  ttl?: number;
  values: string[];
}

export interface Route53ProxyCounts {
  /** Requests per operation (ChangeResourceRecordSets, ListResourceRecordSets, GetChange, ...). */
  requests: Record<string, number>;
  throttled: number;
  priorRequestNotComplete: number;
  /** Change batches rejected with InvalidChangeBatch by the strictness checks. */
  rejected: number;
  /** GetChange answers rewritten to PENDING. */
  pending: number;
}

export interface Route53Proxy {
  /** 'http://127.0.0.1:PORT': the endpoint to give the SDK. */
  endpoint: string;
  counts: Route53ProxyCounts;
  /** Change batches that reached moto, in order. */
  batches: Array<{ zoneId: string; changes: ProxiedChange[] }>;
  /** Every request, with `log` on. */
  requests: ProxiedRequest[];
  /** Change the fault settings while running. */
  configure(options: Route53ProxyOptions): void;
  resetCounts(): void;
  close(): Promise<void>;
}

export async function startRoute53Proxy(target: string, initial: Route53ProxyOptions = {}): Promise<Route53Proxy> {
  let options: Route53ProxyOptions = { strict: true, ...initial };
  let random = mulberry32(options.seed ?? 1);
  let tokens = options.tokenBucket?.burst ?? 0;
  let refilledAt = Date.now();
  const counts: Route53ProxyCounts = { requests: {}, throttled: 0, priorRequestNotComplete: 0, rejected: 0, pending: 0 };
  const batches: Route53Proxy['batches'] = [];
  const requests: ProxiedRequest[] = [];
  /** Proxy change id -> GetChange polls so far. */
  const changes = new Map<string, number>();
  // moto itself, to read the current records for the strictness checks.
  const moto = new Route53Client({ endpoint: target, region: 'us-east-1', credentials: { accessKeyId: 'proxy', secretAccessKey: 'proxy' } });
  // Change batches are checked and applied one at a time, so a check cannot race another batch.
  let changeQueue: Promise<unknown> = Promise.resolve();

  const server = http.createServer((req, res) => {
    if (options.log) logRequest(req, res);
    void handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });

  /** Records the request once its answer is sent: operation, times, status and error code. */
  function logRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const start = Date.now();
    const operation = operationOf(req.method ?? 'GET', new URL(req.url ?? '/', 'http://proxy').pathname);
    const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
    res.end = ((...args: unknown[]) => {
      const chunk = args[0];
      const body = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : typeof chunk === 'string' ? chunk : '';
      const code = res.statusCode >= 400 ? /<Code>([^<]*)<\/Code>/.exec(body)?.[1] : undefined;
      requests.push({ operation, start, end: Date.now(), status: res.statusCode, ...(code ? { code } : {}) });
      return end(...args);
    }) as typeof res.end;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://proxy');
    const operation = operationOf(req.method ?? 'GET', url.pathname);
    counts.requests[operation] = (counts.requests[operation] ?? 0) + 1;

    if (options.forceError) {
      const { code, message, status } = options.forceError;
      return sendError(res, code, message, status);
    }
    if (options.tokenBucket && !takeToken()) {
      counts.throttled++;
      return sendError(res, 'Throttling', 'Rate exceeded');
    }

    if (operation === 'GetChange') {
      const id = url.pathname.split('/').pop()!;
      const polls = changes.get(id);
      if (polls !== undefined) {
        changes.set(id, polls + 1);
        const status = polls < (options.pendingPolls ?? 0) ? 'PENDING' : 'INSYNC';
        if (status === 'PENDING') counts.pending++;
        return sendXml(res, 200, `<GetChangeResponse xmlns="${NS}"><ChangeInfo><Id>/change/${id}</Id><Status>${status}</Status><SubmittedAt>${new Date().toISOString()}</SubmittedAt></ChangeInfo></GetChangeResponse>`);
      }
      return forward(req, res, body);
    }

    if (operation !== 'ChangeResourceRecordSets') return forward(req, res, body);

    const roll = random();
    if (roll < (options.throttleRate ?? 0)) {
      counts.throttled++;
      return sendError(res, 'Throttling', 'Rate exceeded');
    }
    if (roll < (options.throttleRate ?? 0) + (options.priorRequestRate ?? 0)) {
      counts.priorRequestNotComplete++;
      return sendError(res, 'PriorRequestNotComplete', 'The request was rejected because Route 53 was still processing a prior request.');
    }

    const zoneId = url.pathname.split('/')[3];
    const parsed = parseChanges(body.toString('utf8'));
    const run = changeQueue.then(async () => {
      await options.beforeChange?.(zoneId, parsed);
      if (options.strict !== false) {
        const problems = [...limits(parsed), ...falseProblems(parsed, options.falselyRejects), ...check(await listAll(zoneId), parsed)];
        if (problems.length > 0) {
          counts.rejected++;
          // Route 53's current shape: a standard error whose message lists every problem in brackets.
          return sendError(res, 'InvalidChangeBatch', `[${problems.join(', ')}]`);
        }
      }
      const answer = options.strict !== false ? await forwardAsUpserts(req, body) : await request(req, body);
      if (answer.status === 200) {
        batches.push({ zoneId, changes: parsed });
        // moto answers every change with the same id; give each its own, to report PENDING per change.
        const id = `CPROXY${changes.size + 1}${randomUUID().slice(0, 8).toUpperCase()}`;
        changes.set(id, 0);
        answer.body = Buffer.from(answer.body.toString('utf8').replace(/<Id>[^<]*<\/Id>/, `<Id>/change/${id}</Id>`).replace(/<Status>INSYNC<\/Status>/, '<Status>PENDING</Status>'));
      }
      send(res, answer);
    });
    changeQueue = run.catch(() => undefined);
    await run;
  }

  function takeToken(): boolean {
    const bucket = options.tokenBucket!;
    const now = Date.now();
    tokens = Math.min(bucket.burst, tokens + ((now - refilledAt) / 1000) * bucket.perSecond);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }

  async function listAll(zoneId: string): Promise<ResourceRecordSet[]> {
    const all: ResourceRecordSet[] = [];
    let start: { StartRecordName?: string; StartRecordType?: ResourceRecordSet['Type'] } = {};
    for (;;) {
      const page = await moto.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start }));
      all.push(...(page.ResourceRecordSets ?? []));
      if (!page.IsTruncated) return all;
      start = { StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType };
    }
  }

  /**
   * moto rejects a CREATE identical to any earlier one in the zone's journal, even of a record deleted
   * since (its existence check lists *from* the name). Having done Route 53's checks above, send CREATE
   * as UPSERT, so moto's quirk cannot fail what Route 53 accepts; and since moto counts UPSERT twice
   * against the 1,000-record limit, in as many requests as that takes (the batch was checked whole).
   */
  async function forwardAsUpserts(req: http.IncomingMessage, body: Buffer): ReturnType<typeof request> {
    const text = body.toString('utf8');
    const chunks: string[][] = [[]];
    let size = 0;
    for (const change of text.match(/<Change>[\s\S]*?<\/Change>/g) ?? []) {
      const values = change.match(/<Value>/g)?.length ?? 1;
      // A record set too large to count twice stays a CREATE (moto's quirk needs an earlier twin anyway).
      const upsert = 2 * values <= 1000;
      const records = upsert ? 2 * values : values;
      if (size + records > 1000 && chunks[chunks.length - 1].length > 0) {
        chunks.push([]);
        size = 0;
      }
      chunks[chunks.length - 1].push(upsert ? change.replace('<Action>CREATE</Action>', '<Action>UPSERT</Action>') : change);
      size += records;
    }
    let answer: Awaited<ReturnType<typeof request>> | undefined;
    for (const chunk of chunks) {
      answer = await request(req, Buffer.from(text.replace(/<Changes>[\s\S]*<\/Changes>/, `<Changes>${chunk.join('')}</Changes>`)));
      if (answer.status !== 200) return answer;
    }
    return answer!;
  }

  async function forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    send(res, await request(req, body));
  }

  function request(req: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    const to = new URL(req.url ?? '/', target);
    return new Promise((resolve, reject) => {
      const out = http.request(
        to,
        { method: req.method, headers: { ...req.headers, host: to.host, 'content-length': String(body.length) } },
        (answer) => {
          readBody(answer).then((b) => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: b }), reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    batches,
    requests,
    configure(next) {
      options = { ...options, ...next };
      if (next.seed !== undefined) random = mulberry32(next.seed);
      if (next.tokenBucket) {
        tokens = next.tokenBucket.burst;
        refilledAt = Date.now();
      }
    },
    resetCounts() {
      counts.requests = {};
      counts.throttled = counts.priorRequestNotComplete = counts.rejected = counts.pending = 0;
      batches.length = 0;
      requests.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      moto.destroy();
    },
  };
}

/** Route 53's limits per request: 1,000 records and 32,000 value characters, an UPSERT counting twice. */
function limits(changes: ProxiedChange[]): string[] {
  let records = 0;
  let chars = 0;
  for (const change of changes) {
    const factor = change.action === 'UPSERT' ? 2 : 1;
    records += factor * change.values.length;
    chars += factor * change.values.join('').length;
  }
  const problems: string[] = [];
  if (records > 1000) problems.push('Number of records limit of 1000 exceeded.');
  if (chars > 32_000) problems.push('Number of characters limit of 32000 exceeded.');
  return problems;
}

/** The rejections `falselyRejects` asks for, in Route 53's words. */
function falseProblems(changes: ProxiedChange[], falselyRejects: Route53ProxyOptions['falselyRejects']): string[] {
  if (!falselyRejects) return [];
  return changes
    .filter((c) => (c.action === 'CREATE' || c.action === 'DELETE') && falselyRejects(c))
    .map((c) => `Tried to ${c.action === 'CREATE' ? 'create' : 'delete'} resource record set [name='${fqdn(c.name)}', type='${c.type}'] but ${c.action === 'CREATE' ? 'it already exists' : 'it was not found'}`);
}

/** Route 53's checks that moto skips, applied in order as Route 53 does; the messages are AWS's. */
function check(current: ResourceRecordSet[], changes: ProxiedChange[]): string[] {
  const zone = new Map<string, { ttl?: number; values: string[] }>();
  for (const r of current) {
    zone.set(key(r.Name ?? '', r.Type ?? ''), { ttl: r.TTL, values: (r.ResourceRecords ?? []).map((v) => v.Value ?? '') });
  }
  const problems: string[] = [];
  for (const change of changes) {
    const k = key(change.name, change.type);
    const where = `[name='${fqdn(change.name)}', type='${change.type}']`;
    const existing = zone.get(k);
    if (change.action === 'CREATE') {
      if (existing) problems.push(`Tried to create resource record set ${where} but it already exists`);
      else zone.set(k, { ttl: change.ttl, values: change.values });
    } else if (change.action === 'DELETE') {
      if (!existing) problems.push(`Tried to delete resource record set ${where} but it was not found`);
      else if (existing.ttl !== change.ttl || !sameValues(change.type, existing.values, change.values)) {
        problems.push(`Tried to delete resource record set ${where} but the values provided do not match the current values`);
      } else zone.delete(k);
    } else if (change.action === 'UPSERT') {
      zone.set(k, { ttl: change.ttl, values: change.values });
    }
  }
  return problems;
}

function sameValues(type: string, a: string[], b: string[]): boolean {
  const norm = (values: string[]) => values.map((v) => normalizeValue(type, v)).sort();
  const x = norm(a);
  const y = norm(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function normalizeValue(type: string, value: string): string {
  if (type !== 'SRV' && type !== 'CNAME') return value.trim();
  return value.trim().toLowerCase().replace(/\.$/, '');
}

function key(name: string, type: string): string {
  return `${name.toLowerCase().replace(/\.$/, '')}|${type}`;
}

function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

function parseChanges(xml: string): ProxiedChange[] {
  return [...xml.matchAll(/<Change>([\s\S]*?)<\/Change>/g)].map((m) => {
    const ttl = tag(m[1], 'TTL');
    return {
      action: tag(m[1], 'Action') ?? '',
      name: decodeXml(tag(m[1], 'Name') ?? ''),
      type: tag(m[1], 'Type') ?? '',
      ttl: ttl === undefined ? undefined : Number(ttl),
      values: [...m[1].matchAll(/<Value>([\s\S]*?)<\/Value>/g)].map((v) => decodeXml(v[1])),
    };
  });
}

function tag(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1];
}

function operationOf(method: string, path: string): string {
  if (/\/hostedzone\/[^/]+\/rrset\/?$/.test(path)) return method === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets';
  if (/\/change\/[^/]+$/.test(path)) return 'GetChange';
  if (/\/hostedzonesbyname$/.test(path)) return 'ListHostedZonesByName';
  if (/\/hostedzone\/[^/]+$/.test(path)) return method === 'GET' ? 'GetHostedZone' : `${method} hostedzone`;
  if (/\/hostedzone\/?$/.test(path)) return method === 'POST' ? 'CreateHostedZone' : 'ListHostedZones';
  return `${method} ${path}`;
}

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';

function sendError(res: http.ServerResponse, code: string, message: string, status = 400): void {
  sendXml(res, status, `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
}

function sendXml(res: http.ServerResponse, status: number, xml: string): void {
  send(res, { status, headers: { 'content-type': 'text/xml' }, body: Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`) });
}

function send(res: http.ServerResponse, answer: { status: number; headers: http.IncomingHttpHeaders; body: Buffer }): void {
  const headers = { ...answer.headers, 'content-length': String(answer.body.length) };
  delete headers['transfer-encoding'];
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}

function readBody(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function decodeXml(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCharCode(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** A small seeded PRNG: fault runs are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

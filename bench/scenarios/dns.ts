// Scenario 6, the embedded DNS server: queries per second and latency for one per-instance name under
// dnsperf's load (Debian's dnsperf, the same tool, flags and query file for both servers), against
// dnsmasq serving the same A records on another port. The records are what Ordinal publishes for 50
// sets of 3 instances, written to the store by the same code the worker uses. Runs alternate between
// the servers; medians of the runs. dnsperf -v reports every query's latency, for the p99. Ordinal runs
// as `ordinal dns` does by default: one process answering UDP per CPU (up to 4), while dnsmasq is
// single-threaded; the result says how many.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { desiredRecords, type RecordSet } from '../../core/dns-records.js';
import { DnsStore } from '../../dns/store.js';
import { freePort, type ManagedProcess } from '../../infra/child-processes.js';
import { dataPaths } from '../../infra/config.js';
import type { BenchContext } from '../lib/context.js';
import { queryA } from '../lib/dns-client.js';
import { REPO_ROOT, startNodeScript, startProcess } from '../lib/procs.js';
import { row, type ScenarioResult } from '../lib/report.js';
import { median, percentile } from '../lib/stats.js';

const ZONE = 'ordinal.internal';
const SETS = 50;
const INSTANCES = 3;
/** Queries in flight (dnsperf -q); dnsperf's default. */
const OUTSTANDING = 100;

interface Load {
  qps: number;
  p50: number;
  p99: number;
  lost: number;
  completed: number;
}

export function findDnsTools(): { dnsperf?: string; dnsmasq?: string } {
  const find = (name: string) => {
    for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin']) {
      const file = path.join(dir, name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return file;
      } catch {
        // next
      }
    }
    return undefined;
  };
  return { dnsperf: find('dnsperf'), dnsmasq: find('dnsmasq') };
}

/** dnsperf and dnsmasq from Debian's packages, installed when missing and this is root on Debian. */
function ensureDnsTools(ctx: BenchContext): { dnsperf: string; dnsmasq: string } {
  let tools = findDnsTools();
  if ((!tools.dnsperf || !tools.dnsmasq) && process.getuid?.() === 0 && fs.existsSync('/usr/bin/apt-get')) {
    ctx.log('installing dnsperf and dnsmasq from Debian (apt-get install dnsperf dnsmasq-base)');
    const install = () => execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'dnsperf', 'dnsmasq-base'], { stdio: 'ignore', timeout: 300_000 });
    try {
      install();
    } catch {
      execFileSync('apt-get', ['update'], { stdio: 'ignore', timeout: 300_000 });
      install();
    }
    tools = findDnsTools();
  }
  if (!tools.dnsperf || !tools.dnsmasq) {
    throw new Error('scenario dns needs dnsperf and dnsmasq: apt-get install dnsperf dnsmasq-base (Debian), then run it again');
  }
  return { dnsperf: tools.dnsperf, dnsmasq: tools.dnsmasq };
}

export async function dnsScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { dnsSeconds, repeats } = ctx.options;
  const tools = ensureDnsTools(ctx);
  const dir = path.join(ctx.tmp, 'dns');
  fs.mkdirSync(dir, { recursive: true });

  // The records Ordinal would publish for SETS sets of INSTANCES Ready instances.
  const pool = ctx.nextPool().split('.').slice(0, 2).join('.');
  const all: RecordSet[] = [];
  const store = DnsStore.open(dataPaths(dir).dnsDb, ZONE);
  try {
    for (let s = 0; s < SETS; s++) {
      const set = `db${s}`;
      const records = desiredRecords({
        set,
        serviceName: set,
        zone: ZONE,
        ttl: 5,
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        instances: Array.from({ length: INSTANCES }, (_, i) => ({ ordinal: i, address: `${pool}.${s}.${i + 1}` })),
      });
      store.replaceSetRecords(set, ZONE, records);
      all.push(...records);
    }
  } finally {
    store.close();
  }
  const question = `db7-1.db7.${ZONE}`;
  const expected = all.find((r) => r.name === question && r.type === 'A')!.values;

  // dnsmasq: the same A records (per instance and per service), nothing else.
  const conf = path.join(dir, 'dnsmasq.conf');
  fs.writeFileSync(
    conf,
    all
      .filter((r) => r.type === 'A')
      .flatMap((r) => r.values.map((v) => `host-record=${r.name},${v},${r.ttl}`))
      .join('\n') + '\n',
  );
  const embeddedPort = await freePort();
  const dnsmasqPort = await freePort();
  const procs: ManagedProcess[] = [];
  const runs: { embedded: Load[]; dnsmasq: Load[] } = { embedded: [], dnsmasq: [] };
  let receivers = 1;
  try {
    const embedded = await startNodeScript('embedded dns', path.join(REPO_ROOT, 'bin/ordinal.js'), ['dns'], {
      env: { ORDINAL_DATA_DIR: dir, ORDINAL_DNS_HOST: '127.0.0.1', ORDINAL_DNS_PORT: String(embeddedPort), ORDINAL_DNS_ZONE: ZONE, ORDINAL_LOG_LEVEL: 'warn' },
      logFile: path.join(ctx.tmp, 'logs/dns-embedded.log'),
      ready: /DNS server on/,
      // With --profile: the server and its receiver processes (which inherit the flags), a file each.
      nodeArgs: ctx.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ctx.profileDir, 'dns-embedded')}`] : [],
    });
    procs.push(embedded);
    // The ready line says how many processes answer UDP when more than one does.
    receivers = Number(/(\d+) processes answering UDP/.exec(embedded.output.text())?.[1] ?? 1);
    procs.push(
      await startProcess(
        'dnsmasq',
        tools.dnsmasq,
        [
          '--keep-in-foreground',
          `--conf-file=${conf}`,
          '--no-resolv',
          '--no-hosts',
          '--no-negcache',
          `--port=${dnsmasqPort}`,
          '--listen-address=127.0.0.1',
          '--bind-interfaces',
          '--pid-file=',
          '--log-facility=-',
        ],
        { logFile: path.join(ctx.tmp, 'logs/dnsmasq.log'), ready: /started, version/ },
      ),
    );
    const ports = { embedded: embeddedPort, dnsmasq: dnsmasqPort };
    for (const [server, port] of Object.entries(ports)) {
      const answer = await queryA(port, question, 2_000);
      if (answer.addresses.join() !== expected.join()) {
        throw new Error(`${server} answers ${question} with [${answer.addresses}] (${answer.rcode}), expected [${expected}]`);
      }
    }
    const queries = path.join(dir, 'queries.txt');
    fs.writeFileSync(queries, `${question} A\n`);

    await dnsperf(tools.dnsperf, embeddedPort, queries, 1, dir); // warm-up (JIT)
    for (let rep = 0; rep < repeats; rep++) {
      for (const server of ['embedded', 'dnsmasq'] as const) {
        const r = await dnsperf(tools.dnsperf, ports[server], queries, dnsSeconds, dir);
        runs[server].push(r);
        ctx.log(`dns ${server} ${rep + 1}/${repeats}: ${r.qps.toFixed(0)} queries/s, p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms, lost ${r.lost}`);
      }
    }
  } finally {
    await Promise.allSettled(procs.map((p) => p.stop(5_000)));
  }
  const pick = (server: 'embedded' | 'dnsmasq', field: keyof Load) => median(runs[server].map((r) => r[field]));
  const qps = pick('embedded', 'qps');
  const baseQps = pick('dnsmasq', 'qps');
  const p99 = pick('embedded', 'p99');
  const baseP99 = pick('dnsmasq', 'p99');
  return {
    rows: [
      row({
        name: 'dns: queries per second, per-instance name',
        value: qps,
        unit: 'q/s',
        baseline: baseQps,
        baselineLabel: 'dnsmasq',
        target: '>= 1.0 x dnsmasq',
        met: qps / baseQps >= 1.0,
        note: `${receivers} Ordinal processes answering UDP (ORDINAL_DNS_RECEIVERS), dnsmasq single-threaded`,
      }),
      row({
        name: 'dns: latency p99 under that load',
        value: p99,
        unit: 'ms',
        baseline: baseP99,
        baselineLabel: 'dnsmasq',
        target: "<= 1.5 x dnsmasq's",
        met: p99 / baseP99 <= 1.5,
        note: `${OUTSTANDING} queries in flight`,
      }),
    ],
    details: { question, records: all.length, outstanding: OUTSTANDING, seconds: dnsSeconds, receivers, runs },
  };
}

/** One dnsperf run; latencies from its per-query lines (-v). */
async function dnsperf(bin: string, port: number, queries: string, seconds: number, dir: string): Promise<Load> {
  const out = path.join(dir, 'dnsperf.out');
  await new Promise<void>((resolve, reject) => {
    const fd = fs.openSync(out, 'w');
    const child = spawn(bin, ['-s', '127.0.0.1', '-p', String(port), '-d', queries, '-l', String(seconds), '-q', String(OUTSTANDING), '-v'], {
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`dnsperf exited with ${code}: ${fs.readFileSync(out, 'utf8').slice(-2000)}`))));
  });
  const latencies: number[] = [];
  let qps = Number.NaN;
  let lost = 0;
  let completed = 0;
  const lines = readline.createInterface({ input: fs.createReadStream(out, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.startsWith('> ')) {
      const seconds = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(seconds)) latencies.push(seconds * 1000);
    } else if (line.includes('Queries per second:')) {
      qps = Number(line.split(':')[1]);
    } else if (line.includes('Queries lost:')) {
      lost = Number(/Queries lost:\s+(\d+)/.exec(line)?.[1] ?? 0);
    } else if (line.includes('Queries completed:')) {
      completed = Number(/Queries completed:\s+(\d+)/.exec(line)?.[1] ?? 0);
    }
  }
  fs.rmSync(out, { force: true });
  return { qps, p50: percentile(latencies, 50), p99: percentile(latencies, 99), lost, completed };
}

// Fuzzing the HTTP API from its own OpenAPI document with schemathesis (PyPI, installed into .tools/ by
// `npm run tools:install`), against the real stack: the real API server (bearer tokens enabled) over
// the real Temporal dev server and worker, with two Ready sets whose instances run, so reads return
// real sets, instances, revisions and logs. Zero 5xx, zero responses outside the document (status,
// content type, headers, body schema), zero schema-valid reads refused, zero invalid inputs accepted.
//
// The fuzzer must not start arbitrary processes: a manifest it generates could be valid and name any
// program. So it gets two runs with different powers:
//   1. reads (every GET, positive and negative data, every check): the set names and ordinals are
//      drawn half of the time from the real sets (a schemathesis dictionary), so reads hit real data;
//   2. changes (PUT, PATCH, DELETE, POST) with invalid data only (--mode negative): their validation
//      (bodies, names, ordinals, If-Match, media types, methods) is fuzzed, and every case must be
//      refused before anything reaches Temporal. This run never sees a real set name (it does no GET,
//      and schemathesis keeps nothing between runs: --generation-database none), so even a case it
//      got wrong could only name a set that does not exist.
// Behind both, the API server's sets are wrapped in a tripwire: any apply, and any change to a real
// set, is refused (409) and recorded, and the test fails on it. The examples and stateful phases are
// off for changes (they send valid requests by design); the stateful phase is off for reads too (its
// links start from PUT).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SetsPort } from '../../api/sets-port.js';
import { SetError } from '../../api/sets.js';
import type { SetView } from '../../core/status.js';
import { run } from '../../infra/child-processes.js';
import { createToken } from '../../infra/tokens.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { fixtureManifest, isReady, waitForSet } from '../harness/sets.js';
import { findSchemathesis } from '../tools/schemathesis.js';

/** Fixed, so a failure is reproducible with the same command (printed with the report). */
const SEED = 20251125;
/** Each run is bounded in examples per operation and in time; both fit ~2 minutes on 2 loaded cores. */
const MAX_EXAMPLES = { reads: 40, changes: 30 };
const MAX_TIME_SECONDS = { reads: 40, changes: 35 };

/** Refuses (409) and records every change the fuzzer must never make; lets the rest through. */
class Tripwire implements SetsPort {
  readonly tripped: string[] = [];

  constructor(
    private readonly inner: SetsPort,
    private readonly realSets: ReadonlySet<string>,
  ) {}

  async apply(name: string, manifest: unknown): Promise<never> {
    return this.trip(`apply ${name}: ${JSON.stringify(manifest).slice(0, 300)}`);
  }
  /** A dry run changes nothing: it goes through to the real sets (the fuzzer checks it leaves them as they were). */
  async previewApply(name: string, manifest: unknown, opts?: { expectedGeneration?: number; requestedBy?: string }) {
    return this.inner.previewApply(name, manifest, opts);
  }
  /** A rollout preview changes nothing either: it goes through as well. */
  async previewRollout(name: string, manifest: unknown, opts?: { expectedGeneration?: number; requestedBy?: string }) {
    return this.inner.previewRollout(name, manifest, opts);
  }
  async get(name: string) {
    return this.inner.get(name);
  }
  async list() {
    return this.inner.list();
  }
  async delete(name: string, requestedBy?: string) {
    return this.realSets.has(name) ? this.trip(`delete ${name}`) : this.inner.delete(name, requestedBy);
  }
  async deleteInstance(name: string, ordinal: number, requestedBy?: string) {
    return this.realSets.has(name) ? this.trip(`delete instance ${name}-${ordinal}`) : this.inner.deleteInstance(name, ordinal, requestedBy);
  }
  async revisions(name: string) {
    return this.inner.revisions(name);
  }
  async events(name: string, since?: number) {
    return this.inner.events(name, since);
  }
  async cordon(name: string, ordinal: number, cordoned: boolean, requestedBy?: string) {
    return this.realSets.has(name) ? this.trip(`cordon ${name}-${ordinal} ${cordoned}`) : this.inner.cordon(name, ordinal, cordoned, requestedBy);
  }
  async healthy() {
    return this.inner.healthy();
  }

  private trip(what: string): never {
    this.tripped.push(what);
    throw new SetError('Conflict', 'refused by the fuzz test: this change must never reach Temporal');
  }
}

let ordinal: TestOrdinal;
let tripwire: Tripwire;
let apiUrl: string;
let tmp: string;
let schemathesis: string;
let token: string;
const names = [uniqueName('fuzz-a'), uniqueName('fuzz-b')];
const before = new Map<string, SetView>();

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-fuzz-'));
  [ordinal, schemathesis] = await Promise.all([startTestOrdinal(), findSchemathesis()]);
  // Two real sets (applied directly, not through the fuzzed API), Ready, with logs.
  await Promise.all(
    names.map((name, i) => ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2 - i, args: ['--say', `hello from ${name}`] }), { requestedBy: 'test' })),
  );
  for (const name of names) before.set(name, await waitForSet(ordinal.sets, name, (view) => isReady(view), { message: `${name} Ready` }));

  const tokensFile = path.join(tmp, 'tokens.json');
  token = createToken(tokensFile, 'fuzzer', 'write').token;
  tripwire = new Tripwire(ordinal.sets, new Set(names));
  apiUrl = (await ordinal.startApi({ auth: { tokensFile, required: true }, sets: tripwire })).url;
});

afterAll(async () => {
  await ordinal?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** One schemathesis run against the API's document; its exit code and report. */
async function fuzz(kind: 'reads' | 'changes', config: string, args: string[]): Promise<{ code: number | null; report: string }> {
  const configFile = path.join(tmp, `${kind}.toml`);
  // The token goes through the environment, not argv (schemathesis resolves ${...} in its config).
  fs.writeFileSync(configFile, `headers = { Authorization = "Bearer \${ORDINAL_FUZZ_TOKEN}" }\n${config}`);
  const argv = [
    '--config-file',
    configFile,
    'run',
    `${apiUrl}/openapi.json`,
    '--checks',
    'all',
    '--max-examples',
    String(MAX_EXAMPLES[kind]),
    '--max-time',
    String(MAX_TIME_SECONDS[kind]),
    '--seed',
    String(SEED),
    '--workers',
    '1',
    '--request-timeout',
    '30',
    // Hypothesis' own health checks judge data generation speed on a loaded machine, not the API.
    '--suppress-health-check',
    'all',
    '--generation-database',
    'none',
    '--no-color',
    ...args,
  ];
  const result = await run(schemathesis, argv, {
    cwd: tmp,
    env: { ...process.env, ORDINAL_FUZZ_TOKEN: token, NO_COLOR: '1', PYTHONUNBUFFERED: '1' },
    timeoutMs: (MAX_TIME_SECONDS[kind] + 60) * 1000,
  });
  const report = `schemathesis ${argv.join(' ')}\n(exit ${result.code})\n${result.output}`;
  if (process.env.ORDINAL_TEST_VERBOSE || result.code !== 0) process.stderr.write(`${report}\n`);
  return { code: result.code, report };
}

describe('schemathesis against the real API', () => {
  it('reads: no 5xx, every response as documented, on real sets, instances, revisions and logs', async () => {
    const { code, report } = await fuzz(
      'reads',
      [
        '[dictionaries.sets]',
        `values = ${JSON.stringify(names)}`,
        '[dictionaries.ordinals]',
        'values = ["0", "1"]',
        '[parameters]',
        '"path.name" = { dictionary = "sets", probability = 0.5 }',
        '"path.ordinal" = { dictionary = "ordinals", probability = 0.5 }',
        '',
      ].join('\n'),
      // The watch stream never ends by itself (and this API, without a watch hub, answers it 501 as on
      // Lambda): it is tested in test/e2e/watch.test.ts instead.
      ['--include-method', 'GET', '--exclude-path-regex', '/watch$', '--phases', 'examples,coverage,fuzzing'],
    );
    expect(code, report).toBe(0);
    expect(report).toMatch(/No issues found/);
    expect(tripwire.tripped).toEqual([]);
  }, 180_000);

  it('changes with invalid input: each refused with a 4xx before it reaches Temporal; nothing changed', async () => {
    // dryRun is given, as the one valid value 'true': a negated value schemathesis cannot send in a URL
    // (an object, an array) is dropped on the way, leaving the case's other parts, whose manifest the
    // document cannot fully describe (rules across fields), to be taken for a valid request refused.
    // Its invalid values are the unit tests' (test/unit/api-dry-run.test.ts); every other part is fuzzed.
    const { code, report } = await fuzz('changes', ['[parameters]', '"query.dryRun" = "true"', ''].join('\n'), [
      '--include-method-regex',
      '^(PUT|PATCH|DELETE|POST)$',
      '--mode',
      'negative',
      '--phases',
      'coverage,fuzzing',
    ]);
    expect(code, report).toBe(0);
    expect(report).toMatch(/No issues found/);
    expect(tripwire.tripped).toEqual([]);
    // The real sets are as they were: same generation and spec, not deleted, nothing cordoned.
    for (const name of names) {
      const view = await ordinal.sets.get(name);
      expect(view?.metadata.generation).toBe(before.get(name)!.metadata.generation);
      expect(view?.metadata.deletionRequested).toBeFalsy();
      expect(view?.spec).toEqual(before.get(name)!.spec);
      expect(view?.status.instances.map((i) => [i.name, i.cordoned, i.incarnation])).toEqual(
        before.get(name)!.status.instances.map((i) => [i.name, false, i.incarnation]),
      );
    }
    // And no other set exists on this task queue.
    expect((await ordinal.sets.list()).map((s) => s.metadata.name).sort()).toEqual([...names].sort());
  }, 180_000);
});

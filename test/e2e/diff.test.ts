// `ordinal diff` through the real CLI (`node bin/ordinal.js`), the real HTTP API, Temporal's dev server
// and a worker: the preview of a partitioned rollout names the instances it would replace, in order;
// applying the same manifest then replaces exactly those, in that order (the fixture's event timeline),
// and leaves the ordinals below the partition running. Once rolled out, diff answers no change.
import fs from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliTestOrdinal, stopCliTestOrdinal } from '../harness/cli-stack.js';
import { uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { fixtureManifest, isReady, readEvents, waitForSet } from '../harness/sets.js';
import { runCli } from '../harness/system.js';

let ordinal: TestOrdinal;
let tmp: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  ({ ordinal, tmp, env } = await startCliTestOrdinal('ordinal-diff-'));
});

afterAll(() => stopCliTestOrdinal(ordinal, tmp));

async function write(manifest: unknown): Promise<string> {
  const file = path.join(tmp, `${uniqueName('manifest')}.yaml`);
  await fs.writeFile(file, stringify(manifest));
  return file;
}

describe('ordinal diff', () => {
  it('previews a partitioned rollout in the order the apply then carries it out', async () => {
    const name = uniqueName('diff');
    const events = path.join(tmp, `${name}.events`);
    const partitioned = { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } };
    const v1 = fixtureManifest(name, { replicas: 4, eventsFile: events, args: ['--say', 'v1'], spec: partitioned });
    const v2 = fixtureManifest(name, { replicas: 4, eventsFile: events, args: ['--say', 'v2'], spec: partitioned });
    await ordinal.sets.apply(name, v1, { requestedBy: 'test' });
    const before = await waitForSet(ordinal.sets, name, (view) => isReady(view), { message: `${name} Ready`, timeoutMs: 90_000 });

    const file = await write(v2);
    const json = await runCli(['diff', '-f', file, '-o', 'json'], env);
    expect(json.code, `${json.stdout}\n${json.stderr}`).toBe(1);
    const { preview, diff } = JSON.parse(json.stdout);
    expect(diff).toMatch(/\n- +- v1\n\+ +- v2\n/);
    expect(preview.steps.map((s: { action: string; instances: string[] }) => `${s.action} ${s.instances.join(',')}`)).toEqual([
      `replace ${name}-3`,
      `replace ${name}-2`,
    ]);
    expect(preview.kept.map((k: { instance: string }) => k.instance)).toEqual([`${name}-0`, `${name}-1`]);

    const text = await runCli(['diff', '-f', file], env);
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toContain(`  1. replace ${name}-3 (revision ${before.status.updateRevision} -> ${preview.toRevision})\n  2. replace ${name}-2 (`);
    expect(text.stdout).toMatch(/partition 2: .*-0, .*-1 keep revision/);
    // The preview changed nothing.
    expect((await ordinal.sets.get(name))?.metadata.generation).toBe(before.metadata.generation);

    const applied = await runCli(['apply', '-f', file, '--wait', '--timeout', '2m'], env, { timeoutMs: 150_000 });
    expect(applied.code, `${applied.stdout}\n${applied.stderr}`).toBe(0);
    await waitForSet(ordinal.sets, name, (view) => isReady(view) && view.status.instances.filter((i) => i.revision === preview.toRevision).length === 2, {
      message: `${name}: two instances on ${preview.toRevision}`,
      timeoutMs: 90_000,
    });
    // The recreations as they happened: second incarnations started, in order; none below the partition.
    const restarts = readEvents(events)
      .filter((e) => e.event === 'start' && e.incarnation > 1)
      .map((e) => e.name);
    expect(restarts).toEqual(preview.steps.flatMap((s: { instances: string[] }) => s.instances));

    const again = await runCli(['diff', '-f', file], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('');
  }, 240_000);

  it('exits 2 on an invalid manifest and on a usage error', async () => {
    const name = uniqueName('diff-bad');
    const bad = await runCli(['diff', '-f', await write(fixtureManifest(name, { replicas: -1 }))], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/replicas/);
    const usage = await runCli(['diff'], env);
    expect(usage.code).toBe(2);
    const format = await runCli(['diff', '-f', '-', '-o', 'yaml'], env);
    expect(format.code).toBe(2);
  }, 60_000);

  it('diffs a directory set by set: exit 1 when one would change; exit 2 and nothing previewed when one document is invalid', async () => {
    const same = uniqueName('diff-same');
    const grow = uniqueName('diff-grow');
    await ordinal.sets.apply(same, fixtureManifest(same, { replicas: 1 }), { requestedBy: 'test' });
    await ordinal.sets.apply(grow, fixtureManifest(grow, { replicas: 1 }), { requestedBy: 'test' });
    const dir = path.join(tmp, uniqueName('dir'));
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'a.yaml'), stringify(fixtureManifest(same, { replicas: 1 })));
    await fs.writeFile(path.join(dir, 'b.yaml'), stringify(fixtureManifest(grow, { replicas: 2 })));

    const markdown = await runCli(['diff', '-f', dir, '-o', 'markdown'], env);
    expect(markdown.code, `${markdown.stdout}\n${markdown.stderr}`).toBe(1);
    expect(markdown.stdout).toMatch(new RegExp(`^### Set \`${same}\`: no change\n\n### Set \`${grow}\`: changed\n`));
    expect(markdown.stdout).toContain(`1. create \`${grow}-1\``);
    const json = await runCli(['diff', '-f', dir, '-o', 'json'], env);
    expect(json.code, json.stderr).toBe(1);
    expect(JSON.parse(json.stdout).map((d: { name: string; changed: boolean }) => [d.name, d.changed])).toEqual([
      [same, false],
      [grow, true],
    ]);

    await fs.writeFile(path.join(dir, 'c.yaml'), `${stringify(fixtureManifest(uniqueName('diff-ok'), { replicas: 1 }))}---\n${stringify(fixtureManifest(uniqueName('diff-bad'), { replicas: -1 }))}`);
    const invalid = await runCli(['diff', '-f', dir], env);
    expect(invalid.code).toBe(2);
    expect(invalid.stdout).toBe('');
    expect(invalid.stderr).toContain('cannot diff: 1 problem in the manifests; nothing was previewed');
    expect(invalid.stderr).toMatch(/c\.yaml \(document 2\).*replicas/);
    // Nothing was changed either.
    expect((await ordinal.sets.get(grow))?.spec.replicas).toBe(1);
  }, 90_000);
});

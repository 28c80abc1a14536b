// Issue 15, item 3: `ordinal apply -f` and `delete -f` with many manifests (directories, multi-document
// YAML, -f repeated), all validated before anything changes, and `apply --prune --selector`. The real
// CLI (`node bin/ordinal.js`) as a child process against the real HTTP API over Temporal and a worker.
import fs from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SetView } from '../../core/status.js';
import { startCliTestOrdinal, stopCliTestOrdinal } from '../harness/cli-stack.js';
import { uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { fixtureManifest } from '../harness/sets.js';
import { runCli } from '../harness/system.js';

let ordinal: TestOrdinal;
let tmp: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  ({ ordinal, tmp, env } = await startCliTestOrdinal('ordinal-apply-many-'));
});

afterAll(() => stopCliTestOrdinal(ordinal, tmp));

function cli(args: string[]) {
  return runCli(args, env, { timeoutMs: 120_000 });
}

/** A set of the fixture, with labels; no instances unless asked (nothing to start, nothing to wait for). */
function manifest(name: string, labels?: Record<string, string>, replicas = 0) {
  const m = fixtureManifest(name, { replicas });
  return { ...m, metadata: { name, ...(labels && { labels }) } };
}

function yamlDocuments(...documents: unknown[]): string {
  return documents.map((d) => stringify(d)).join('---\n');
}

async function status(name: string): Promise<number> {
  return (await ordinal.api(`/v1/sets/${name}`)).status;
}

/** Gone, or going: GET answers 404 or marks the set deletionRequested. */
async function deleted(name: string): Promise<boolean> {
  const res = await ordinal.api(`/v1/sets/${name}`);
  return res.status === 404 || (res.status === 200 && (res.body as SetView).metadata.deletionRequested === true);
}

async function put(m: { metadata: { name: string } }): Promise<void> {
  const res = await ordinal.api(`/v1/sets/${m.metadata.name}`, { method: 'PUT', body: m });
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
}

describe('ordinal apply -f with many manifests', () => {
  it('a directory with one invalid document applies nothing: every problem listed with its file and document, exit 1', async () => {
    const [a, b, c] = [uniqueName('many-a'), uniqueName('many-b'), uniqueName('many-c')];
    const dir = path.join(tmp, uniqueName('dir'));
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, '1-a.yaml'), stringify(manifest(a)));
    const invalid = { ...manifest(c), spec: { ...manifest(c).spec, replicas: 'two' } };
    await fs.writeFile(path.join(dir, '2-bc.yaml'), yamlDocuments(manifest(b), invalid));
    await fs.writeFile(path.join(dir, '3-dup.json'), JSON.stringify(manifest(a)));

    const run = await cli(['apply', '-f', dir]);
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'error: cannot apply: 2 problems in the manifests; nothing was applied\n' +
        `  ${path.join(dir, '2-bc.yaml')} (document 2): spec.replicas: must be a number\n` +
        `  ${path.join(dir, '3-dup.json')} (document 1): metadata.name: set ${a} is also in ${path.join(dir, '1-a.yaml')} (document 1): each set may be named once\n`,
    });
    for (const name of [a, b, c]) expect(await status(name)).toBe(404);

    // The same input for delete -f: refused as well, before anything is deleted.
    const del = await cli(['delete', '-f', dir]);
    expect(del.code).toBe(1);
    expect(del.stderr).toMatch(/^error: cannot delete: 2 problems in the manifests; nothing was deleted\n/);
  });

  it('a rule only the server knows (an immutable field) refuses the whole input before anything is applied', async () => {
    const [existing, fresh] = [uniqueName('immut-a'), uniqueName('immut-b')];
    await put(manifest(existing));
    const before = (await ordinal.api(`/v1/sets/${existing}`)).body as SetView;
    const moved = { ...manifest(existing), spec: { ...manifest(existing).spec, serviceName: 'elsewhere' } };
    const file = path.join(tmp, `${uniqueName('immut')}.yaml`);
    // The new set comes first: a check made set by set while applying would already have created it.
    await fs.writeFile(file, yamlDocuments(manifest(fresh), moved));

    const run = await cli(['apply', '-f', file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`set ${existing}: `);
    expect(run.stderr).toContain('spec.serviceName');
    expect(run.stderr).toContain(`error: cannot apply: the API would refuse 1 of 2 sets (${existing}); nothing was applied\n`);
    expect(await status(fresh)).toBe(404);
    const after = (await ordinal.api(`/v1/sets/${existing}`)).body as SetView;
    expect(after.metadata.generation).toBe(before.metadata.generation);
  });

  it('a multi-document file applies every set, a line each; again: configured; delete -f deletes each, a line each', async () => {
    const names = [uniqueName('multi-x'), uniqueName('multi-y'), uniqueName('multi-z')];
    const file = path.join(tmp, `${uniqueName('multi')}.yaml`);
    await fs.writeFile(file, `# three sets\n---\n${yamlDocuments(...names.map((n) => manifest(n)))}---\n`);

    expect(await cli(['apply', '-f', file])).toEqual({ code: 0, stdout: names.map((n) => `set ${n} created\n`).join(''), stderr: '' });
    for (const name of names) expect(await status(name)).toBe(200);
    expect(await cli(['apply', '-f', file])).toEqual({ code: 0, stdout: names.map((n) => `set ${n} configured\n`).join(''), stderr: '' });
    // A dry run of many: a line each, nothing changed.
    expect(await cli(['apply', '-f', file, '--dry-run'])).toEqual({
      code: 0,
      stdout: names.map((n) => `set ${n} unchanged (server dry run)\n`).join(''),
      stderr: '',
    });

    expect(await cli(['delete', '-f', file])).toEqual({ code: 0, stdout: names.map((n) => `set ${n} deleted\n`).join(''), stderr: '' });
    for (const name of names) expect(await deleted(name)).toBe(true);
  });

  it('--wait with many sets waits for every one of them', async () => {
    const names = [uniqueName('wait-p'), uniqueName('wait-q')];
    const dir = path.join(tmp, uniqueName('wait'));
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'p.yaml'), stringify(manifest(names[0], undefined, 1)));
    await fs.writeFile(path.join(dir, 'q.json'), JSON.stringify(manifest(names[1], undefined, 1)));

    const run = await cli(['apply', '-f', dir, '--wait', '--timeout', '90s']);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual([`set ${names[0]} created`, `set ${names[1]} created`]);
    for (const name of names) expect(lines).toContain(`set ${name} is Ready (1/1)`);
    expect(lines.indexOf(`set ${names[0]} is Ready (1/1)`)).toBeLessThan(lines.indexOf(`set ${names[1]} is Ready (1/1)`));
    for (const name of names) expect((await ordinal.api(`/v1/sets/${name}`)).body.status.readyReplicas).toBe(1);
    expect((await cli(['delete', '-f', dir, '--wait', '--timeout', '60s'])).code).toBe(0);
    for (const name of names) expect(await status(name)).toBe(404);
  });
});

describe('ordinal apply --prune --selector', () => {
  it('deletes only the sets with the label that the input no longer names; an unlabelled set and one with another label stay', async () => {
    const app = uniqueName('shop');
    const [keep, added, old, otherLabel, unlabelled] = ['keep', 'added', 'old', 'other', 'plain'].map((p) => uniqueName(`prune-${p}`));
    await put(manifest(keep, { app }));
    await put(manifest(old, { app, tier: 'web' }));
    await put(manifest(otherLabel, { app: `${app}-x` }));
    await put(manifest(unlabelled));
    const file = path.join(tmp, `${uniqueName('prune')}.yaml`);
    await fs.writeFile(file, yamlDocuments(manifest(keep, { app }), manifest(added, { app })));

    expect(await cli(['apply', '-f', file, '--prune'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: --prune needs --selector LABEL=VALUE: only the sets carrying that label are ever pruned\n',
    });
    expect(await status(added)).toBe(404);

    // A dry run says what it would prune, and prunes nothing.
    expect(await cli(['apply', '-f', file, '--prune', '--selector', `app=${app}`, '--dry-run'])).toEqual({
      code: 0,
      stdout: `set ${keep} unchanged (server dry run)\nset ${added} created (server dry run)\nset ${old} deleted (pruned) (dry run)\n`,
      stderr: '',
    });
    expect(await deleted(old)).toBe(false);
    expect(await status(added)).toBe(404);

    expect(await cli(['apply', '-f', file, '--prune', '--selector', `app=${app}`])).toEqual({
      code: 0,
      stdout: `set ${keep} configured\nset ${added} created\nset ${old} deleted (pruned)\n`,
      stderr: '',
    });
    expect(await deleted(old)).toBe(true);
    for (const name of [keep, added, otherLabel, unlabelled]) expect(await deleted(name)).toBe(false);

    // Nothing left to prune: the second run deletes nothing.
    expect(await cli(['apply', '-f', file, '--prune', '-l', `app=${app}`])).toEqual({
      code: 0,
      stdout: `set ${keep} configured\nset ${added} configured\n`,
      stderr: '',
    });
  });
});

// Issue 16, item 3: `ordinal apply` of a manifest with several errors reports them all at once, each
// with its field path, whatever the errors are (the set's name among them), instead of one per run.
// The real CLI (`node bin/ordinal.js`) as a child process against the real HTTP API over Temporal and a
// worker; nothing is created.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliTestOrdinal, stopCliTestOrdinal } from '../harness/cli-stack.js';
import { uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { runCli } from '../harness/system.js';

const LABEL_RULE = "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit";

let ordinal: TestOrdinal;
let tmp: string;
let env: NodeJS.ProcessEnv;

/** A manifest with three errors: replicas "two", port 0, and the name given (or none). */
function threeErrors(name: string | undefined): string {
  return [
    'apiVersion: ordinal.dev/v1',
    'kind: StatefulSet',
    name === undefined ? 'metadata: {labels: {app: demo}}' : `metadata: {name: ${name}}`,
    'spec:',
    '  replicas: two',
    '  template:',
    '    process: {command: [node, server.js]}',
    '    ports: [{name: http, port: 0}]',
    '',
  ].join('\n');
}

function cli(args: string[], input?: string) {
  return runCli(args, env, { input, timeoutMs: 60_000 });
}

async function noSets(): Promise<void> {
  const list = await ordinal.api('/v1/sets');
  expect(list.status).toBe(200);
  expect(list.body.items).toEqual([]);
}

beforeAll(async () => {
  ({ ordinal, tmp, env } = await startCliTestOrdinal('ordinal-apply-errors-'));
});

afterAll(() => stopCliTestOrdinal(ordinal, tmp));

describe('ordinal apply: every field error at once', () => {
  it('a name that is not a set name, replicas "two" and port 0: three errors with their paths, exit 1, nothing created', async () => {
    const file = path.join(tmp, 'bad.yaml');
    await fs.writeFile(file, threeErrors('Bad'));
    expect(await cli(['apply', '-f', file])).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `error: cannot apply ${file}: the manifest is invalid\n` +
        `  metadata.name: ${LABEL_RULE}\n` +
        '  spec.replicas: must be a number\n' +
        '  spec.template.ports[0].port: must be at least 1\n',
    });
    // The API, asked directly with the same manifest, says the same three things in one answer.
    const res = await ordinal.api('/v1/sets/Bad', { method: 'PUT', body: threeErrors('Bad'), headers: { 'content-type': 'application/yaml' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BadRequest');
    expect(res.body.error.details).toEqual([
      { path: 'metadata.name', message: LABEL_RULE },
      { path: 'spec.replicas', message: 'must be a number' },
      { path: 'spec.template.ports[0].port', message: 'must be at least 1' },
    ]);
    await noSets();
  });

  it('no metadata.name: one error in the list, with the other two', async () => {
    expect(await cli(['apply', '-f', '-'], threeErrors(undefined))).toEqual({
      code: 1,
      stdout: '',
      stderr:
        "error: standard input has no metadata.name: the set's name is required to apply it\n" +
        '  metadata.name: is required\n' +
        '  spec.replicas: must be a number\n' +
        '  spec.template.ports[0].port: must be at least 1\n',
    });
    await noSets();
  });

  it("a valid name: the manifest is sent and the API's three errors are printed, exit 1", async () => {
    const name = uniqueName('apply-errors');
    const file = path.join(tmp, 'named.yaml');
    await fs.writeFile(file, threeErrors(name).replace('[node, server.js]', "[node, '']"));
    expect(await cli(['apply', '-f', file])).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'error: the manifest is invalid\n' +
        '  spec.replicas: must be a number\n' +
        '  spec.template.process.command[1]: must not be empty\n' +
        '  spec.template.ports[0].port: must be at least 1\n',
    });
    expect((await ordinal.api(`/v1/sets/${name}`)).status).toBe(404);
    await noSets();
  });
});

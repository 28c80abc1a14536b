// `ordinal up --demo`'s manifest: read and validated before anything starts, found from any directory.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DEMO_EXAMPLE, DemoManifestError, loadDemoManifest } from '../../cli/demo-manifest.js';
import { REPO_ROOT } from '../../infra/tools.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-demo-'));

describe('loadDemoManifest', () => {
  it('the default example runs its program from the repository, wherever up is started', () => {
    const { manifest } = loadDemoManifest(undefined);
    expect(DEFAULT_DEMO_EXAMPLE).toBe(path.join(REPO_ROOT, 'examples/web.yaml'));
    expect(manifest.metadata.name).toBe('web');
    expect(manifest.spec.template.process!.workingDir).toBe(REPO_ROOT);
    expect(fs.existsSync(path.join(manifest.spec.template.process!.workingDir!, manifest.spec.template.process!.command[1]!))).toBe(true);
  });

  it('a manifest given with --example is applied as written (no working directory added)', () => {
    const file = path.join(tmp, 'mine.yaml');
    fs.writeFileSync(file, fs.readFileSync(DEFAULT_DEMO_EXAMPLE, 'utf8'));
    const { manifest, source } = loadDemoManifest(file);
    expect(source).toBe(file);
    expect(manifest.spec.template.process!.workingDir).toBeUndefined();
  });

  it.each([
    { name: 'a missing file', content: undefined, message: /^cannot read the manifest for --demo, .*nope\.yaml: no such file \(--example FILE names another\)$/ },
    { name: 'an invalid manifest', content: 'apiVersion: ordinal.dev/v1\nkind: StatefulSet\nmetadata: {name: Bad_Name}\nspec: {replicas: -1}\n', message: /^the manifest for --demo, .*nope\.yaml, is invalid: metadata\.name: .*spec\.replicas: / },
  ])('refuses $name with one line naming the file', ({ content, message }) => {
    const file = path.join(tmp, 'nope.yaml');
    fs.rmSync(file, { force: true });
    if (content !== undefined) fs.writeFileSync(file, content);
    let error: unknown;
    try {
      loadDemoManifest(file);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DemoManifestError);
    expect((error as Error).message).toMatch(message);
  });

  it('ordinal up --demo with a missing --example stops at once with that line, exit 1, nothing started', async () => {
    const run = await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'bin/ordinal.js'), 'up', '--demo', '--example', path.join(tmp, 'missing.yaml')], {
      cwd: tmp,
      env: { ...process.env, ORDINAL_DATA_DIR: path.join(tmp, 'data') },
    }).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: cannot read the manifest for --demo, .*missing\.yaml: no such file \(--example FILE names another\)\n$/);
    expect(run.stdout).toBe('');
    expect(fs.existsSync(path.join(tmp, 'data'))).toBe(false);
  });
});

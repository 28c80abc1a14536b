// The pipeline example (examples/pipeline/deploy.sh) as a pipeline runs it: a real bash process running
// the real CLI against Ordinal in the production shape (API, worker and DNS server as processes) with
// bearer tokens. A good rollout exits 0; a rollout that cannot finish (an instance that never becomes
// Ready, past a short progressDeadlineSeconds) exits 1 with the reason; so do a refused manifest and a
// missing token, and an unreachable API exits 2.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../harness/ordinal.js';
import { fixtureManifest } from '../harness/sets.js';
import { waitFor } from '../harness/services.js';
import { REPO, startSystem, type TestSystem } from '../harness/system.js';

const SCRIPT = path.join(REPO, 'examples/pipeline/deploy.sh');

let system: TestSystem;
let token: string;

beforeAll(async () => {
  system = await startSystem();
  // A write token for the pipeline, made on the API's host; the running API takes it up at once.
  const created = await system.cli(['token', 'create', 'pipeline', '--scope', 'write']);
  expect(created.code, created.stderr).toBe(0);
  token = created.stdout.trim();
  await waitFor(async () => (await fetch(`${system.apiUrl}/v1/sets`)).status === 401, { message: 'the API to require tokens' });
});

afterAll(async () => {
  await system?.stop();
});

function deploy(manifest: unknown, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = path.join(system.dataDir, `${uniqueName('manifest')}.yaml`);
  fs.writeFileSync(file, stringify(manifest));
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, file, ...args], {
      cwd: REPO,
      env: {
        ...system.env,
        ORDINAL: `${process.execPath} ${path.join(REPO, 'bin/ordinal.js')}`,
        ORDINAL_API_URL: system.apiUrl,
        ORDINAL_TOKEN: token,
        GITHUB_ACTIONS: '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`deploy.sh did not finish in time:\n${stdout}\n${stderr}`));
    }, 110_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('examples/pipeline/deploy.sh', () => {
  const name = uniqueName('pipe');

  it('applies a manifest and exits 0 once the rollout is done', async () => {
    const run = await deploy(fixtureManifest(name, { replicas: 2 }), ['--timeout', '90s']);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain(`set ${name} created`);
    expect(run.stdout).toContain(`set ${name} is Ready (2/2)`);
    expect(run.stdout).toContain(`--- set ${name} deployed`);
    const set = await (await fetch(`${system.apiUrl}/v1/sets/${name}`, { headers: { authorization: `Bearer ${token}` } })).json();
    expect(set.status.readyReplicas).toBe(2);
  });

  it('exits 1 with the reason when the new revision never becomes Ready within its progress deadline', async () => {
    const bad = fixtureManifest(name, { replicas: 2, args: ['--never-ready'], spec: { progressDeadlineSeconds: 4 } });
    const run = await deploy(bad, ['--timeout', '90s'], { GITHUB_ACTIONS: 'true' });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    expect(run.stdout).toContain(`set ${name} configured`);
    expect(run.stderr).toMatch(new RegExp(`error: rollout of ${name} failed: progress deadline exceeded: .+`));
    // The set's state for the log, and an annotation for GitHub Actions.
    expect(run.stdout).toContain(`--- ordinal get ${name}`);
    expect(run.stdout).toContain(`${name}-1`);
    expect(run.stdout).toContain(`::error title=Ordinal deploy failed::the rollout of set ${name} did not finish (exit 1)`);
  });

  it('exits 1 when the manifest is refused, naming the field', async () => {
    const run = await deploy({ ...fixtureManifest(uniqueName('pipe'), { replicas: 1 }), spec: { replicas: -1, template: { process: { command: ['x'] } } } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('spec.replicas');
    expect(run.stderr).toContain('was not applied (exit 1)');
  });

  it('exits 1 without a valid token, and 2 when the API cannot be reached', async () => {
    const manifest = fixtureManifest(uniqueName('pipe'), { replicas: 1 });
    const refused = await deploy(manifest, [], { ORDINAL_TOKEN: '' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('warning: ORDINAL_TOKEN is not set');
    const unreachable = await deploy(manifest, [], { ORDINAL_API_URL: 'http://127.0.0.1:9' });
    expect(unreachable.code).toBe(2);
  });
});

// The pipeline example (examples/pipeline/deploy.sh) as a pipeline runs it: a real bash process running
// the real CLI against Ordinal in the production shape (API, worker and DNS server as processes) with
// bearer tokens. A good rollout exits 0; a rollout that cannot finish (an instance that never becomes
// Ready, past a short progressDeadlineSeconds) exits 1 with the reason; so do a refused manifest and a
// missing token, and an unreachable API exits 2.
// The CI examples (github-actions-plan-apply.yml, gitlab-ci.yml): their diff and apply steps, taken from
// the YAML, run the same way: a change passes the diff step with the Markdown kept, an error fails it,
// and the apply step ends once the rollout is done.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
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

type Run = { code: number | null; stdout: string; stderr: string };

function deploy(manifest: unknown, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const file = path.join(system.dataDir, `${uniqueName('manifest')}.yaml`);
  fs.writeFileSync(file, stringify(manifest));
  return bash([SCRIPT, file, ...args], REPO, { GITHUB_ACTIONS: '', ...env });
}

/** bash with the pipeline's connection (the real CLI, the API, a write token) in its environment. */
function bash(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', args, {
      cwd,
      env: {
        ...system.env,
        ORDINAL: `${process.execPath} ${path.join(REPO, 'bin/ordinal.js')}`,
        ORDINAL_API_URL: system.apiUrl,
        ORDINAL_TOKEN: token,
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
      reject(new Error(`bash ${args.join(' ')} did not finish in time:\n${stdout}\n${stderr}`));
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

// The diff and apply steps of the CI examples, taken from the YAML files as the CI would run them: bash
// with -e and pipefail (GitHub's `shell: bash`, GitLab's bash), in a checkout holding deploy/.
interface CiSteps {
  diff: string;
  apply: string;
}

function githubSteps(file: string): CiSteps {
  const workflow = parse(fs.readFileSync(path.join(REPO, file), 'utf8'));
  const steps: { id?: string; run?: string }[] = Object.values(workflow.jobs as Record<string, { steps: { id?: string; run?: string }[] }>).flatMap((job) => job.steps);
  const run = (id: string) => steps.find((step) => step.id === id)?.run ?? expect.fail(`${file}: no step with id ${id}`);
  // Its env names where the connection comes from: the repository's variables and secrets.
  expect(workflow.env).toMatchObject({ ORDINAL_API_URL: '${{ vars.ORDINAL_API_URL }}', ORDINAL_TOKEN: '${{ secrets.ORDINAL_TOKEN }}' });
  return { diff: run('diff'), apply: run('apply') };
}

function gitlabSteps(file: string): CiSteps {
  const pipeline = parse(fs.readFileSync(path.join(REPO, file), 'utf8'));
  const script = (job: string): string => (pipeline[job]?.script as string[] | undefined)?.join('\n') ?? expect.fail(`${file}: no job ${job} with a script`);
  return { diff: script('ordinal-diff'), apply: script('ordinal-apply') };
}

describe('the CI examples: diff on a review, apply --wait on main', () => {
  it.each([
    { file: 'examples/pipeline/github-actions-plan-apply.yml', steps: githubSteps },
    { file: 'examples/pipeline/gitlab-ci.yml', steps: gitlabSteps },
  ])('$file', async ({ file, steps }) => {
    const { diff, apply } = steps(file);
    const name = uniqueName('ci');
    const app = uniqueName('app');
    const checkout = fs.mkdtempSync(path.join(system.dataDir, 'checkout-'));
    fs.mkdirSync(path.join(checkout, 'deploy'));
    const manifest = fixtureManifest(name, { replicas: 2 });
    fs.writeFileSync(path.join(checkout, 'deploy', `${name}.yaml`), stringify({ ...manifest, metadata: { name, labels: { app } } }));
    const summary = path.join(checkout, 'summary.md');
    const output = path.join(checkout, 'output');
    const env = { ORDINAL_SELECTOR: `app=${app}`, GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output, GITHUB_ACTIONS: 'true' };
    const step = (script: string) => bash(['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], checkout, env);
    const readIf = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');

    // A change: diff exits 1, the step 0, with the Markdown kept.
    const changed = await step(diff);
    expect(changed.code, `${changed.stdout}\n${changed.stderr}`).toBe(0);
    const markdown = fs.readFileSync(path.join(checkout, 'ordinal-diff.md'), 'utf8');
    expect(markdown).toMatch(new RegExp(`^### Set \`${name}\`: created\n`));
    expect(markdown).toContain(`1. create \`${name}-0\``);
    if (file.includes('github')) {
      expect(readIf(summary)).toBe(markdown);
      expect(readIf(output)).toBe('changed=true\n');
    } else {
      expect(changed.stdout).toBe(markdown);
    }

    // Applied, and the step ends once the rollout is done.
    const applied = await step(apply);
    expect(applied.code, `${applied.stdout}\n${applied.stderr}`).toBe(0);
    expect(applied.stdout).toContain(`set ${name} created`);
    expect(applied.stdout).toContain(`set ${name} is Ready (2/2)`);

    // No change: the step succeeds too.
    const unchanged = await step(diff);
    expect(unchanged.code, unchanged.stderr).toBe(0);
    expect(fs.readFileSync(path.join(checkout, 'ordinal-diff.md'), 'utf8')).toBe(`### Set \`${name}\`: no change\n`);

    // An error (an invalid manifest): diff exits 2, and so does the step.
    fs.writeFileSync(path.join(checkout, 'deploy', 'bad.yaml'), stringify(fixtureManifest(uniqueName('ci-bad'), { replicas: -1 })));
    const failed = await step(diff);
    expect(failed.code, `${failed.stdout}\n${failed.stderr}`).toBe(2);
    expect(failed.stderr).toContain('nothing was previewed');
  });
});

// `ordinal rollout status` against a real worker (issue 16): a set whose program exits a second after it
// starts is Ready for the instant each incarnation runs, and must not pass; it fails within the
// back-off's first steps, naming the instance and its exit, and the API's Ready condition says the same.
// A slow but healthy set still passes, once its instances have stayed Ready for the stability window.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { waitFor } from '../harness/services.js';
import { fixtureManifest } from '../harness/sets.js';
import { runCli } from '../harness/system.js';
import type { SetView } from '../../core/status.js';

let ordinal: TestOrdinal;

beforeAll(async () => {
  ordinal = await startTestOrdinal();
});

afterAll(async () => {
  await ordinal?.stop();
});

function rolloutStatus(name: string, ...args: string[]) {
  const env = { ...process.env, ORDINAL_API_URL: ordinal.apiUrl };
  return runCli(['rollout', 'status', name, '--timeout', '60s', ...args], env, { timeoutMs: 90_000 });
}

/** No readiness probe: Ready as soon as it runs, then it exits with code 3 a second later. */
function crashingManifest(name: string) {
  return {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      replicas: 2,
      template: { process: { command: ['sh', '-c', 'sleep 1; exit 3'] }, terminationGracePeriodSeconds: 1 },
      dns: { ttl: 1 },
    },
  };
}

describe.concurrent('ordinal rollout status', () => {
  it('exits 1 within the back-off\'s first steps for a crash-looping set, with the instance and its exit', async ({ expect }) => {
    const name = uniqueName('brk');
    await ordinal.sets.apply(name, crashingManifest(name));
    const started = Date.now();
    const run = await rolloutStatus(name);
    const took = Date.now() - started;
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^error: rollout of ${name} failed: ${name}-[01] is crash looping \\(restarts \\d+\\): the process exited with code 3\\n$`));
    expect(run.stdout).not.toContain(`set ${name} is Ready`);
    // Back-off 0 s, 1 s, 2 s ...: a few seconds, well under a minute even on a loaded machine.
    expect(took).toBeLessThan(30_000);

    // Every client sees it: the API's Ready condition names the crash loop (between the instants the
    // instance runs, which are ever shorter than its back-off).
    const ready = await waitFor(
      async () => {
        const { body } = await ordinal.api(`/v1/sets/${name}`);
        const condition = (body as SetView).status.conditions.find((c) => c.type === 'Ready');
        return condition?.reason === 'CrashLoopBackOff' ? condition : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: `the Ready condition of ${name} to say CrashLoopBackOff` },
    );
    expect(ready).toMatchObject({ status: 'False', reason: 'CrashLoopBackOff' });
    expect(ready.message).toMatch(new RegExp(`^${name}-[01] is crash looping \\(restarts \\d+\\): the process exited with code 3; \\d Ready, 2 wanted$`));
    await ordinal.sets.delete(name);
  });

  it('exits 0 for a slow but healthy set, once its instances have stayed Ready for the window', async ({ expect }) => {
    const name = uniqueName('slow');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2, args: ['--ready-after', '2000'] }));
    const run = await rolloutStatus(name);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`set ${name} is Ready (2/2)`);
    // It waited for the window after the set turned Ready.
    expect(lines.some((line) => new RegExp(`^waiting for ${name}-[01] to stay Ready for 5s \\(\\d+s so far\\)$`).test(line))).toBe(true);
    const { body } = await ordinal.api(`/v1/sets/${name}`);
    expect((body as SetView).status.instances.map((i) => [i.name, i.ready, i.restarts])).toEqual([
      [`${name}-0`, true, 0],
      [`${name}-1`, true, 0],
    ]);
    await ordinal.sets.delete(name);
  });
});

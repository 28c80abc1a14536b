// The custom resource behind OrdinalStatefulSet (infra/cdk/stateful-set/handler.ts) against the real
// API, worker and Temporal dev server, called with CloudFormation-shaped events the way aws-cdk-lib's
// Provider framework calls it: onEvent once, then isComplete until it answers IsComplete or throws (a
// throw is the FAILED reason CloudFormation shows before it rolls back). The API requires a token,
// which the handler reads from a (fake) Secrets Manager secret. Last, the Lambda bundle `cdk synth`
// makes (esbuild) is loaded by Node and creates, waits for and deletes a set itself.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiServer } from '../../api/server.js';
import type { SetView } from '../../core/status.js';
import { createToken } from '../../infra/tokens.js';
import {
  createStatefulSetHandler,
  type IsCompleteEvent,
  type OnEventResult,
  type StatefulSetEvent,
  type StatefulSetResourceProperties,
} from '../../infra/cdk/stateful-set/handler.js';
import { OrdinalStatefulSet } from '../../infra/cdk/stateful-set/construct.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { fixtureManifest } from '../harness/sets.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ordinal/cdk-token-AbCdEf';

let ordinal: TestOrdinal;
let tmp: string;
let api: ApiServer;
let token: string;
const secrets = new Map<string, string>();

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-cdk-handler-'));
  const tokensFile = path.join(tmp, 'tokens.json');
  ordinal = await startTestOrdinal();
  token = createToken(tokensFile, 'cdk', 'write').token;
  secrets.set(SECRET_ARN, JSON.stringify({ token }));
  // An API that requires a token, as on Lambda.
  api = await ordinal.startApi({ auth: { tokensFile, required: true } });
});

afterAll(async () => {
  await ordinal?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const handler = createStatefulSetHandler({
  readSecret: async (id) => {
    const value = secrets.get(id);
    if (value === undefined) throw new Error(`ResourceNotFoundException: no secret ${id}`);
    return value;
  },
  // Quicker than on Lambda (40 s polls, a 5 s stability window), the same logic.
  pollBudgetMs: 5_000,
  pollIntervalMs: 250,
  stableForMs: 2_000,
});

function properties(manifest: unknown, extra: Partial<StatefulSetResourceProperties> = {}): StatefulSetResourceProperties {
  return { ApiUrl: `${api.url}/`, ApiTokenSecretId: SECRET_ARN, ApiTokenField: 'token', Manifest: JSON.stringify(manifest), WaitForRollout: 'true', ...extra };
}

type Outcome = { status: 'SUCCESS'; physicalId: string; data: Record<string, string> } | { status: 'FAILED'; reason: string };

type Handler = { onEvent(event: StatefulSetEvent): Promise<OnEventResult>; isComplete(event: IsCompleteEvent): Promise<{ IsComplete: boolean; Data?: object }> };

/** What the Provider framework does with one CloudFormation request: onEvent, then isComplete until done. */
async function provide(event: StatefulSetEvent, using: Handler = handler, timeoutMs = 90_000): Promise<Outcome> {
  const deadline = Date.now() + timeoutMs;
  try {
    const started = await using.onEvent(event);
    const request: IsCompleteEvent = { ...event, ...started };
    for (;;) {
      const result = await using.isComplete(request);
      if (result.IsComplete) return { status: 'SUCCESS', physicalId: started.PhysicalResourceId, data: { ...started.Data, ...result.Data } };
      if (Date.now() > deadline) throw new Error(`still not complete after ${timeoutMs} ms`);
    }
  } catch (err) {
    return { status: 'FAILED', reason: (err as Error).message };
  }
}

async function getSet(name: string): Promise<SetView | undefined> {
  const res = await fetch(`${api.url}/v1/sets/${name}`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  return (await res.json()) as SetView;
}

function succeeded(outcome: Outcome): Extract<Outcome, { status: 'SUCCESS' }> {
  if (outcome.status !== 'SUCCESS') throw new Error(`expected SUCCESS, got FAILED: ${outcome.reason}`);
  return outcome;
}

describe.concurrent('the OrdinalStatefulSet custom resource handler', () => {
  it('creates a set, updates it with If-Match, renames it and deletes it, each once the rollout is done', async () => {
    const name = uniqueName('cfn');
    const v1 = fixtureManifest(name, { replicas: 1 });
    const created = succeeded(await provide({ RequestType: 'Create', ResourceProperties: properties(v1) }));
    expect(created.physicalId).toBe(name);
    expect(created.data).toMatchObject({ Name: name, Generation: '1', WatchRollout: 'true' });
    // Complete means Ready: the set is Ready the moment CloudFormation hears SUCCESS.
    let view = (await getSet(name))!;
    expect(view.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(view.status.readyReplicas).toBe(1);
    expect(created.data.UpdateRevision).toBe(view.status.updateRevision);

    const v2 = fixtureManifest(name, { replicas: 2 });
    const updated = succeeded(
      await provide({ RequestType: 'Update', PhysicalResourceId: name, ResourceProperties: properties(v2), OldResourceProperties: properties(v1) }),
    );
    expect(updated).toMatchObject({ physicalId: name, data: { Generation: '2', WatchRollout: 'true' } });
    view = (await getSet(name))!;
    expect([view.metadata.generation, view.status.readyReplicas]).toEqual([2, 2]);

    // Nothing changed (e.g. only the removal policy did): no new generation, no rollout to wait for.
    const same = succeeded(
      await provide({ RequestType: 'Update', PhysicalResourceId: name, ResourceProperties: properties(v2), OldResourceProperties: properties(v2) }),
    );
    expect(same.data).toMatchObject({ Generation: '2', WatchRollout: 'false' });

    // A new name is a new set; CloudFormation then deletes the old physical id.
    const renamed = uniqueName('cfn');
    const moved = succeeded(
      await provide({
        RequestType: 'Update',
        PhysicalResourceId: name,
        ResourceProperties: properties(fixtureManifest(renamed, { replicas: 1 })),
        OldResourceProperties: properties(v2),
      }),
    );
    expect(moved).toMatchObject({ physicalId: renamed, data: { Name: renamed, Generation: '1' } });
    expect((await getSet(name))?.metadata.generation).toBe(2);

    for (const gone of [name, renamed]) {
      const deleted = succeeded(await provide({ RequestType: 'Delete', PhysicalResourceId: gone, ResourceProperties: properties(v2) }));
      expect(deleted.physicalId).toBe(gone);
      expect(await getSet(gone)).toBeUndefined();
    }
    // A set already gone (deleted by hand) deletes fine.
    succeeded(await provide({ RequestType: 'Delete', PhysicalResourceId: name, ResourceProperties: properties(v2) }));
  });

  it('refuses to overwrite a change made outside CloudFormation, and to take over a set it did not create', async () => {
    const name = uniqueName('cfn-drift');
    const v1 = fixtureManifest(name, { replicas: 1 });
    succeeded(await provide({ RequestType: 'Create', ResourceProperties: properties(v1) }));
    // Someone scales it by hand.
    const patched = await fetch(`${api.url}/v1/sets/${name}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { replicas: 2 } }),
    });
    expect(patched.status).toBe(200);

    const update = await provide({
      RequestType: 'Update',
      PhysicalResourceId: name,
      ResourceProperties: properties(fixtureManifest(name, { replicas: 3 })),
      OldResourceProperties: properties(v1),
    });
    expect(update).toEqual({
      status: 'FAILED',
      reason: expect.stringMatching(new RegExp(`^set ${name} was changed outside CloudFormation \\(it is at generation 2 .*refusing to overwrite`)),
    });
    let view = (await getSet(name))!;
    expect([view.metadata.generation, view.spec.replicas]).toEqual([2, 2]);

    // A Create of a name that exists (this set, made "outside" this resource) is refused, untouched.
    const create = await provide({ RequestType: 'Create', ResourceProperties: properties(fixtureManifest(name, { replicas: 3 })) });
    expect(create).toEqual({ status: 'FAILED', reason: expect.stringMatching(new RegExp(`^set ${name} already exists in Ordinal .*will not take it over`)) });
    view = (await getSet(name))!;
    expect([view.metadata.generation, view.spec.replicas]).toEqual([2, 2]);

    // Once the change is in the stack (the old properties are what runs), the update goes through.
    const adopted = await provide({
      RequestType: 'Update',
      PhysicalResourceId: name,
      ResourceProperties: properties(fixtureManifest(name, { replicas: 3 })),
      OldResourceProperties: properties(fixtureManifest(name, { replicas: 2 })),
    });
    expect(succeeded(adopted).data.Generation).toBe('3');
    succeeded(await provide({ RequestType: 'Delete', PhysicalResourceId: name, ResourceProperties: properties(v1) }));
  });

  it('reports FAILED with the reason when the rollout crash loops', async () => {
    const name = uniqueName('cfn-crash');
    const manifest = {
      apiVersion: 'ordinal.dev/v1',
      kind: 'StatefulSet',
      metadata: { name },
      spec: { replicas: 1, template: { process: { command: ['sh', '-c', 'sleep 0.5; exit 3'] }, terminationGracePeriodSeconds: 1 }, dns: { ttl: 1 } },
    };
    const outcome = await provide({ RequestType: 'Create', ResourceProperties: properties(manifest) });
    expect(outcome).toEqual({
      status: 'FAILED',
      reason: expect.stringMatching(new RegExp(`^rollout of ${name} failed: ${name}-0 is crash looping \\(restarts \\d+\\): the process exited with code 3$`)),
    });
    succeeded(await provide({ RequestType: 'Delete', PhysicalResourceId: name, ResourceProperties: properties(manifest) }));
  });

  it('reports FAILED when the rollout passes its progressDeadlineSeconds', async () => {
    const name = uniqueName('cfn-stuck');
    const manifest = fixtureManifest(name, { replicas: 1, args: ['--never-ready'], spec: { progressDeadlineSeconds: 2 } });
    const outcome = await provide({ RequestType: 'Create', ResourceProperties: properties(manifest) });
    expect(outcome).toEqual({ status: 'FAILED', reason: expect.stringMatching(new RegExp(`^rollout of ${name} failed: progress deadline exceeded: `)) });
    const view = (await getSet(name))!;
    expect(view.status.conditions.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    succeeded(await provide({ RequestType: 'Delete', PhysicalResourceId: name, ResourceProperties: properties(manifest) }));
  });

  it('fails with the API\'s answer when the token is refused, changing nothing', async () => {
    const name = uniqueName('cfn-401');
    secrets.set(`${SECRET_ARN}-revoked`, JSON.stringify({ token: 'ord_notarealtoken' }));
    const outcome = await provide({ RequestType: 'Create', ResourceProperties: properties(fixtureManifest(name, { replicas: 1 }), { ApiTokenSecretId: `${SECRET_ARN}-revoked` }) });
    expect(outcome).toEqual({ status: 'FAILED', reason: expect.stringMatching(new RegExp(`^PUT /v1/sets/${name}: 401 Unauthenticated: `)) });
    expect(await getSet(name)).toBeUndefined();
  });
});

describe('the Lambda bundle cdk synth makes', () => {
  it('loads in Node and creates, waits for and deletes a set', async () => {
    const outdir = path.join(tmp, 'cdk.out');
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Bundle');
    new OrdinalStatefulSet(stack, 'Web', {
      apiUrl: 'https://ordinal.example.com',
      apiToken: secretsmanager.Secret.fromSecretNameV2(stack, 'Token', 'ordinal/cdk-token'),
      manifest: { metadata: { name: 'web' }, spec: { replicas: 1, template: { process: { command: ['true'] } } } },
    });
    const assembly = app.synth();
    const template = assembly.getStackByName('Bundle').template as { Resources: Record<string, { Type: string; Properties: any; Metadata?: any }> };
    const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.onEvent')!;
    const bundle = path.join(outdir, fn.Metadata['aws:asset:path'], 'index.mjs');
    const lambda = (await import(pathToFileURL(bundle).href)) as Handler;
    expect(typeof lambda.isComplete).toBe('function');

    // Without ApiTokenSecretId it sends no token: the loopback API of the test Ordinal needs none.
    const name = uniqueName('cfn-bundle');
    const props = { ApiUrl: ordinal.apiUrl, Manifest: JSON.stringify(fixtureManifest(name, { replicas: 1 })) };
    // The bundle polls as on Lambda (a 5 s stability window, 2 s apart): slower than the handler above.
    const created = succeeded(await provide({ RequestType: 'Create', ResourceProperties: props }, lambda, 120_000));
    expect(created.data).toMatchObject({ Name: name, Generation: '1' });
    expect((await ordinal.api(`/v1/sets/${name}`)).body.status.readyReplicas).toBe(1);
    succeeded(await provide({ RequestType: 'Delete', PhysicalResourceId: name, ResourceProperties: props }, lambda, 120_000));
    expect((await ordinal.api(`/v1/sets/${name}`)).status).toBe(404);
  }, 300_000);
});

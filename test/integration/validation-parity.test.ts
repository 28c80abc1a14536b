// Every validation rule holds the same for the HTTP API and for a client that updates the set's
// workflow through Temporal directly: the same bad manifest is refused both ways, at the same field for
// the same rule, and nothing changes (no set is created, an existing one keeps its generation and spec).
import { ApplicationFailure, WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldIssue } from '../../core/manifest.js';
import { workflowIdForSet } from '../../core/names.js';
import { initialState } from '../../core/set-state.js';
import type { SetView } from '../../core/status.js';
import { SearchAttributes, WORKFLOW_TYPE, applyUpdate, getSetQuery } from '../../workflows/messages.js';
import type { StatefulSetInput } from '../../workflows/statefulset.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';

let ordinal: TestOrdinal;

beforeAll(async () => {
  ordinal = await startTestOrdinal();
});

afterAll(async () => {
  await ordinal?.stop();
});

type Doc = Record<string, any>;

/** A set with no instances: validation is what is tested, not processes. */
function manifest(name: string, spec: Doc = {}): Doc {
  return {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: { replicas: 0, template: { process: { command: ['node', 'server.mjs'] } }, ...spec },
  };
}

interface Refusal {
  /** The API's error code, or the workflow's ApplicationFailure type. */
  code: string;
  message: string;
  details: FieldIssue[];
}

/** PUT through the HTTP API; the refusal it answers with. */
async function putThroughApi(name: string, document: Doc, ifMatch?: number): Promise<Refusal> {
  const res = await ordinal.api(`/v1/sets/${name}`, { method: 'PUT', body: document, headers: ifMatch === undefined ? {} : { 'if-match': `"${ifMatch}"` } });
  expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
  return res.body.error as Refusal;
}

/** The `apply` update straight to the workflow, starting it if need be, as api/sets.ts does; the refusal. */
async function applyThroughTemporal(name: string, document: Doc, expectedGeneration?: number): Promise<Refusal> {
  const start = new WithStartWorkflowOperation<(input: StatefulSetInput) => Promise<{ deleted: true }>>(WORKFLOW_TYPE, {
    workflowId: workflowIdForSet(name),
    taskQueue: ordinal.config.temporal.taskQueue,
    args: [{ state: initialState(name) }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [{ key: SearchAttributes.set, value: name }],
  });
  try {
    await ordinal.client.workflow.executeUpdateWithStart(applyUpdate, {
      args: [{ manifest: document, expectedGeneration, requestedBy: 'validation-parity test' }],
      startWorkflowOperation: start,
    });
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError) || !(err.cause instanceof ApplicationFailure)) throw err;
    const failure = err.cause;
    return { code: failure.type ?? '', message: failure.message, details: (failure.details?.[0] as FieldIssue[] | undefined) ?? [] };
  }
  throw new Error(`the workflow accepted the manifest for ${name}`);
}

/** The set as its workflow holds it (null: never created), or undefined without a workflow at all. */
async function querySet(name: string): Promise<SetView | null | undefined> {
  try {
    return await ordinal.client.workflow.getHandle(workflowIdForSet(name)).query(getSetQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

const sorted = (issues: FieldIssue[]) => [...issues].sort((a, b) => (a.path === b.path ? a.message.localeCompare(b.message) : a.path.localeCompare(b.path)));

/** Both refused with the same issues (field and rule); `codes` as each one names the refusal. */
function expectSameRefusal(api: Refusal, direct: Refusal, expected: { api: string; direct: string; details: FieldIssue[]; message?: string }): void {
  expect(api.code).toBe(expected.api);
  expect(direct.code).toBe(expected.direct);
  expect(sorted(api.details)).toEqual(sorted(expected.details));
  expect(sorted(direct.details)).toEqual(sorted(api.details));
  if (expected.message !== undefined) {
    expect(api.message).toBe(expected.message);
    expect(direct.message).toBe(expected.message);
  }
}

const LABEL_RULE = "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit";

describe('a bad manifest for a new set is refused the same by the API and by the workflow', () => {
  const cases: Array<{ name: string; set?: string; spec: Doc; api?: string; details: FieldIssue[] }> = [
    { name: 'replicas 2^53', spec: { replicas: 2 ** 53 }, details: [{ path: 'spec.replicas', message: 'must be at most 1000' }] },
    { name: 'a negative replicas', spec: { replicas: -1 }, details: [{ path: 'spec.replicas', message: 'must be at least 0' }] },
    {
      name: 'replicas 2^53 beside another error',
      spec: { replicas: 2 ** 53, minReadySeconds: -1 },
      details: [
        { path: 'spec.replicas', message: 'must be at most 1000' },
        { path: 'spec.minReadySeconds', message: 'must be at least 0' },
      ],
    },
    {
      name: 'a huge reserveOrdinals list',
      spec: { reserveOrdinals: Array.from({ length: 20_000 }, (_, i) => i) },
      details: [{ path: 'spec.reserveOrdinals', message: 'must list at most 1000 ordinals' }],
    },
    {
      // A pattern rule (zod's regex check) and a refinement, run by the workflow's shared schema too.
      name: 'bad environment variable names',
      spec: { template: { process: { command: ['node', 'server.mjs'], env: { '1BAD': 'x', GOOD: 'y', ORDINAL_X: 'z' } } } },
      details: [
        { path: 'spec.template.process.env.1BAD', message: 'must be an environment variable name: letters, digits and _, not starting with a digit' },
        { path: 'spec.template.process.env.ORDINAL_X', message: 'ORDINAL_* variables are set by Ordinal itself' },
      ],
    },
    {
      // The API refuses the path as a bad request; the name's issue is the manifest's, the same both ways.
      name: 'an invalid name',
      set: uniqueName('Bad_Name'),
      spec: {},
      api: 'BadRequest',
      details: [{ path: 'metadata.name', message: LABEL_RULE }],
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const name = c.set ?? uniqueName('parity');
      const document = manifest(name, c.spec);
      const api = await putThroughApi(name, document);
      // The API validates first: no workflow was started.
      expect(await querySet(name)).toBeUndefined();

      const direct = await applyThroughTemporal(name, document);
      expectSameRefusal(api, direct, { api: c.api ?? 'InvalidManifest', direct: 'InvalidManifest', details: c.details });
      // The workflow runs (it waits for a valid first manifest), but the set was never created.
      expect(await querySet(name)).toBeNull();
      expect(await ordinal.sets.get(name)).toBeUndefined();
    });
  }
});

describe('a bad change to an existing set is refused the same by the API and by the workflow', () => {
  let name: string;
  let before: SetView;

  beforeAll(async () => {
    name = uniqueName('parity');
    const created = await ordinal.api(`/v1/sets/${name}`, { method: 'PUT', body: manifest(name, { volumeClaimTemplates: [{ metadata: { name: 'data' } }] }) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const changed = await ordinal.api(`/v1/sets/${name}`, { method: 'PUT', body: manifest(name, { replicas: 0, minReadySeconds: 1, volumeClaimTemplates: [{ metadata: { name: 'data' } }] }) });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    before = changed.body as SetView;
    expect(before.metadata.generation).toBe(2);
  });

  /** The set as GET and the workflow's query see it: generation and spec as before. */
  async function expectUnchanged(): Promise<void> {
    const got = await ordinal.api(`/v1/sets/${name}`);
    expect(got.status).toBe(200);
    expect(got.body.metadata.generation).toBe(before.metadata.generation);
    expect(got.body.spec).toEqual(before.spec);
    const queried = await querySet(name);
    expect(queried?.metadata.generation).toBe(before.metadata.generation);
    expect(queried?.spec).toEqual(before.spec);
  }

  const base = (spec: Doc = {}) => ({ minReadySeconds: 1, volumeClaimTemplates: [{ metadata: { name: 'data' } }], ...spec });

  const cases: Array<{ name: string; spec: Doc; expectedGeneration?: number; code: string; message?: string; details: FieldIssue[] }> = [
    { name: 'replicas 2^53', spec: base({ replicas: 2 ** 53 }), code: 'InvalidManifest', details: [{ path: 'spec.replicas', message: 'must be at most 1000' }] },
    { name: 'a negative replicas', spec: base({ replicas: -1 }), code: 'InvalidManifest', details: [{ path: 'spec.replicas', message: 'must be at least 0' }] },
    {
      name: 'a huge reserveOrdinals list',
      spec: base({ reserveOrdinals: Array.from({ length: 20_000 }, (_, i) => i) }),
      code: 'InvalidManifest',
      details: [{ path: 'spec.reserveOrdinals', message: 'must list at most 1000 ordinals' }],
    },
    {
      name: 'an immutable field change (serviceName, volumeClaimTemplates)',
      spec: { minReadySeconds: 1, serviceName: 'other', volumeClaimTemplates: [{ metadata: { name: 'logs' } }] },
      code: 'InvalidManifest',
      message: 'the manifest changes immutable fields',
      details: [
        { path: 'spec.serviceName', message: 'cannot change once the set exists: it names every DNS record clients use; create a new set to change it' },
        { path: 'spec.volumeClaimTemplates', message: "cannot change once the set exists: existing instances' data lives in the volumes; create a new set to change them" },
      ],
    },
    {
      name: 'a stale expectedGeneration (If-Match)',
      spec: base({ replicas: 0, minReadySeconds: 2 }),
      expectedGeneration: 1,
      code: 'Conflict',
      details: [],
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const document = manifest(name, c.spec);
      const api = await putThroughApi(name, document, c.expectedGeneration);
      await expectUnchanged();
      const direct = await applyThroughTemporal(name, document, c.expectedGeneration);
      expectSameRefusal(api, direct, { api: c.code, direct: c.code, details: c.details, message: c.message });
      // A Conflict names the generation the set is at, the same both ways.
      if (c.code === 'Conflict') {
        expect(api.message).toBe(`set '${name}' is at generation 2, not 1: it changed meanwhile; read it again and retry`);
        expect(direct.message).toBe(api.message);
      }
      await expectUnchanged();
    });
  }
});

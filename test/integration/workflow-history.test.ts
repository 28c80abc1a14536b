// What the Temporal side shows and keeps: continue-as-new with the state and without losing updates,
// search attributes for the UI's filters, and readable activity summaries.
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SetsService } from '../../api/sets.js';
import { workflowIdForSet } from '../../core/names.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { fixtureManifest, isReady, waitForSet } from '../harness/sets.js';
import { waitFor } from '../harness/services.js';

let ordinal: TestOrdinal;

beforeAll(async () => {
  // A low history limit, so a handful of changes makes the workflow continue-as-new.
  ordinal = await startTestOrdinal({ workflowLimits: { maxHistoryEvents: 40 } });
});

afterAll(async () => {
  await ordinal?.stop();
});

async function runIds(name: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of ordinal.client.workflow.list({ query: `WorkflowId = '${workflowIdForSet(name)}'` })) {
    ids.push(execution.runId);
  }
  return ids;
}

describe.sequential('the set workflow in Temporal', () => {
  it('continues as new with its state, and no update is lost across runs', async () => {
    const name = uniqueName('can');
    let generation = (await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 1 }))).set.metadata.generation;
    await waitForSet(ordinal.sets, name, (v) => isReady(v));
    const firstRun = (await ordinal.client.workflow.getHandle(workflowIdForSet(name)).describe()).runId;

    // Each change is conditional on the generation before it: a dropped update would break the chain.
    for (let i = 0; i < 8; i++) {
      const replicas = i % 2 === 0 ? 2 : 1;
      const result = await ordinal.sets.apply(name, fixtureManifest(name, { replicas }), { expectedGeneration: generation });
      expect(result.set.metadata.generation).toBe(generation + 1);
      generation = result.set.metadata.generation;
      if (i % 3 === 0) await waitForSet(ordinal.sets, name, (v) => isReady(v, replicas));
    }
    await ordinal.sets.deleteInstance(name, 0);

    const view = await waitForSet(ordinal.sets, name, (v) => isReady(v, 1) && v.status.instances[0].incarnation > 1, { timeoutMs: 90_000 });
    expect(view.metadata.generation).toBe(generation);
    expect(view.spec.replicas).toBe(1);
    const runs = await waitFor(async () => {
      const ids = await runIds(name);
      return ids.length > 1 ? ids : undefined;
    }, { message: 'a second run' });
    expect(runs).toContain(firstRun);
    const current = await ordinal.client.workflow.getHandle(workflowIdForSet(name)).describe();
    expect(current.runId).not.toBe(firstRun);
    expect(current.historyLength).toBeLessThan(200);
  });

  it('keeps search attributes current for the UI and `temporal workflow list --query`', async () => {
    const name = uniqueName('sa');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2 }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v));
    const found = await waitFor(
      async () => {
        const ids: string[] = [];
        for await (const e of ordinal.client.workflow.list({
          query: `OrdinalSet = '${name}' AND ExecutionStatus = 'Running' AND OrdinalPhase = 'Ready' AND OrdinalReplicas = 2 AND OrdinalReadyReplicas = 2`,
        })) {
          ids.push(e.workflowId);
        }
        return ids.length === 1 ? ids : undefined;
      },
      { message: 'search attributes of a Ready set' },
    );
    expect(found).toEqual([workflowIdForSet(name)]);
  });

  it('gives its activities summaries that read as a timeline', async () => {
    // Default limits: the whole story stays in one run's history.
    const sets = new SetsService(ordinal.client, { taskQueue: ordinal.config.temporal.taskQueue });
    const name = uniqueName('ui');
    await sets.apply(name, fixtureManifest(name, { replicas: 2 }));
    await waitForSet(sets, name, (v) => isReady(v));
    const history = await ordinal.client.workflow.getHandle(workflowIdForSet(name)).fetchHistory();
    const summaries = (history.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => (e.userMetadata?.summary ? defaultPayloadConverter.fromPayload<string>(e.userMetadata.summary) : undefined));
    // Under OrderedReady each create waits for readiness itself: one step per ordinal, in order.
    expect(summaries.every((s) => typeof s === 'string' && s.length > 0)).toBe(true);
    const creates = summaries.filter((s) => s?.startsWith('create '));
    expect(creates).toEqual([`create ${name}-0 and wait until Ready`, `create ${name}-1 and wait until Ready`]);
    expect(summaries.indexOf(`create ${name}-0 and wait until Ready`)).toBeLessThan(summaries.indexOf(`create ${name}-1 and wait until Ready`));
    expect(summaries.at(-1)).toBe(`watch ${name} (2 instances)`);
  });
});

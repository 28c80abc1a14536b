// ORDINAL_WORKFLOW_CACHE bounds the set workflows the worker keeps in memory. With more sets than the
// cache holds, every set still answers and changes as asked: one out of the cache replays its history.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';

let ordinal: TestOrdinal;

beforeAll(async () => {
  ordinal = await startTestOrdinal({ env: { ORDINAL_WORKFLOW_CACHE: '2' } });
});

afterAll(async () => {
  await ordinal?.stop();
});

/** A set with no instances: the workflow is what is tested, not processes. */
function manifest(name: string, minReadySeconds: number) {
  return {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: { replicas: 0, minReadySeconds, template: { process: { command: ['node', 'server.mjs'] } } },
  };
}

describe('a workflow cache smaller than the number of sets', () => {
  it('is the worker setting', () => {
    expect(ordinal.worker().worker.options.maxCachedWorkflows).toBe(2);
  });

  it('evicts sets, which still answer and change as asked', async () => {
    const names = Array.from({ length: 5 }, () => uniqueName('cache'));
    for (const name of names) {
      const res = await ordinal.api(`/v1/sets/${name}`, { method: 'PUT', body: manifest(name, 1) });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    // Five sets, two cached: each of these steps finds most sets evicted, and replays them.
    for (const name of names) {
      const res = await ordinal.api(`/v1/sets/${name}`, { method: 'PUT', body: manifest(name, 2) });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.metadata.generation).toBe(2);
    }
    for (const name of names) {
      const res = await ordinal.api(`/v1/sets/${name}`);
      expect(res.status).toBe(200);
      expect(res.body.metadata.generation).toBe(2);
      expect(res.body.spec.minReadySeconds).toBe(2);
    }
  });
});

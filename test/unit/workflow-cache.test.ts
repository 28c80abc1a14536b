// The worker's workflow cache: its size from the heap limit, and ORDINAL_WORKFLOW_CACHE.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config.js';
import { CACHED_SET_MIB, defaultWorkflowCache } from '../../worker/workflow-cache.js';

const env = (value?: string) => ({ ORDINAL_DATA_DIR: '/tmp/ordinal-cache-test', ORDINAL_DNS_UPSTREAM: 'none', ...(value === undefined ? {} : { ORDINAL_WORKFLOW_CACHE: value }) });

describe('the default workflow cache', () => {
  it('holds as many sets as the heap leaves room for at the measured cost of one', () => {
    expect(defaultWorkflowCache(4096)).toBe(Math.floor((4096 - 400) / CACHED_SET_MIB));
    expect(defaultWorkflowCache(2048)).toBeGreaterThan(defaultWorkflowCache(1024));
  });

  it('holds 2,000 sets on a 2 GiB heap', () => {
    expect(defaultWorkflowCache(2048)).toBeGreaterThanOrEqual(2000);
  });

  it('never falls below a few hundred sets, however small the heap', () => {
    expect(defaultWorkflowCache(256)).toBe(200);
  });
});

describe('ORDINAL_WORKFLOW_CACHE', () => {
  it('is absent unless set: the default applies', () => {
    expect(loadConfig(env(), '/', () => '').workflowCache).toBeUndefined();
    expect(loadConfig(env(''), '/', () => '').workflowCache).toBeUndefined();
  });

  it('sets the cache size', () => {
    expect(loadConfig(env('5000'), '/', () => '').workflowCache).toBe(5000);
  });

  it.each(['1', '0', '-3', '2.5', 'many', '1000001'])('refuses %s', (value) => {
    expect(() => loadConfig(env(value), '/', () => '')).toThrow(/ORDINAL_WORKFLOW_CACHE must be an integer from 2 to 1000000/);
  });
});

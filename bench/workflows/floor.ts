// Scenario 1's baseline: a bare workflow running `count` sequential no-op activities. Bundled on its own
// (bench/workflows/index.ts), never with Ordinal's workflows.
import { proxyActivities } from '@temporalio/workflow';
import type { floorActivities } from './activities.js';

const { noop } = proxyActivities<typeof floorActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});

export async function floor(count: number): Promise<number> {
  for (let i = 0; i < count; i++) await noop();
  return count;
}

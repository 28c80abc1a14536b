// Replay tests: every history in test/fixtures/histories/ (recorded by test/replay/record.ts, some on
// the released code) is replayed against the current workflow code. A change that is not deterministic
// for an existing history (an activity, timer or local activity added, removed or reordered without a
// patched() branch) fails here, naming the file. Needs no Temporal server: replay runs in-process.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime, Worker, DefaultLogger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { bundleWorkflows } from '../../worker/workflow-bundle.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { historyFromJsonValue } from './history-json.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HISTORIES = path.join(REPO, 'test/fixtures/histories');
const files = fs.existsSync(HISTORIES) ? fs.readdirSync(HISTORIES).filter((f) => f.endsWith('.json')).sort() : [];

let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  // Replay failures come back as results; keep the SDK's own logging to errors.
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Installed already (another test file of this worker).
  }
  // ORDINAL_REPLAY_WORKFLOWS points at another workflows entry, e.g. a scratch copy to see a change fail.
  // The worker's own bundling (shared modules preloaded), so the replay runs what the worker runs.
  const code = await bundleWorkflows({
    workflowsPath: process.env.ORDINAL_REPLAY_WORKFLOWS ?? path.join(REPO, 'workflows/index.ts'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m) => process.stderr.write(`${m}\n`) },
  });
  bundle = { code, sourceMap: '' };
}, 120_000);

describe('recorded workflow histories replay on the current workflow code', () => {
  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s', async (file) => {
    const history = historyFromJsonValue(JSON.parse(fs.readFileSync(path.join(HISTORIES, file), 'utf8')));
    try {
      await Worker.runReplayHistory({ workflowBundle: bundle, replayName: file }, history, file.replace(/\.json$/, ''));
    } catch (error) {
      throw new Error(`${file} does not replay on the current workflow code: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, {
        cause: error,
      });
    }
  }, 60_000);
});

// What every scenario shares in one run: a temporary folder, ONE Temporal dev server (its own SQLite
// file), both workflow bundles (Ordinal's and the bench's floor, built once each), unique loopback
// address pools and task queues, the clean-up list, and R once scenario 1 has measured it.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startDevServer } from '../../infra/dev-server.js';
import { findTemporalCli } from '../../infra/tools.js';
import { bundleWorkflows } from '../../worker/workflow-bundle.js';
import type { BenchOptions } from './options.js';
import { BENCH_DIR, Cleanup, REPO_ROOT, TMP_PREFIX } from './procs.js';

export interface BenchContext {
  options: BenchOptions;
  tmp: string;
  temporalAddress: string;
  /** The dev server's pid, to read its CPU time. */
  temporalPid: number;
  namespace: string;
  temporalCli: string;
  ordinalBundle: string;
  floorBundle: string;
  cleanup: Cleanup;
  /** Where CPU profiles go with --profile. */
  profileDir?: string;
  /** The durable-step floor R in ms, set by scenario 1. */
  R?: number;
  log(message: string): void;
  /** A loopback /16 no other stack of this run uses: 127.200.0.0/16, 127.201.0.0/16, ... */
  nextPool(): string;
  /** A task queue no other stack of this run uses. */
  taskQueue(prefix: string): string;
}

export async function createContext(options: BenchOptions, cleanup: Cleanup, log: (m: string) => void): Promise<BenchContext> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX));
  fs.writeFileSync(path.join(tmp, 'owner.pid'), `${process.pid}\n`);
  cleanup.add('temporary folder', () => {
    if (options.keep) log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  });

  const temporalCli = await findTemporalCli();
  const started = Date.now();
  let profileDir: string | undefined;
  if (options.profile) {
    profileDir = path.join(BENCH_DIR, 'results/profiles');
    fs.rmSync(profileDir, { recursive: true, force: true });
    fs.mkdirSync(profileDir, { recursive: true });
  }
  // With --profile the bundles stay beside the profiles, so their frames can be traced to modules.
  const bundleDir = profileDir ?? tmp;
  const ordinalBundle = path.join(bundleDir, 'ordinal-workflows.js');
  const floorBundle = path.join(bundleDir, 'floor-workflows.js');
  const [server] = await Promise.all([
    startDevServer({ cli: temporalCli, dbFile: path.join(tmp, 'temporal.db'), uiPort: 'headless', logFile: path.join(tmp, 'temporal.log') }).then((s) => {
      cleanup.add('temporal dev server', () => s.stop());
      return s;
    }),
    // Ordinal's bundle as its worker builds it; the floor's plain (it shares nothing).
    bundleWorkflows({ logger: BUNDLE_LOGGER }).then((code) => fs.writeFileSync(ordinalBundle, code)),
    bundle(path.join(BENCH_DIR, 'workflows/index.ts'), floorBundle),
  ]);
  log(`temporal dev server ${server.address} and workflow bundles ready in ${((Date.now() - started) / 1000).toFixed(1)} s (data in ${tmp})`);

  let pool = 200;
  return {
    options,
    tmp,
    temporalAddress: server.address,
    temporalPid: server.pid,
    namespace: server.namespace,
    temporalCli,
    ordinalBundle,
    floorBundle,
    cleanup,
    profileDir,
    log,
    nextPool() {
      if (pool > 254) throw new Error('out of loopback pools');
      return `127.${pool++}.0.0/16`;
    },
    taskQueue(prefix: string) {
      return `bench-${prefix}-${randomBytes(3).toString('hex')}`;
    },
  };
}

const BUNDLE_LOGGER = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => process.stderr.write(`${m}\n`) };

async function bundle(workflowsPath: string, file: string): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    logger: BUNDLE_LOGGER,
  });
  fs.writeFileSync(file, code);
}

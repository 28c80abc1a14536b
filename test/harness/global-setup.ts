// Vitest global setup for the `integration` project: ONE Temporal dev server (temp SQLite file, free
// ports, Ordinal's search attributes) and ONE moto_server for the whole run, stopped at the end.
// Tests read their addresses through test/harness/services.ts.
//
// TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE) point the suite at an existing Temporal server instead;
// its search attributes are added if missing. MOTO_ENDPOINT does the same for moto.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { bundleWorkflows as bundleWorkerWorkflows } from '../../worker/workflow-bundle.js';
import type { TestProject } from 'vitest/node';
import { isAlive } from '../../infra/child-processes.js';
import { ensureSearchAttributes, startDevServer, type DevServer } from '../../infra/dev-server.js';
import { startMotoServer, type MotoServer } from '../tools/moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** gRPC address of the shared Temporal server, 'host:port'. */
    temporalAddress: string;
    temporalNamespace: string;
    /** 'http://127.0.0.1:PORT' of the shared moto_server. */
    motoEndpoint: string;
    /** The workflow bundle, built once for the run (workers load it through ORDINAL_WORKFLOW_BUNDLE). */
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  await removeStaleTempDirs();
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  await fs.writeFile(path.join(tmp, 'owner.pid'), `${process.pid}\n`);
  const namespace = process.env.TEMPORAL_NAMESPACE || 'default';
  const stops: Array<() => Promise<void>> = [];
  const teardown = async () => {
    await Promise.allSettled(stops.map((stop) => stop()));
    await fs.rm(tmp, { recursive: true, force: true });
  };

  const bundlePath = path.join(tmp, 'workflow-bundle.js');
  const [temporal, moto, bundle] = await Promise.allSettled([
    startTemporal(namespace, tmp),
    process.env.MOTO_ENDPOINT
      ? Promise.resolve({ endpoint: process.env.MOTO_ENDPOINT })
      : startMotoServer({ logFile: path.join(tmp, 'moto.log') }),
    bundleWorkflows(bundlePath),
  ]);
  if (temporal.status === 'fulfilled' && 'stop' in temporal.value) stops.push(() => (temporal.value as DevServer).stop());
  if (moto.status === 'fulfilled' && 'stop' in moto.value) stops.push(() => (moto.value as MotoServer).stop());
  if (temporal.status === 'rejected' || moto.status === 'rejected' || bundle.status === 'rejected') {
    await teardown();
    const errors = [temporal, moto, bundle].filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    throw errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map(String).join('\n'));
  }

  project.provide('temporalAddress', temporal.value.address);
  project.provide('temporalNamespace', namespace);
  project.provide('motoEndpoint', moto.value.endpoint);
  project.provide('workflowBundlePath', bundlePath);
  if (process.env.ORDINAL_TEST_VERBOSE) {
    process.stderr.write(
      `[global-setup] temporal ${temporal.value.address}, moto ${moto.value.endpoint} ready in ${Date.now() - started} ms\n`,
    );
  }
  return teardown;
}

const TMP_PREFIX = 'ordinal-test-';

/** Bundles the workflows once (webpack takes seconds) for every worker of the run. */
async function bundleWorkflows(file: string): Promise<void> {
  const code = await bundleWorkerWorkflows({
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m) => process.stderr.write(`${m}\n`) },
  });
  await fs.writeFile(file, code);
}

/** Temp folders of earlier runs that were killed before their teardown (their owner is gone). */
async function removeStaleTempDirs(): Promise<void> {
  const entries = await fs.readdir(os.tmpdir()).catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((name) => name.startsWith(TMP_PREFIX))
      .map(async (name) => {
        const dir = path.join(os.tmpdir(), name);
        const owner = Number(await fs.readFile(path.join(dir, 'owner.pid'), 'utf8').catch(() => NaN));
        if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) await fs.rm(dir, { recursive: true, force: true });
      }),
  );
}


async function startTemporal(namespace: string, tmp: string): Promise<DevServer | { address: string }> {
  const external = process.env.TEMPORAL_ADDRESS;
  if (!external) {
    return startDevServer({
      dbFile: path.join(tmp, 'temporal.db'),
      uiPort: 'headless',
      namespace,
      logFile: path.join(tmp, 'temporal.log'),
    });
  }
  const connection = await Connection.connect({ address: external, connectTimeout: 30_000 });
  try {
    await ensureSearchAttributes(connection, namespace);
  } finally {
    await connection.close();
  }
  return { address: external };
}

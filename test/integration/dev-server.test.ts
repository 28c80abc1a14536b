// The harness itself: the shared services global-setup.ts started, and the dev server launcher's
// persistence, search attribute registration, failure reporting and clean stop.
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureSearchAttributes,
  listCustomSearchAttributes,
  ORDINAL_SEARCH_ATTRIBUTES,
  startDevServer,
  type DevServer,
} from '../../infra/dev-server.js';
import { motoEndpoint, temporalAddress, temporalNamespace, waitFor } from '../harness/services.js';

describe('shared services', () => {
  it('the Temporal server answers and has the Ordinal search attributes with their types', async () => {
    const connection = await Connection.connect({ address: temporalAddress() });
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBeTruthy();
      const ns = await connection.workflowService.describeNamespace({ namespace: temporalNamespace() });
      expect(ns.namespaceInfo?.name).toBe(temporalNamespace());
      const attributes = await listCustomSearchAttributes(connection, temporalNamespace());
      expect(attributes).toMatchObject({
        OrdinalSet: 'Keyword',
        OrdinalReplicas: 'Int',
        OrdinalReadyReplicas: 'Int',
        OrdinalPhase: 'Keyword',
      });
      expect(Object.keys(ORDINAL_SEARCH_ATTRIBUTES).sort()).toEqual(
        ['OrdinalPhase', 'OrdinalReadyReplicas', 'OrdinalReplicas', 'OrdinalSet'],
      );
    } finally {
      await connection.close();
    }
  });

  it('moto_server answers HTTP', async () => {
    expect(motoEndpoint()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${motoEndpoint()}/moto-api/`);
    await response.body?.cancel();
    expect(response.status).toBeLessThan(500);
  });
});

describe('startDevServer', () => {
  let tmp: string;
  const servers: DevServer[] = [];

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ordinal-dev-server-test-'));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });
  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  async function start(options: Partial<Parameters<typeof startDevServer>[0]> & { dbFile: string }) {
    const server = await startDevServer({ uiPort: 'headless', ...options });
    servers.push(server);
    return server;
  }

  async function withConnection<T>(server: DevServer, fn: (connection: Connection) => Promise<T>): Promise<T> {
    const connection = await Connection.connect({ address: server.address });
    try {
      return await fn(connection);
    } finally {
      await connection.close();
    }
  }

  it('keeps namespaces and search attributes in its SQLite file across a restart, and stops cleanly', async () => {
    const dbFile = path.join(tmp, 'persist.db');
    const first = await start({ dbFile });
    expect(first.address).toMatch(/^127\.0\.0\.1:\d+$/);
    await withConnection(first, async (connection) => {
      await connection.workflowService.registerNamespace({
        namespace: 'ordinal-persist-test',
        workflowExecutionRetentionPeriod: msToTs('1 day'),
      });
      await ensureSearchAttributes(connection, 'default', { OrdinalPersistProbe: 'Text' });
    });
    await first.stop();
    await expectGone(first);

    // Same db, same --search-attribute flags again (what `ordinal up` does on every start).
    const second = await start({ dbFile });
    await withConnection(second, async (connection) => {
      const ns = await connection.workflowService.describeNamespace({ namespace: 'ordinal-persist-test' });
      expect(ns.namespaceInfo?.name).toBe('ordinal-persist-test');
      expect(await listCustomSearchAttributes(connection, 'default')).toMatchObject({
        ...ORDINAL_SEARCH_ATTRIBUTES,
        OrdinalPersistProbe: 'Text',
      });
    });
    await second.stop();
    await expectGone(second);
    await second.stop(); // idempotent
  });

  it('ensureSearchAttributes adds missing attributes, is idempotent, and rejects a type clash', async () => {
    const server = await start({ dbFile: path.join(tmp, 'bare.db'), searchAttributes: {} });
    await withConnection(server, async (connection) => {
      const before = await listCustomSearchAttributes(connection, 'default');
      expect(before).not.toHaveProperty('OrdinalSet');
      await ensureSearchAttributes(connection, 'default');
      await ensureSearchAttributes(connection, 'default');
      expect(await listCustomSearchAttributes(connection, 'default')).toMatchObject(ORDINAL_SEARCH_ATTRIBUTES);
      await expect(ensureSearchAttributes(connection, 'default', { OrdinalSet: 'Int' })).rejects.toThrow(
        /OrdinalSet is Keyword, Ordinal needs Int/,
      );
    });
  });

  it('creates the requested namespace and serves the UI on a free port', async () => {
    const server = await start({ dbFile: path.join(tmp, 'ns.db'), namespace: 'ordinal-ns-test', uiPort: 0 });
    expect(server.namespace).toBe('ordinal-ns-test');
    expect(server.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await withConnection(server, async (connection) => {
      expect(await listCustomSearchAttributes(connection, 'ordinal-ns-test')).toMatchObject(ORDINAL_SEARCH_ATTRIBUTES);
    });
    const ui = await waitFor(() => fetch(server.uiUrl!).catch(() => undefined), {
      timeoutMs: 30_000,
      message: `the UI at ${server.uiUrl}`,
    });
    await ui.body?.cancel();
    expect(ui.status).toBeLessThan(500);
  });

  it('fails fast with the server output when the process exits early', async () => {
    const dbFile = path.join(tmp, 'no-such-dir', 'x', 'temporal.db');
    const started = Date.now();
    await expect(startDevServer({ dbFile, uiPort: 'headless' })).rejects.toThrow(/exited.*\n[\s\S]*\S/);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('refuses a fixed port that is already in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(startDevServer({ dbFile: path.join(tmp, 'busy.db'), port, uiPort: 'headless' })).rejects.toThrow(
        /already in use/,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

/** The process is gone and its gRPC port can be bound again. */
async function expectGone(server: DevServer): Promise<void> {
  let code: string | undefined;
  try {
    process.kill(server.pid, 0);
  } catch (err) {
    code = (err as NodeJS.ErrnoException).code;
  }
  expect(code, `pid ${server.pid} should be gone`).toBe('ESRCH');
  const port = Number(server.address.split(':').pop());
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

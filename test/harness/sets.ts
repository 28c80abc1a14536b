// Helpers to describe and watch sets in integration tests: manifests for the test fixture program,
// its event timeline, and DNS queries over TCP.
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import type { SetsService } from '../../api/sets.js';
import type { SetView } from '../../core/status.js';
import { readJsonLines } from './json-lines.js';
import { waitFor } from './services.js';

export const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/instance.mjs');

export interface FixtureManifestOptions {
  replicas: number;
  /** Extra fixture arguments (see test/fixtures/instance.mjs). */
  args?: string[];
  eventsFile?: string;
  livenessProbe?: Record<string, unknown>;
  readinessPeriodSeconds?: number;
  env?: Record<string, string>;
  /** DNS TTL: also how long an instance keeps running after its record is withdrawn (default 1 s). */
  ttl?: number;
  /** Extra spec fields (Kubernetes StatefulSet fields: updateStrategy, minReadySeconds, ...). */
  spec?: Record<string, unknown>;
}

/** A manifest whose instances run the fixture on port 8080, Ready when /healthz answers 200. */
export function fixtureManifest(name: string, options: FixtureManifestOptions) {
  const command = [process.execPath, FIXTURE, '--port', '8080', ...(options.eventsFile ? ['--events', options.eventsFile] : []), ...(options.args ?? [])];
  return {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      replicas: options.replicas,
      template: {
        process: { command, env: options.env ?? {} },
        ports: [{ name: 'http', port: 8080 }],
        readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: options.readinessPeriodSeconds ?? 1 },
        ...(options.livenessProbe ? { livenessProbe: options.livenessProbe } : {}),
        terminationGracePeriodSeconds: 5,
      },
      dns: { ttl: options.ttl ?? 1 },
      ...options.spec,
    },
  };
}

export interface FixtureEvent {
  event: 'start' | 'listening' | 'sigterm' | 'exit';
  name: string;
  incarnation: number;
  pid: number;
  address: string;
  t: number;
}

/** The fixture's timeline so far (its --events file). */
export function readEvents(file: string): FixtureEvent[] {
  return readJsonLines<FixtureEvent>(file);
}

/** Polls the set until `predicate` holds; returns the view that satisfied it. */
export async function waitForSet(
  sets: SetsService,
  name: string,
  predicate: (view: SetView) => boolean,
  options: { timeoutMs?: number; message?: string } = {},
): Promise<SetView> {
  return waitFor(
    async () => {
      const view = await sets.get(name);
      return view && predicate(view) ? view : undefined;
    },
    { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 200, message: options.message ?? `set ${name}` },
  );
}

export function isReady(view: SetView, replicas = view.spec.replicas): boolean {
  return (
    view.status.observedGeneration === view.metadata.generation &&
    view.status.readyReplicas === replicas &&
    view.status.replicas === replicas &&
    view.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** One DNS query over TCP (RFC 1035 length framing), answered records returned. */
export function queryTcp(port: number, name: string, type: 'A' | 'SRV' | 'SOA' = 'A'): Promise<dnsPacket.Packet> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    socket.setTimeout(3000, () => socket.destroy(new Error('DNS over TCP timed out')));
    socket.on('connect', () => {
      socket.write(dnsPacket.streamEncode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }));
    });
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length >= 2 && buffer.length >= 2 + buffer.readUInt16BE(0)) {
        socket.end();
        resolve(dnsPacket.streamDecode(buffer));
      }
    });
    socket.on('error', reject);
  });
}

/** A's values at a name over UDP, or [] when the name does not exist. */
export async function resolveA(resolver: import('node:dns').promises.Resolver, name: string): Promise<string[]> {
  try {
    return (await resolver.resolve4(name)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTFOUND' || (err as NodeJS.ErrnoException).code === 'ENODATA') return [];
    throw err;
  }
}

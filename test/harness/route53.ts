// Route 53 test helpers: dummy AWS configuration for moto, an admin client that talks to moto
// directly (zones, foreign records, hand edits, and the zone's true contents), and record builders.
import { randomBytes } from 'node:crypto';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { desiredRecords, type RecordSet } from '../../core/dns-records.js';
import { createRoute53, type Route53, type Route53Options } from '../../activities/dns/route53/client.js';
import { ownershipName } from '../../activities/dns/route53/ownership.js';

/** Dummy credentials and region, as moto wants; set before any client is made. */
export function useDummyAwsConfiguration(): void {
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  // On Node 20 the SDK warns that its 2027 releases need Node 22; in test output that is noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
}

/** A Route53 as Ordinal uses it, with quick retries and polls for tests. */
export function testRoute53(endpoint: string, options: Route53Options = {}): Route53 {
  return createRoute53({
    client: { endpoint },
    retry: { baseMs: 10, maxMs: 200, deadlineMs: 60_000 },
    poll: { initialMs: 20, maxMs: 200 },
    ...options,
  });
}

export function uniqueZone(prefix = 'r53'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}.internal`;
}

/** Talks to moto directly, bypassing any proxy. */
export class MotoAdmin {
  readonly sdk: Route53Client;

  constructor(endpoint: string) {
    this.sdk = new Route53Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  }

  async createZone(name: string, options: { private?: boolean } = {}): Promise<string> {
    const { HostedZone } = await this.sdk.send(
      new CreateHostedZoneCommand({
        Name: name,
        CallerReference: randomBytes(8).toString('hex'),
        ...(options.private ? { VPC: { VPCRegion: 'us-east-1', VPCId: 'vpc-0123456789abcdef0' }, HostedZoneConfig: { PrivateZone: true } } : {}),
      }),
    );
    return HostedZone!.Id!.replace('/hostedzone/', '');
  }

  /** Someone else's change, straight to moto. */
  async change(zoneId: string, action: 'CREATE' | 'UPSERT' | 'DELETE', record: { name: string; type: string; ttl: number; values: string[] }): Promise<void> {
    await this.sdk.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: action,
              ResourceRecordSet: { Name: `${record.name}.`, Type: record.type as ResourceRecordSet['Type'], TTL: record.ttl, ResourceRecords: record.values.map((Value) => ({ Value })) },
            },
          ],
        },
      }),
    );
  }

  async list(zoneId: string): Promise<ResourceRecordSet[]> {
    const all: ResourceRecordSet[] = [];
    let start: { StartRecordName?: string; StartRecordType?: ResourceRecordSet['Type'] } = {};
    for (;;) {
      const page = await this.sdk.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start }));
      all.push(...(page.ResourceRecordSets ?? []));
      if (!page.IsTruncated) return all;
      start = { StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType };
    }
  }

  /** The zone as sorted lines "name TYPE ttl v1|v2", without the apex SOA and NS. */
  async lines(zoneId: string): Promise<string[]> {
    const lines: string[] = [];
    for (const r of await this.list(zoneId)) {
      if (r.Type === 'SOA' || r.Type === 'NS') continue;
      lines.push(line(r.Name ?? '', r.Type ?? '', r.TTL ?? 0, (r.ResourceRecords ?? []).map((v) => v.Value ?? '')));
    }
    return lines.sort();
  }

  close(): void {
    this.sdk.destroy();
  }
}

/** What the zone must hold: every wanted record set with its ownership TXT, plus `foreign` lines. */
export function expectedLines(ownerId: string, desired: Record<string, RecordSet[]>, foreign: string[] = []): string[] {
  const lines = [...foreign];
  for (const [set, records] of Object.entries(desired)) {
    for (const r of records) {
      lines.push(line(r.name, r.type, r.ttl, r.values));
      lines.push(line(ownershipName(r.name, r.type), 'TXT', r.ttl, [`"heritage=ordinal,owner=${ownerId},set=${set}"`]));
    }
  }
  return lines.sort();
}

export function line(name: string, type: string, ttl: number, values: string[]): string {
  const norm = (v: string) => (type === 'SRV' ? v.trim().toLowerCase().replace(/\.$/, '') : v);
  return `${name.toLowerCase().replace(/\.$/, '')} ${type} ${ttl} ${[...new Set(values.map(norm))].sort().join('|')}`;
}

/** A set's records as the core computes them: instances at the given addresses, one named port. */
export function setRecords(set: string, zone: string, addresses: string[], ttl = 5): RecordSet[] {
  return desiredRecords({
    set,
    serviceName: set,
    zone,
    ttl,
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    instances: addresses.map((address, ordinal) => ({ ordinal, address })),
  });
}

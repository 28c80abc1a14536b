// The DNS records a set should publish, computed from its Ready instances. Pure: the planner compares
// this against what was last published, and every DNS provider receives exactly this.
import { canonicalJson, fnv1a64 } from './revision.js';
import { instanceDnsName, serviceDnsName } from './names.js';

export type RecordType = 'A' | 'SRV';

/**
 * One record set: all values of one name and type (Route 53's unit, and the DNS RRset).
 * Values are in presentation format: an IPv4 address for A, "priority weight port target" for SRV.
 */
export interface RecordSet {
  name: string;
  type: RecordType;
  ttl: number;
  values: string[];
}

export interface PublishedInstance {
  ordinal: number;
  address: string;
  /** False: its own name resolves, but it is left out of the service records (cordoned). */
  inService?: boolean;
}

export interface RecordInput {
  set: string;
  serviceName: string;
  zone: string;
  ttl: number;
  ports: ReadonlyArray<{ name?: string; port: number; protocol: 'TCP' | 'UDP' }>;
  /** Instances whose names should resolve: Ready and not about to be removed. */
  instances: ReadonlyArray<PublishedInstance>;
}

/** SRV weight: every instance is an equal target. */
export const SRV_WEIGHT = 10;

/**
 * Per-instance A records, the service A record set (the headless service) and one SRV record set per
 * named port, in a stable order so equal inputs give equal output.
 */
export function desiredRecords(input: RecordInput): RecordSet[] {
  const instances = [...input.instances].sort((a, b) => a.ordinal - b.ordinal);
  if (instances.length === 0) return [];
  const service = serviceDnsName(input.serviceName, input.zone);
  const records: RecordSet[] = [];
  for (const instance of instances) {
    records.push({
      name: instanceDnsName(input.set, instance.ordinal, input.serviceName, input.zone),
      type: 'A',
      ttl: input.ttl,
      values: [instance.address],
    });
  }
  const inService = instances.filter((i) => i.inService !== false);
  if (inService.length === 0) return records.sort(compareRecordSets);
  records.push({
    name: service,
    type: 'A',
    ttl: input.ttl,
    values: uniqueSorted(inService.map((i) => i.address)),
  });
  for (const port of input.ports) {
    if (port.name === undefined) continue;
    records.push({
      name: `_${port.name}._${port.protocol.toLowerCase()}.${service}`,
      type: 'SRV',
      ttl: input.ttl,
      values: inService.map(
        (i) => `0 ${SRV_WEIGHT} ${port.port} ${instanceDnsName(input.set, i.ordinal, input.serviceName, input.zone)}`,
      ),
    });
  }
  return records.sort(compareRecordSets);
}

/** A short, stable digest of a list of record sets: what the workflow remembers as "published". */
export function recordsFingerprint(records: ReadonlyArray<RecordSet>): string {
  return fnv1a64(canonicalJson([...records].sort(compareRecordSets)));
}

export function compareRecordSets(a: RecordSet, b: RecordSet): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  return 0;
}

function uniqueSorted(values: string[]): string[] {
  return [...new Set(values)].sort();
}

/** Where a set's records go: the provider and, for Route 53, which hosted zone. */
export interface DnsTarget {
  provider: 'embedded' | 'route53';
  zone: string;
  hostedZoneId?: string;
  private?: boolean;
}

/** What publishing a set's records came to (the embedded provider always succeeds at once). */
export interface PublishOutcome {
  /** Names the set wants that someone else's records hold: never overwritten. */
  conflicts: Array<{ name: string; type: string; reason: string }>;
  /** Names whose change the provider has not confirmed as propagated yet. */
  propagating: string[];
  /** Changes the provider rejected. */
  failed: Array<{ name: string; type: string; code: string; message: string }>;
  /** Publishing could not run at all (credentials, access, zone): the provider's code and what to do. */
  error?: { code: string; message: string; hint: string };
}

export function sameTarget(a: DnsTarget | undefined, b: DnsTarget | undefined): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}

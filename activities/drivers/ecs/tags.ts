// Pure helpers of the ECS driver: how a task says whose it is (startedBy, tags), the RunTask client
// token, and reading a described task (address, health, status). No I/O, unit-tested.
import { createHash } from 'node:crypto';

export const TAG = {
  managedBy: 'ordinal:managed-by',
  set: 'ordinal:set',
  ordinal: 'ordinal:ordinal',
  incarnation: 'ordinal:incarnation',
  revision: 'ordinal:revision',
  /** The incarnation's terminationGracePeriodSeconds: how long a stop may take. */
  grace: 'ordinal:grace-seconds',
  /** Task definitions: the hash of the registration input. */
  hash: 'ordinal:hash',
  /** Access points: the volume claim template. */
  volume: 'ordinal:volume',
} as const;

export const MANAGED_BY = 'ordinal';

export interface Tag {
  key?: string;
  value?: string;
}

/**
 * RunTask's startedBy for every task of a set: `ordinal/<set>`. ListTasks filters on it exactly, so one
 * listing finds a set's tasks; the tags then say which instance each one is. (startedBy allows letters,
 * digits, '-', '/' and '_', up to 128 characters: set names are DNS labels of at most 52.)
 */
export function startedByOf(set: string): string {
  return `ordinal/${set}`;
}

/**
 * RunTask's clientToken for one incarnation: a retried RunTask with it returns the task the first one
 * started instead of starting another (for 24 hours; past that, and across restarts, the driver finds
 * the task by its tags before it runs anything). At most 64 ASCII characters.
 */
export function clientTokenOf(cluster: string, set: string, ordinal: number, incarnation: number): string {
  return createHash('sha256').update(`ordinal-run-task\n${clusterName(cluster)}\n${set}\n${ordinal}\n${incarnation}`).digest('hex');
}

/** CreateAccessPoint's ClientToken for one instance's volume (at most 64 characters). */
export function accessPointTokenOf(fileSystemId: string, path: string): string {
  return createHash('sha256').update(`ordinal-access-point\n${fileSystemId}\n${path}`).digest('hex');
}

/** The tags of one incarnation's task. */
export function taskTags(i: { set: string; ordinal: number; incarnation: number; revision: string; graceSeconds: number }): Array<{ key: string; value: string }> {
  return [
    { key: TAG.managedBy, value: MANAGED_BY },
    { key: TAG.set, value: i.set },
    { key: TAG.ordinal, value: String(i.ordinal) },
    { key: TAG.incarnation, value: String(i.incarnation) },
    { key: TAG.revision, value: i.revision },
    { key: TAG.grace, value: String(i.graceSeconds) },
  ];
}

export interface TaskIdentity {
  set: string;
  ordinal: number;
  incarnation: number;
  revision: string;
  graceSeconds?: number;
}

/** Whose task this is, from its tags; undefined for a task Ordinal did not tag (or tagged partly). */
export function identityFromTags(tags: Tag[] | undefined): TaskIdentity | undefined {
  const map = new Map((tags ?? []).map((t) => [t.key ?? '', t.value ?? '']));
  if (map.get(TAG.managedBy) !== MANAGED_BY) return undefined;
  const set = map.get(TAG.set);
  const ordinal = map.get(TAG.ordinal) ?? '';
  const incarnation = map.get(TAG.incarnation) ?? '';
  if (!set || !/^[0-9]{1,9}$/.test(ordinal) || !/^[0-9]{1,15}$/.test(incarnation)) return undefined;
  const grace = map.get(TAG.grace);
  return {
    set,
    ordinal: Number(ordinal),
    incarnation: Number(incarnation),
    revision: map.get(TAG.revision) ?? '',
    ...(grace !== undefined && /^[0-9]{1,5}$/.test(grace) ? { graceSeconds: Number(grace) } : {}),
  };
}

/** The cluster's name, from a name or an ARN (arn:aws:ecs:region:account:cluster/NAME). */
export function clusterName(cluster: string): string {
  const at = cluster.indexOf(':cluster/');
  return at >= 0 ? cluster.slice(at + ':cluster/'.length) : cluster;
}

/** What the driver reads of a described task (a subset of the SDK's Task, so tests can build them). */
export interface DescribedTask {
  taskArn?: string;
  clusterArn?: string;
  lastStatus?: string;
  desiredStatus?: string;
  stoppedReason?: string;
  stopCode?: string;
  healthStatus?: string;
  createdAt?: Date;
  startedAt?: Date;
  tags?: Tag[];
  attachments?: Array<{ type?: string; status?: string; details?: Array<{ name?: string; value?: string }> }>;
  containers?: Array<{ name?: string; healthStatus?: string; exitCode?: number; reason?: string; lastStatus?: string }>;
}

/** The private IPv4 address of the task's ENI, once ECS has attached it. */
export function taskAddress(task: DescribedTask): string | undefined {
  for (const attachment of task.attachments ?? []) {
    if (attachment.type !== 'ElasticNetworkInterface' && attachment.type !== 'eni') continue;
    const ip = attachment.details?.find((d) => d.name === 'privateIPv4Address')?.value;
    if (ip) return ip;
  }
  return undefined;
}

/** The ENI's id, when ECS reports the attachment but (not yet) its address. */
export function taskNetworkInterfaceId(task: DescribedTask): string | undefined {
  for (const attachment of task.attachments ?? []) {
    const id = attachment.details?.find((d) => d.name === 'networkInterfaceId')?.value;
    if (id) return id;
  }
  return undefined;
}

/** The named container's health (the task's when the container is not found). */
export function taskHealth(task: DescribedTask, containerName: string | undefined): 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN' {
  const container = task.containers?.find((c) => c.name === containerName) ?? (task.containers?.length === 1 ? task.containers[0] : undefined);
  const status = container?.healthStatus ?? task.healthStatus;
  return status === 'HEALTHY' || status === 'UNHEALTHY' ? status : 'UNKNOWN';
}

/** A stopped task's story for users: the stopped reason and the container's exit. */
export function stoppedMessage(task: DescribedTask, containerName: string | undefined): string {
  const container = task.containers?.find((c) => c.name === containerName) ?? task.containers?.[0];
  const parts = [`task ${taskId(task.taskArn ?? '')} stopped`];
  if (task.stoppedReason) parts.push(task.stoppedReason);
  if (container?.exitCode !== undefined && container.exitCode !== null) parts.push(`exit code ${container.exitCode}`);
  if (container?.reason) parts.push(container.reason);
  return parts.join(': ');
}

export function taskId(taskArn: string): string {
  return taskArn.slice(taskArn.lastIndexOf('/') + 1);
}

/** ECS lifecycle: everything before STOPPED holds (or may soon hold) the identity. */
export function isStopped(task: Pick<DescribedTask, 'lastStatus'>): boolean {
  return task.lastStatus === 'STOPPED' || task.lastStatus === 'DELETED';
}

/** Splits a list into chunks of at most `size` (DescribeTasks takes 100 tasks per call). */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

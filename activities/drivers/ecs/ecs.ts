// The ECS/Fargate driver: every instance is one Fargate task (awsvpc networking), tagged with its set,
// ordinal and incarnation, with startedBy `ordinal/<set>`. It keeps no state of its own: what runs is
// read back from ECS (ListTasks by startedBy, DescribeTasks with tags), so a restarted worker, or one on
// another host, adopts the tasks as they are. At most one incarnation per identity: before RunTask the
// identity's other tasks are stopped (StopTask with a reason) and confirmed STOPPED, within a deadline.
// RunTask's clientToken makes a retried create return the task the first attempt started.
import { EC2Client, DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import {
  DescribeTasksCommand,
  ECSClient,
  ListClustersCommand,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  type DesiredStatus,
} from '@aws-sdk/client-ecs';
import { EFSClient } from '@aws-sdk/client-efs';
import type { EcsTemplate } from '../../../core/manifest.js';
import { isDns1123Label } from '../../../core/names.js';
import { logger as rootLogger, type Logger } from '../../../infra/logger.js';
import {
  DriverError,
  type CreateRequest,
  type HealthStatus,
  type InstanceDriver,
  type InstanceExit,
  type InstanceHandle,
} from '../driver.js';
import { deleteInstanceAccessPoints, ensureAccessPoint, listAccessPoints, listFileSystemIds } from './access-points.js';
import {
  chunks,
  clientTokenOf,
  identityFromTags,
  isStopped,
  startedByOf,
  stoppedMessage,
  taskAddress,
  taskHealth,
  taskId,
  taskNetworkInterfaceId,
  taskTags,
  type DescribedTask,
  type TaskIdentity,
} from './tags.js';
import { containerNameOf, ensureTaskDefinition, FARGATE_MAX_STOP_TIMEOUT, planTaskDefinition } from './task-definition.js';
import { KeyedSlots } from '../../keyed-slots.js';

export interface EcsDriverOptions {
  /** AWS region (default: the SDK's, from AWS_REGION and the shared config). */
  region?: string;
  /** Another endpoint for ECS, EC2 and EFS (an emulator such as moto in tests). */
  endpoint?: string;
  /** Ready-made clients (tests, custom credentials); the driver does not close these. */
  clients?: { ecs?: ECSClient; ec2?: EC2Client; efs?: EFSClient };
  /**
   * Where to look for a set's tasks when this worker has not seen the set yet (a delete or an adoption
   * right after a restart): these clusters; default: every cluster of the account and region.
   */
  clusters?: string[];
  /** How often DescribeTasks refreshes watched tasks (default 2 s). */
  pollMs?: number;
  /** How long a new task may take to get its address (default 4 minutes, under the create activity's 5). */
  startTimeoutMs?: number;
  /** How much longer than the grace period a StopTask may take before the driver gives up (default 2 minutes). */
  stopMarginMs?: number;
  logger?: Logger;
}

/** What the driver knows of one task, refreshed by DescribeTasks. */
interface TaskState {
  arn: string;
  cluster: string;
  identity: TaskIdentity;
  lastStatus: string;
  desiredStatus: string;
  address?: string;
  eni?: string;
  health: HealthStatus;
  message: string;
  exitCode?: number;
  startedAt: number;
  /** Consecutive polls that did not find it (ECS forgets stopped tasks after a while). */
  misses: number;
}

interface Watcher {
  handles: InstanceHandle[];
  done: (exit: InstanceExit) => void;
}

/** Errors no retry fixes: the manifest or the account must change first. */
const PERMANENT_ERRORS = new Set([
  'ClientException',
  'InvalidParameterException',
  'ClusterNotFoundException',
  'AccessDeniedException',
  'UnsupportedFeatureException',
  'PlatformUnknownException',
  'PlatformTaskDefinitionIncompatibilityException',
  'BadRequest',
  'FileSystemNotFound',
  'AccessPointLimitExceeded',
  'ValidationError',
]);
const MISSES_BEFORE_GONE = 3;

export class EcsDriver implements InstanceDriver {
  readonly ecs: ECSClient;
  readonly ec2: EC2Client;
  readonly efs: EFSClient;
  private readonly owned: Array<{ destroy(): void }> = [];
  private readonly log: Logger;
  private readonly pollMs: number;
  private readonly startTimeoutMs: number;
  private readonly stopMarginMs: number;
  private readonly configuredClusters: string[];
  /** Tasks by ARN, as last described: isAlive and health read this. */
  private readonly tasks = new Map<string, TaskState>();
  /** Clusters each set's tasks run in, as seen by this worker. */
  private readonly setClusters = new Map<string, Set<string>>();
  /** The EFS file systems each set's volumes live on, as seen by this worker. */
  private readonly setFileSystems = new Map<string, Set<string>>();
  /** Task definition ARNs by family (a family is a content hash, so it never changes). */
  private readonly taskDefinitions = new Map<string, string>();
  private readonly watchers = new Set<Watcher>();
  /** One operation at a time per identity within this worker. */
  private readonly identities = new KeyedSlots(1);
  private polling: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(options: EcsDriverOptions = {}) {
    const config = { ...(options.region ? { region: options.region } : {}), ...(options.endpoint ? { endpoint: options.endpoint } : {}) };
    const make = <T extends { destroy(): void }>(given: T | undefined, create: () => T): T => {
      if (given) return given;
      const client = create();
      this.owned.push(client);
      return client;
    };
    this.ecs = make(options.clients?.ecs, () => new ECSClient(config));
    this.ec2 = make(options.clients?.ec2, () => new EC2Client(config));
    this.efs = make(options.clients?.efs, () => new EFSClient(config));
    this.log = options.logger ?? rootLogger.child({ component: 'ecs-driver' });
    this.pollMs = options.pollMs ?? 2_000;
    this.startTimeoutMs = options.startTimeoutMs ?? 240_000;
    this.stopMarginMs = options.stopMarginMs ?? 120_000;
    this.configuredClusters = options.clusters ?? [];
  }

  async create(request: CreateRequest): Promise<InstanceHandle> {
    const { identity, incarnation, revision, template } = request;
    const { set, ordinal, name } = identity;
    const ecs = template.ecs;
    if (!ecs) throw new DriverError(`${name}: the template has no ecs block: the ECS driver cannot run it`, false);
    checkIdentity(set, ordinal);
    if (!Number.isSafeInteger(incarnation) || incarnation < 0) {
      throw new DriverError(`incarnation must be a non-negative integer, got ${incarnation}`, false);
    }
    return this.locked(set, ordinal, () =>
      classified(`${name}`, async () => {
        this.remember(this.setClusters, set, ecs.cluster);
        if (ecs.efs) this.remember(this.setFileSystems, set, ecs.efs.fileSystemId);
        const tasks = await this.identityTasks([ecs.cluster], set, ordinal);

        const newer = tasks.find((t) => t.identity.incarnation > incarnation && !isStopped(t));
        if (newer) {
          throw new DriverError(
            `${name}: incarnation ${newer.identity.incarnation} runs (task ${taskId(newer.arn)}), refusing to replace it with older incarnation ${incarnation}`,
            false,
          );
        }
        // A retried create, or one after a restart: this incarnation's task already exists.
        const same = tasks.filter((t) => t.identity.incarnation === incarnation).sort((a, b) => Number(isStopped(a)) - Number(isStopped(b)))[0];
        if (same && !isStopped(same)) return this.toHandle(await this.waitForAddress(same, name), ecs);
        if (same) {
          // It ran and stopped: a retried create must not start the same incarnation twice.
          if (same.address) return this.toHandle(same, ecs);
          throw new DriverError(`${name}: ${same.message}`, false);
        }

        // At most one: every other task of the identity is stopped, and confirmed STOPPED, first.
        const live = tasks.filter((t) => !isStopped(t));
        await this.stopAndWait(live, name, `replaced by incarnation ${incarnation} (Ordinal)`, template.terminationGracePeriodSeconds * 1000);

        const accessPoints = await this.ensureVolumes(request, ecs);
        const plan = planTaskDefinition({
          set,
          ecs,
          ports: template.ports,
          terminationGracePeriodSeconds: template.terminationGracePeriodSeconds,
          accessPoints,
        });
        let taskDefinition = this.taskDefinitions.get(plan.family);
        if (!taskDefinition) {
          const ensured = await ensureTaskDefinition(this.ecs, plan);
          taskDefinition = ensured.arn;
          this.taskDefinitions.set(plan.family, taskDefinition);
          if (ensured.registered) this.log.info({ set, family: plan.family, arn: taskDefinition }, 'task definition registered');
        }

        const container = containerNameOf(set, ecs);
        const run = await this.ecs.send(
          new RunTaskCommand({
            cluster: ecs.cluster,
            taskDefinition,
            launchType: 'FARGATE',
            count: 1,
            clientToken: clientTokenOf(ecs.cluster, set, ordinal, incarnation),
            startedBy: startedByOf(set),
            tags: taskTags({ set, ordinal, incarnation, revision, graceSeconds: template.terminationGracePeriodSeconds }),
            networkConfiguration: {
              awsvpcConfiguration: {
                subnets: ecs.subnets,
                ...(ecs.securityGroups.length > 0 ? { securityGroups: ecs.securityGroups } : {}),
                assignPublicIp: ecs.assignPublicIp ? 'ENABLED' : 'DISABLED',
              },
            },
            overrides: {
              containerOverrides: [
                {
                  name: container,
                  environment: Object.entries(identityEnv(identity, incarnation)).map(([name, value]) => ({ name, value })),
                },
              ],
            },
          }),
        );
        const started = run.tasks?.[0];
        if (!started?.taskArn) {
          const failures = (run.failures ?? []).map((f) => `${f.reason ?? 'failure'}${f.detail ? ` (${f.detail})` : ''}`).join('; ');
          throw new DriverError(`${name}: RunTask started no task${failures ? `: ${failures}` : ''}`, true);
        }
        // RunTask's answer may lack the tags: the request says whose task it is.
        const state = this.record(started, ecs.cluster, { set, ordinal, incarnation, revision, graceSeconds: template.terminationGracePeriodSeconds })!;
        this.log.info({ set, ordinal, incarnation, task: state.arn, cluster: ecs.cluster, taskDefinition }, 'task started');
        return this.toHandle(await this.waitForAddress(state, name), ecs);
      }),
    );
  }

  async describe(set: string): Promise<InstanceHandle[]> {
    checkIdentity(set, 0);
    const tasks = await classified(`describe ${set}`, async () => this.identityTasks(await this.clustersFor(set), set));
    const best = new Map<number, TaskState>();
    for (const task of tasks) {
      if (isStopped(task)) continue;
      const known = best.get(task.identity.ordinal);
      if (known) {
        this.log.error({ set, ordinal: task.identity.ordinal, tasks: [known.arn, task.arn] }, 'two live tasks for one instance; the older will be stopped');
      }
      if (!known || known.identity.incarnation < task.identity.incarnation) best.set(task.identity.ordinal, task);
    }
    return [...best.values()].sort((a, b) => a.identity.ordinal - b.identity.ordinal).map((t) => this.toHandle(t));
  }

  async delete(set: string, ordinal: number, gracePeriodMs: number): Promise<void> {
    checkIdentity(set, ordinal);
    const name = `${set}-${ordinal}`;
    await this.locked(set, ordinal, () =>
      classified(name, async () => {
        const tasks = await this.identityTasks(await this.clustersFor(set), set, ordinal);
        await this.stopAndWait(tasks.filter((t) => !isStopped(t)), name, 'deleted by Ordinal', gracePeriodMs);
      }),
    );
  }

  async deleteVolumes(set: string, ordinal: number, templates: string[]): Promise<void> {
    checkIdentity(set, ordinal);
    if (templates.length === 0) return;
    await classified(`${set}-${ordinal} volumes`, async () => {
      const known = this.setFileSystems.get(set);
      const fileSystems = known && known.size > 0 ? [...known] : await listFileSystemIds(this.efs);
      const deleted = await deleteInstanceAccessPoints(this.efs, fileSystems, set, ordinal, templates);
      if (deleted.length > 0) this.log.info({ set, ordinal, templates, accessPoints: deleted }, 'access points deleted');
    });
  }

  isAlive(handle: InstanceHandle): boolean {
    const state = handle.locator ? this.tasks.get(handle.locator) : undefined;
    // Not described yet (e.g. just adopted): alive until a poll says otherwise.
    if (!state) return true;
    return !isStopped(state) && state.misses < MISSES_BEFORE_GONE;
  }

  health(handle: InstanceHandle): HealthStatus {
    const state = handle.locator ? this.tasks.get(handle.locator) : undefined;
    return state?.health ?? 'UNKNOWN';
  }

  watch(handles: InstanceHandle[], signal: AbortSignal): Promise<InstanceExit> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(abortError(signal));
      const watcher: Watcher = {
        handles,
        done: (exit) => {
          cleanup();
          resolve(exit);
        },
      };
      const onAbort = () => {
        cleanup();
        reject(abortError(signal));
      };
      const cleanup = () => {
        this.watchers.delete(watcher);
        signal.removeEventListener('abort', onAbort);
      };
      const gone = this.firstGone(handles);
      if (gone) return resolve(gone);
      this.watchers.add(watcher);
      signal.addEventListener('abort', onAbort, { once: true });
      this.startPolling();
    });
  }

  /** Stops polling and closes the clients it made. Tasks keep running: they outlive the worker. */
  close(): void {
    this.closed = true;
    this.wake?.();
    for (const client of this.owned) client.destroy();
  }

  // --- reading ECS ---

  /** The set's tasks (of one ordinal, when given) in these clusters, live and recently stopped. */
  private async identityTasks(clusters: string[], set: string, ordinal?: number): Promise<TaskState[]> {
    const found: TaskState[] = [];
    for (const cluster of clusters) {
      const arns = new Set<string>();
      try {
        for (const desiredStatus of ['RUNNING', 'STOPPED'] as DesiredStatus[]) {
          let nextToken: string | undefined;
          do {
            const page = await this.ecs.send(new ListTasksCommand({ cluster, startedBy: startedByOf(set), desiredStatus, nextToken }));
            for (const arn of page.taskArns ?? []) arns.add(arn);
            nextToken = page.nextToken;
          } while (nextToken);
        }
      } catch (err) {
        if ((err as { name?: string }).name === 'ClusterNotFoundException') continue; // nothing can run there
        throw err;
      }
      // Tasks this worker started that ListTasks (eventually consistent) may not show yet.
      for (const state of this.tasks.values()) {
        if (state.identity.set === set && (ordinal === undefined || state.identity.ordinal === ordinal) && sameCluster(state.cluster, cluster)) arns.add(state.arn);
      }
      for (const task of await this.describeTasks(cluster, [...arns])) {
        if (task.identity.set !== set || (ordinal !== undefined && task.identity.ordinal !== ordinal)) continue;
        found.push(task);
      }
    }
    return found;
  }

  /** DescribeTasks (with tags) in batches of 100; records every task Ordinal tagged. */
  private async describeTasks(cluster: string, arns: string[]): Promise<TaskState[]> {
    const states: TaskState[] = [];
    for (const batch of chunks(arns, 100)) {
      const result = await this.ecs.send(new DescribeTasksCommand({ cluster, tasks: batch, include: ['TAGS'] }));
      const seen = new Set<string>();
      for (const task of result.tasks ?? []) {
        if (!task.taskArn) continue;
        seen.add(task.taskArn);
        const state = this.record(task, cluster);
        if (state) states.push(state);
      }
      for (const arn of batch) {
        if (seen.has(arn)) continue;
        const known = this.tasks.get(arn);
        if (known) known.misses += 1;
      }
    }
    return states;
  }

  /** Records what a DescribeTasks or RunTask said of a task; undefined for a task Ordinal did not tag. */
  private record(task: DescribedTask, cluster: string, fallback?: TaskIdentity): TaskState | undefined {
    const arn = task.taskArn!;
    const previous = this.tasks.get(arn);
    const identity = identityFromTags(task.tags) ?? fallback ?? (previous && previous.identity.ordinal >= 0 ? previous.identity : undefined);
    if (!identity) return undefined;
    const container = task.containers?.[0];
    const state: TaskState = {
      arn,
      cluster: task.clusterArn ?? previous?.cluster ?? cluster,
      identity,
      lastStatus: task.lastStatus ?? previous?.lastStatus ?? 'PROVISIONING',
      desiredStatus: task.desiredStatus ?? previous?.desiredStatus ?? 'RUNNING',
      address: taskAddress(task) ?? previous?.address,
      eni: taskNetworkInterfaceId(task) ?? previous?.eni,
      health: taskHealth(task, container?.name),
      message: stoppedMessage(task, container?.name),
      exitCode: container?.exitCode ?? undefined,
      startedAt: task.createdAt?.getTime() ?? task.startedAt?.getTime() ?? previous?.startedAt ?? Date.now(),
      misses: 0,
    };
    this.tasks.set(arn, state);
    this.remember(this.setClusters, identity.set, state.cluster);
    return state;
  }

  /** The clusters a set's tasks may be in: those seen, else the configured ones, else all. */
  private async clustersFor(set: string): Promise<string[]> {
    const known = this.setClusters.get(set);
    if (known && known.size > 0) return [...known];
    if (this.configuredClusters.length > 0) return this.configuredClusters;
    const all: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.ecs.send(new ListClustersCommand({ nextToken }));
      all.push(...(page.clusterArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return all;
  }

  // --- creating ---

  /** The instance's access point of each volume claim template, created when missing. */
  private async ensureVolumes(request: CreateRequest, ecs: EcsTemplate): Promise<Record<string, string>> {
    const templates = request.volumes ?? [];
    if (templates.length === 0) return {};
    if (!ecs.efs) throw new DriverError(`${request.identity.name}: the set has volumes but its template has no ecs.efs`, false);
    const efs = ecs.efs;
    const existing = await listAccessPoints(this.efs, efs.fileSystemId);
    const ids: Record<string, string> = {};
    for (const template of templates) {
      if (!isDns1123Label(template)) throw new DriverError(`invalid volume name '${template}': must be a DNS-1123 label`, false);
      const ensured = await ensureAccessPoint(
        this.efs,
        { fileSystemId: efs.fileSystemId, set: request.identity.set, ordinal: request.identity.ordinal, template, ownerUid: efs.ownerUid, ownerGid: efs.ownerGid, permissions: efs.permissions },
        existing,
      );
      if (ensured.created) this.log.info({ set: request.identity.set, ordinal: request.identity.ordinal, volume: template, accessPoint: ensured.id }, 'access point created');
      ids[template] = ensured.id;
    }
    return ids;
  }

  /** Waits until the task has its private address (its ENI is attached); fails if it stops first. */
  private async waitForAddress(task: TaskState, name: string): Promise<TaskState> {
    const deadline = Date.now() + this.startTimeoutMs;
    let state = task;
    for (;;) {
      if (!state.address && state.eni) state.address = await this.eniAddress(state.eni);
      if (state.address) return state;
      if (isStopped(state)) throw new DriverError(`${name}: ${state.message} before it got an address`, false);
      if (Date.now() >= deadline) {
        throw new DriverError(`${name}: task ${taskId(state.arn)} has no address after ${Math.round(this.startTimeoutMs / 1000)}s (last status ${state.lastStatus})`, true);
      }
      await sleep(this.pollMs);
      const [fresh] = await this.describeTasks(state.cluster, [state.arn]);
      if (fresh) state = fresh;
    }
  }

  /** The ENI's primary private address, from EC2, when ECS's attachment does not say it (yet). */
  private async eniAddress(eni: string): Promise<string | undefined> {
    try {
      const result = await this.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni] }));
      return result.NetworkInterfaces?.[0]?.PrivateIpAddress ?? undefined;
    } catch {
      return undefined;
    }
  }

  // --- stopping ---

  /**
   * StopTask (with a reason) for each task, then waits until every one is STOPPED: ECS sends SIGTERM,
   * then SIGKILL after the container's stopTimeout. Gives up after the grace period plus a margin with a
   * retryable error naming the task AWS has not stopped: the successor never starts before.
   */
  private async stopAndWait(tasks: TaskState[], name: string, reason: string, gracePeriodMs: number): Promise<void> {
    if (tasks.length === 0) return;
    for (const task of tasks) {
      this.log.info({ task: task.arn, incarnation: task.identity.incarnation, reason }, 'stopping task');
      try {
        await this.ecs.send(new StopTaskCommand({ cluster: task.cluster, task: task.arn, reason: `${name}: ${reason}`.slice(0, 255) }));
      } catch (err) {
        // Already gone, or stopping: the wait below tells.
        this.log.warn({ task: task.arn, err: String(err) }, 'StopTask failed; waiting for the task to stop all the same');
      }
    }
    const graceMs = Math.min(
      Math.max(gracePeriodMs, ...tasks.map((t) => (t.identity.graceSeconds ?? 0) * 1000)),
      FARGATE_MAX_STOP_TIMEOUT * 1000,
    );
    const waitMs = graceMs + this.stopMarginMs;
    const deadline = Date.now() + waitMs;
    let pending = tasks;
    for (;;) {
      const byCluster = new Map<string, string[]>();
      for (const t of pending) byCluster.set(t.cluster, [...(byCluster.get(t.cluster) ?? []), t.arn]);
      for (const [cluster, arns] of byCluster) await this.describeTasks(cluster, arns);
      pending = pending.map((t) => this.tasks.get(t.arn) ?? t).filter((t) => !isStopped(t) && t.misses < MISSES_BEFORE_GONE);
      if (pending.length === 0) return;
      if (Date.now() >= deadline) {
        const t = pending[0];
        throw new DriverError(
          `${name}: AWS has not stopped task ${taskId(t.arn)} (last status ${t.lastStatus}, desired ${t.desiredStatus}) ${Math.round(waitMs / 1000)}s after StopTask; the instance is not replaced until it has`,
          true,
        );
      }
      await sleep(Math.min(this.pollMs, Math.max(1, deadline - Date.now())));
    }
  }

  // --- watching ---

  private startPolling(): void {
    if (this.polling || this.closed) return;
    this.polling = this.pollLoop().finally(() => {
      this.polling = undefined;
      if (this.watchers.size > 0 && !this.closed) this.startPolling();
    });
  }

  /** One loop for every watcher: DescribeTasks per cluster in batches of 100, then wakes who must know. */
  private async pollLoop(): Promise<void> {
    while (this.watchers.size > 0 && !this.closed) {
      const byCluster = new Map<string, Set<string>>();
      for (const watcher of this.watchers) {
        for (const h of watcher.handles) {
          if (!h.locator) continue;
          const cluster = h.cluster ?? this.tasks.get(h.locator)?.cluster ?? clusterOfTaskArn(h.locator);
          if (!cluster) continue;
          let arns = byCluster.get(cluster);
          if (!arns) byCluster.set(cluster, (arns = new Set()));
          arns.add(h.locator);
        }
      }
      for (const [cluster, arns] of byCluster) {
        try {
          await this.describeTasks(cluster, [...arns]);
          // Handles adopted from an earlier worker carry their identity; a task this worker has not
          // described yet has no state to count misses on, so give it one.
          for (const arn of arns) if (!this.tasks.has(arn)) this.noteUnseen(arn, cluster);
        } catch (err) {
          this.log.warn({ cluster, err: String(err) }, 'DescribeTasks failed; keeping what was last seen');
        }
      }
      for (const watcher of [...this.watchers]) {
        const gone = this.firstGone(watcher.handles);
        if (gone) watcher.done(gone);
      }
      if (this.watchers.size === 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.pollMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = undefined;
    }
  }

  /** A watched task DescribeTasks does not know: counted as missing, so it ends as gone after a few polls. */
  private noteUnseen(arn: string, cluster: string): void {
    this.tasks.set(arn, {
      arn,
      cluster,
      identity: { set: '', ordinal: -1, incarnation: -1, revision: '' },
      lastStatus: 'UNKNOWN',
      desiredStatus: 'UNKNOWN',
      health: 'UNKNOWN',
      message: `task ${taskId(arn)} no longer exists`,
      startedAt: Date.now(),
      misses: 1,
    });
  }

  private firstGone(handles: InstanceHandle[]): InstanceExit | undefined {
    for (const handle of handles) {
      if (this.isAlive(handle)) continue;
      const state = this.tasks.get(handle.locator!);
      return { handle, ...(state?.exitCode !== undefined ? { exitCode: state.exitCode } : {}), message: state?.message ?? 'the task stopped' };
    }
    return undefined;
  }

  // --- helpers ---

  private toHandle(task: TaskState, ecs?: EcsTemplate): InstanceHandle {
    const id = task.identity;
    return {
      set: id.set,
      ordinal: id.ordinal,
      incarnation: id.incarnation,
      revision: id.revision,
      address: task.address ?? '',
      pid: 0,
      startedAt: task.startedAt,
      logPath: ecs?.awslogs
        ? `cloudwatch:${ecs.awslogs.group}/${ecs.awslogs.streamPrefix}/${containerNameOf(id.set, ecs)}/${taskId(task.arn)}`
        : `ecs:${task.arn}`,
      driver: 'ecs',
      locator: task.arn,
      cluster: task.cluster,
    };
  }

  private remember(map: Map<string, Set<string>>, set: string, value: string): void {
    let values = map.get(set);
    if (!values) map.set(set, (values = new Set()));
    // A name and its ARN are the same cluster: keep one.
    if (![...values].some((v) => sameCluster(v, value))) values.add(value);
  }

  /** Serializes operations on one identity within this worker. */
  private locked<T>(set: string, ordinal: number, fn: () => Promise<T>): Promise<T> {
    return this.identities.run(`${set}/${ordinal}`, fn);
  }
}

/** The instance's identity variables (as the process driver's, without ORDINAL_ADDRESS: see docs/ecs.md). */
function identityEnv(identity: CreateRequest['identity'], incarnation: number): Record<string, string> {
  return {
    ORDINAL_SET: identity.set,
    ORDINAL_NAME: identity.name,
    ORDINAL_INDEX: String(identity.ordinal),
    ORDINAL_DNS_NAME: identity.dnsName,
    ORDINAL_SERVICE_DNS_NAME: identity.serviceDnsName,
    ORDINAL_DNS_SERVER: identity.dnsServer,
    ORDINAL_INCARNATION: String(incarnation),
  };
}

/** Runs `work`, turning AWS errors into DriverErrors: permanent ones (bad manifest or account) are not retried. */
async function classified<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof DriverError) throw err;
    const e = err as { name?: string; message?: string };
    const name = e?.name ?? 'Error';
    return Promise.reject(new DriverError(`${what}: ${name}: ${e?.message ?? String(err)}`, !PERMANENT_ERRORS.has(name)));
  }
}

function sameCluster(a: string, b: string): boolean {
  const name = (c: string) => (c.includes(':cluster/') ? c.slice(c.indexOf(':cluster/') + 9) : c);
  return name(a) === name(b);
}

/** The cluster name in a long-format task ARN (arn:aws:ecs:region:account:task/CLUSTER/id). */
function clusterOfTaskArn(arn: string): string | undefined {
  const parts = arn.split(':task/')[1]?.split('/');
  return parts && parts.length === 2 ? parts[0] : undefined;
}

function checkIdentity(set: string, ordinal: number): void {
  if (typeof set !== 'string' || !isDns1123Label(set)) throw new DriverError(`invalid set name '${set}': must be a DNS-1123 label`, false);
  if (!Number.isSafeInteger(ordinal) || ordinal < 0) throw new DriverError(`invalid ordinal ${ordinal}: must be a non-negative integer`, false);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function abortError(signal: AbortSignal): Error {
  const error = new Error('watch aborted', { cause: signal.reason });
  error.name = 'AbortError';
  return error;
}

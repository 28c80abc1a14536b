// The ECS/Fargate driver against moto_server (ECS, EC2 networking, EFS), through a recording proxy: one
// task per incarnation with its tags, startedBy and ENI address; idempotent creates (retries, restarts);
// at most one incarnation per identity (stop, wait STOPPED, then run; a deadline when AWS does not stop
// a task); per-instance EFS access points and hash-named task definitions; retention; the router; and
// the set workflow end to end on ECS tasks. moto's state manager keeps tasks RUNNING until StopTask
// ('steady'), or moves them through their lifecycle on every DescribeTasks ('lifecycle').
import { DescribeTaskDefinitionCommand, ListTaskDefinitionsCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { DescribeAccessPointsCommand } from '@aws-sdk/client-efs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriverError, type CreateRequest, type InstanceHandle } from '../../activities/drivers/driver.js';
import { EcsDriver, type EcsDriverOptions } from '../../activities/drivers/ecs/ecs.js';
import { DriverRouter } from '../../activities/drivers/router.js';
import { accessPointPath } from '../../core/ecs.js';
import { parseManifest, type Template } from '../../core/manifest.js';
import { instanceDnsName, serviceDnsName } from '../../core/names.js';
import {
  clusterTasks,
  createCluster,
  createNetwork,
  ecsAdmin,
  setTaskTransitions,
  startEcsProxy,
  tagsOf,
  unsetTaskTransitions,
  type EcsAdmin,
  type EcsNetwork,
  type EcsProxy,
} from '../harness/ecs.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { useDummyAwsConfiguration } from '../harness/route53.js';
import { motoEndpoint, waitFor } from '../harness/services.js';
import { isReady, resolveA, waitForSet } from '../harness/sets.js';

useDummyAwsConfiguration();

let moto: string;
let admin: EcsAdmin;
let network: EcsNetwork;
let proxy: EcsProxy;
const drivers: EcsDriver[] = [];

beforeAll(async () => {
  moto = motoEndpoint();
  admin = ecsAdmin(moto);
  await setTaskTransitions(moto, 'steady');
  network = await createNetwork(admin);
  proxy = await startEcsProxy(moto);
});

afterAll(async () => {
  for (const driver of drivers) driver.close();
  await proxy?.close();
  if (moto) await unsetTaskTransitions(moto);
  admin?.close();
});

/** A driver as a worker would have it, through the proxy, with quick polls. */
function newDriver(options: EcsDriverOptions = {}): EcsDriver {
  const driver = new EcsDriver({ endpoint: proxy.endpoint, region: 'us-east-1', pollMs: 50, startTimeoutMs: 10_000, stopMarginMs: 5_000, ...options });
  drivers.push(driver);
  return driver;
}

function ecsTemplate(cluster: string, extra: Record<string, unknown> = {}, templateExtra: Record<string, unknown> = {}, volumes: string[] = []): Template {
  const parsed = parseManifest({
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: 'x' },
    spec: {
      volumeClaimTemplates: volumes.map((name) => ({ metadata: { name } })),
      template: {
        ecs: {
          cluster,
          image: 'public.ecr.aws/docker/library/nginx:latest',
          subnets: [network.subnetId],
          securityGroups: [network.securityGroupId],
          ...(volumes.length > 0 ? { efs: { fileSystemId: network.fileSystemId } } : {}),
          ...extra,
        },
        ports: [{ name: 'http', port: 80 }],
        terminationGracePeriodSeconds: 0,
        ...templateExtra,
      },
    },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value.spec.template;
}

function request(set: string, ordinal: number, incarnation: number, template: Template, volumes: string[] = []): CreateRequest {
  return {
    identity: {
      set,
      ordinal,
      name: `${set}-${ordinal}`,
      dnsName: instanceDnsName(set, ordinal, set, 'ordinal.internal'),
      serviceDnsName: serviceDnsName(set, 'ordinal.internal'),
      dnsServer: '127.0.0.1:7053',
    },
    incarnation,
    revision: `${set}-rev1`,
    template,
    volumes,
  };
}

const live = (tasks: Awaited<ReturnType<typeof clusterTasks>>) => tasks.filter((t) => t.lastStatus !== 'STOPPED');

describe.sequential('ECS driver on moto', () => {
  it('creates one Fargate task per incarnation: tags, startedBy, address from its ENI', async () => {
    const cluster = await createCluster(admin);
    const set = uniqueName('web');
    const driver = newDriver();
    const handle = await driver.create(request(set, 0, 1, ecsTemplate(cluster)));

    const tasks = await clusterTasks(admin, cluster);
    expect(tasks).toHaveLength(1);
    const task = tasks[0];
    expect(task.lastStatus).toBe('RUNNING');
    expect(task.launchType).toBe('FARGATE');
    expect(task.startedBy).toBe(`ordinal/${set}`);
    expect(tagsOf(task)).toMatchObject({
      'ordinal:managed-by': 'ordinal',
      'ordinal:set': set,
      'ordinal:ordinal': '0',
      'ordinal:incarnation': '1',
      'ordinal:revision': `${set}-rev1`,
    });
    const eniIp = task.attachments?.[0]?.details?.find((d) => d.name === 'privateIPv4Address')?.value;
    expect(eniIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(handle).toMatchObject({ set, ordinal: 0, incarnation: 1, driver: 'ecs', locator: task.taskArn, address: eniIp, pid: 0 });
    expect(handle.cluster).toMatch(new RegExp(`:cluster/${cluster}$`));
    expect(driver.isAlive(handle)).toBe(true);

    // The container gets its identity through RunTask's overrides.
    const env = Object.fromEntries((task.overrides?.containerOverrides?.[0]?.environment ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ ORDINAL_SET: set, ORDINAL_NAME: `${set}-0`, ORDINAL_INDEX: '0', ORDINAL_INCARNATION: '1' });
    expect(task.overrides?.containerOverrides?.[0]?.name).toBe(set);
  });

  it('a retried create returns the same task; a restarted worker adopts it by its tags', async () => {
    const cluster = await createCluster(admin);
    const set = uniqueName('web');
    const template = ecsTemplate(cluster);
    const first = await newDriver().create(request(set, 0, 1, template));
    const runsBefore = proxy.operations.filter((o) => o === 'RunTask').length;

    // Same driver, same incarnation (a Temporal retry): no second task.
    const retried = await drivers.at(-1)!.create(request(set, 0, 1, template));
    expect(retried.locator).toBe(first.locator);

    // A new driver (a restarted worker, or one on another host): it finds the task by startedBy and tags.
    const restarted = newDriver();
    const adopted = await restarted.create(request(set, 0, 1, template));
    expect(adopted.locator).toBe(first.locator);
    expect(adopted.address).toBe(first.address);
    expect(proxy.operations.filter((o) => o === 'RunTask').length).toBe(runsBefore);
    expect(live(await clusterTasks(admin, cluster))).toHaveLength(1);

    // describe, as a set workflow that lost its state would ask: the task, with its identity.
    const described = await newDriver().describe(set);
    expect(described).toEqual([expect.objectContaining({ set, ordinal: 0, incarnation: 1, locator: first.locator, address: first.address, driver: 'ecs' })]);
    // An older incarnation is refused while a newer one runs.
    await expect(restarted.create(request(set, 0, 0, template))).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/refusing/) });
  });

  it('delete stops the task with a reason and returns once it is STOPPED; again is a no-op', async () => {
    const cluster = await createCluster(admin);
    const set = uniqueName('web');
    const driver = newDriver();
    const handle = await driver.create(request(set, 0, 1, ecsTemplate(cluster)));
    // A driver that has never seen the set finds it (here by listing the account's clusters).
    await newDriver().delete(set, 0, 0);
    const [task] = await clusterTasks(admin, cluster);
    expect(task.lastStatus).toBe('STOPPED');
    expect(task.stoppedReason).toMatch(new RegExp(`${set}-0: deleted by Ordinal`));
    await newDriver({ clusters: [cluster] }).delete(set, 0, 0);
    // The first driver learns it from its watch (isAlive serves what the watch's polls saw).
    const exit = await driver.watch([handle], new AbortController().signal);
    expect(exit.message).toMatch(/deleted by Ordinal/);
    expect(driver.isAlive(handle)).toBe(false);
    expect(await driver.describe(set)).toEqual([]);
  });

  it('starts a successor only after its predecessor is STOPPED', async () => {
    const cluster = await createCluster(admin);
    const set = uniqueName('web');
    const driver = newDriver();
    const template = ecsTemplate(cluster);
    const first = await driver.create(request(set, 0, 1, template));
    const mark = proxy.operations.length;
    const second = await driver.create(request(set, 0, 2, template));
    expect(second.locator).not.toBe(first.locator);

    const ops = proxy.operations.slice(mark);
    const stop = ops.indexOf('StopTask');
    const run = ops.indexOf('RunTask');
    expect(stop).toBeGreaterThanOrEqual(0);
    expect(run).toBeGreaterThan(stop);
    // Between them, the driver described the task (and saw it STOPPED).
    expect(ops.slice(stop, run)).toContain('DescribeTasks');

    const tasks = await clusterTasks(admin, cluster);
    const byArn = new Map(tasks.map((t) => [t.taskArn, t]));
    expect(byArn.get(first.locator)?.lastStatus).toBe('STOPPED');
    expect(byArn.get(first.locator)?.stoppedReason).toMatch(/replaced by incarnation 2/);
    expect(byArn.get(second.locator)?.lastStatus).toBe('RUNNING');
    expect(live(tasks).map((t) => tagsOf(t)['ordinal:incarnation'])).toEqual(['2']);
  });

  it('gives up with a retryable error naming the task when AWS does not stop it, and starts nothing', async () => {
    const cluster = await createCluster(admin);
    const set = uniqueName('web');
    const driver = newDriver({ stopMarginMs: 300 });
    const template = ecsTemplate(cluster);
    const first = await driver.create(request(set, 0, 1, template));
    proxy.swallowStopTask = true;
    try {
      const runsBefore = proxy.operations.filter((o) => o === 'RunTask').length;
      const error = await driver.create(request(set, 0, 2, template)).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(DriverError);
      expect((error as DriverError).retryable).toBe(true);
      expect((error as DriverError).message).toMatch(new RegExp(`AWS has not stopped task ${first.locator!.split('/').pop()}`));
      expect(proxy.operations.filter((o) => o === 'RunTask').length).toBe(runsBefore);
      // Deleting is held back the same way.
      await expect(driver.delete(set, 0, 0)).rejects.toMatchObject({ retryable: true, message: expect.stringMatching(/AWS has not stopped task/) });
    } finally {
      proxy.swallowStopTask = false;
    }
    // Once AWS stops it, the successor starts.
    const second = await driver.create(request(set, 0, 2, template));
    expect(live(await clusterTasks(admin, cluster)).map((t) => t.taskArn)).toEqual([second.locator]);
  });

  it('watch reports a task that stops by itself (moto moving it through its lifecycle) and one stopped by someone else', async () => {
    const cluster = await createCluster(admin);
    const set = uniqueName('web');
    const driver = newDriver();
    const template = ecsTemplate(cluster, { healthCheck: { command: ['CMD', 'true'] }, readiness: 'healthCheck' }, {});
    const a = await driver.create(request(set, 0, 1, template));
    const b = await driver.create(request(set, 1, 1, template));

    // Someone stops b outside Ordinal: the watch says so, with the reason.
    const controller = new AbortController();
    const watching = driver.watch([a, b], controller.signal);
    await waitFor(() => driver.health(a) === 'HEALTHY', { message: 'the container health check seen by the poll' });
    await admin.ecs.send(new StopTaskCommand({ cluster, task: b.locator, reason: 'spot interruption' }));
    const exit = await watching;
    expect(exit.handle.locator).toBe(b.locator);
    expect(exit.message).toMatch(/stopped: spot interruption/);
    expect(driver.isAlive(b)).toBe(false);
    expect(driver.isAlive(a)).toBe(true);

    // a stops by itself: every DescribeTasks moves it one step towards STOPPED.
    await setTaskTransitions(moto, 'lifecycle');
    try {
      const exitA = await driver.watch([a], new AbortController().signal);
      expect(exitA.handle.locator).toBe(a.locator);
      expect(driver.isAlive(a)).toBe(false);
    } finally {
      await setTaskTransitions(moto, 'steady');
    }
    // An aborted watch rejects.
    const c = await driver.create(request(set, 2, 1, template));
    const abort = new AbortController();
    const aborted = driver.watch([c], abort.signal);
    abort.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('gives each instance its own EFS access point, once, and registers a task definition once per hash', async () => {
    const cluster = await createCluster(admin);
    const set = uniqueName('db');
    const template = ecsTemplate(cluster, { volumeMounts: [{ name: 'data', mountPath: '/var/lib/data' }] }, {}, ['data', 'logs']);
    const driver = newDriver();
    const h0 = await driver.create(request(set, 0, 1, template, ['data', 'logs']));
    const h1 = await driver.create(request(set, 1, 1, template, ['data', 'logs']));
    // The successor of ordinal 0, from a restarted worker: same access points, same task definition.
    const h0b = await newDriver().create(request(set, 0, 2, template, ['data', 'logs']));

    const aps = (await admin.efs.send(new DescribeAccessPointsCommand({ FileSystemId: network.fileSystemId }))).AccessPoints ?? [];
    const mine = aps.filter((ap) => ap.RootDirectory?.Path?.startsWith(`/ordinal/${set}/`));
    expect(mine.map((ap) => ap.RootDirectory?.Path).sort()).toEqual(
      [accessPointPath(set, 'data', 0), accessPointPath(set, 'data', 1), accessPointPath(set, 'logs', 0), accessPointPath(set, 'logs', 1)].sort(),
    );
    expect(accessPointPath(set, 'data', 0)).toBe(`/ordinal/${set}/data-${set}-0`);

    // moto takes familyPrefix for a whole family name: filter here.
    const definitions = ((await admin.ecs.send(new ListTaskDefinitionsCommand({}))).taskDefinitionArns ?? []).filter((arn) => arn.includes(`:task-definition/ordinal-${set}-`));
    // One per ordinal (their access points differ), registered once each (revision 1).
    expect(definitions).toHaveLength(2);
    expect(definitions.every((arn) => arn.endsWith(':1'))).toBe(true);

    const tasks = await clusterTasks(admin, cluster);
    const td0 = tasks.find((t) => t.taskArn === h0b.locator)!.taskDefinitionArn!;
    expect(tasks.find((t) => t.taskArn === h0.locator)!.taskDefinitionArn).toBe(td0);
    expect(tasks.find((t) => t.taskArn === h1.locator)!.taskDefinitionArn).not.toBe(td0);
    const { taskDefinition } = await admin.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: td0 }));
    const data0 = mine.find((ap) => ap.RootDirectory?.Path === accessPointPath(set, 'data', 0))!;
    expect(taskDefinition?.volumes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'data',
          efsVolumeConfiguration: expect.objectContaining({ fileSystemId: network.fileSystemId, transitEncryption: 'ENABLED', authorizationConfig: expect.objectContaining({ accessPointId: data0.AccessPointId }) }),
        }),
      ]),
    );
    const container = taskDefinition?.containerDefinitions?.[0];
    expect(container?.mountPoints).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ sourceVolume: 'data', containerPath: '/var/lib/data' }),
        expect.objectContaining({ sourceVolume: 'logs', containerPath: '/volumes/logs' }),
      ]),
    );
    expect(container?.environment).toEqual(expect.arrayContaining([{ name: 'ORDINAL_VOLUME_DATA', value: '/var/lib/data' }]));
    expect(taskDefinition).toMatchObject({ networkMode: 'awsvpc', cpu: '256', memory: '512', requiresCompatibilities: ['FARGATE'] });

    // Retention: deleting ordinal 1's volumes (after the instance) removes its access points only;
    // a driver that never saw the set finds them on the account's file systems. Idempotent.
    await driver.delete(set, 1, 0);
    await newDriver().deleteVolumes(set, 1, ['data', 'logs']);
    await newDriver().deleteVolumes(set, 1, ['data', 'logs']);
    const after = ((await admin.efs.send(new DescribeAccessPointsCommand({ FileSystemId: network.fileSystemId }))).AccessPoints ?? []).filter((ap) =>
      ap.RootDirectory?.Path?.startsWith(`/ordinal/${set}/`),
    );
    expect(after.map((ap) => ap.RootDirectory?.Path).sort()).toEqual([accessPointPath(set, 'data', 0), accessPointPath(set, 'logs', 0)].sort());
  });

  it('the router sends ecs templates to the ECS driver, and fails them clearly on a worker without one', async () => {
    const cluster = await createCluster(admin);
    const set = uniqueName('web');
    const notProcess = { create: () => Promise.reject(new Error('process driver used')), describe: async () => [], delete: async () => undefined, deleteVolumes: async () => undefined, isAlive: () => true, watch: () => new Promise<never>(() => undefined) };
    const router = new DriverRouter({ process: notProcess, ecs: newDriver() });
    const handle: InstanceHandle = await router.create(request(set, 0, 1, ecsTemplate(cluster)));
    expect(handle.driver).toBe('ecs');
    expect(router.isAlive(handle)).toBe(true);
    expect(await router.describe(set)).toEqual([expect.objectContaining({ locator: handle.locator })]);
    await router.delete(set, 0, 0);
    expect(live(await clusterTasks(admin, cluster))).toEqual([]);

    const without = new DriverRouter({ process: notProcess });
    await expect(without.create(request(set, 0, 2, ecsTemplate(cluster)))).rejects.toMatchObject({
      retryable: false,
      message: expect.stringMatching(/this worker has no ecs driver: configure the ECS driver/),
    });
  });
});

describe.sequential('a StatefulSet of ECS tasks on Temporal and moto', () => {
  let ordinal: TestOrdinal;

  beforeAll(async () => {
    ordinal = await startTestOrdinal({ env: { ORDINAL_ECS_ENDPOINT: moto, ORDINAL_ECS_POLL_MS: '100' } });
  });

  afterAll(async () => {
    await ordinal?.stop();
  });

  it('creates tasks in order, Ready by their health check, names them in DNS, heals a stopped task, deletes volumes with the set', async () => {
    const cluster = await createCluster(admin);
    const name = uniqueName('db');
    const manifest = {
      apiVersion: 'ordinal.dev/v1',
      kind: 'StatefulSet',
      metadata: { name },
      spec: {
        replicas: 2,
        volumeClaimTemplates: [{ metadata: { name: 'data' } }],
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete' },
        template: {
          ecs: {
            cluster,
            image: 'public.ecr.aws/docker/library/redis:7',
            subnets: [network.subnetId],
            securityGroups: [network.securityGroupId],
            healthCheck: { command: ['CMD', 'redis-cli', 'ping'] },
            readiness: 'healthCheck',
            efs: { fileSystemId: network.fileSystemId },
          },
          ports: [{ name: 'redis', port: 6379 }],
          terminationGracePeriodSeconds: 0,
        },
        dns: { ttl: 0 },
      },
    };
    await ordinal.sets.apply(name, manifest);
    const view = await waitForSet(ordinal.sets, name, (v) => isReady(v), { message: `${name} Ready`, timeoutMs: 60_000 });
    const tasks = live(await clusterTasks(admin, cluster, `ordinal/${name}`));
    expect(tasks).toHaveLength(2);
    const ipOf = (ordinalIndex: number) =>
      tasks.find((t) => tagsOf(t)['ordinal:ordinal'] === String(ordinalIndex))?.attachments?.[0]?.details?.find((d) => d.name === 'privateIPv4Address')?.value;
    for (const instance of view.status.instances) {
      expect(instance.address).toBe(ipOf(instance.ordinal));
      await waitFor(async () => (await resolveA(ordinal.resolver, instance.dnsName)).join() === instance.address, { message: `${instance.dnsName} -> ${instance.address}` });
    }

    // Someone stops web-1's task: the set recreates it under the same name, at a new address.
    const old = tasks.find((t) => tagsOf(t)['ordinal:ordinal'] === '1')!;
    await admin.ecs.send(new StopTaskCommand({ cluster, task: old.taskArn, reason: 'stopped by a test' }));
    const healed = await waitForSet(
      ordinal.sets,
      name,
      (v) => isReady(v) && v.status.instances.find((i) => i.ordinal === 1)?.incarnation === 2,
      { message: `${name}-1 recreated`, timeoutMs: 60_000 },
    );
    const now = live(await clusterTasks(admin, cluster, `ordinal/${name}`));
    expect(now.map((t) => `${tagsOf(t)['ordinal:ordinal']}/${tagsOf(t)['ordinal:incarnation']}`).sort()).toEqual(['0/1', '1/2']);
    expect(healed.status.instances.find((i) => i.ordinal === 1)?.address).toBe(
      now.find((t) => tagsOf(t)['ordinal:ordinal'] === '1')?.attachments?.[0]?.details?.find((d) => d.name === 'privateIPv4Address')?.value,
    );

    // Delete the set: its tasks stop, and (whenDeleted: Delete) its access points go.
    await ordinal.sets.delete(name);
    await waitFor(async () => (await ordinal.sets.get(name)) === undefined, { timeoutMs: 60_000, message: `${name} deleted` });
    expect(live(await clusterTasks(admin, cluster, `ordinal/${name}`))).toEqual([]);
    const aps = ((await admin.efs.send(new DescribeAccessPointsCommand({ FileSystemId: network.fileSystemId }))).AccessPoints ?? []).filter((ap) =>
      ap.RootDirectory?.Path?.startsWith(`/ordinal/${name}/`),
    );
    expect(aps).toEqual([]);
  });

  it('an ecs set on a worker without the ECS driver fails its creates with a clear condition', async () => {
    const plain = await startTestOrdinal();
    try {
      const name = uniqueName('web');
      await plain.sets.apply(name, {
        apiVersion: 'ordinal.dev/v1',
        kind: 'StatefulSet',
        metadata: { name },
        spec: { template: { ecs: { cluster: 'nowhere', image: 'nginx', subnets: [network.subnetId] } } },
      });
      const view = await waitForSet(
        plain.sets,
        name,
        (v) => v.status.conditions.some((c) => c.type === 'ReplicaFailure' && c.status === 'True'),
        { message: 'ReplicaFailure', timeoutMs: 30_000 },
      );
      const failure = view.status.conditions.find((c) => c.type === 'ReplicaFailure')!;
      expect(failure.message).toMatch(/this worker has no ecs driver/);
    } finally {
      await plain.stop();
    }
  });
});

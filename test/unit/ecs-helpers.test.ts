// Pure helpers of the ECS driver: tags and identities, startedBy, RunTask client tokens, reading
// described tasks, Fargate sizes, access point paths, and task definition plans and their hashes.
import { describe, expect, it } from 'vitest';
import {
  accessPointTokenOf,
  chunks,
  clientTokenOf,
  clusterName,
  identityFromTags,
  isStopped,
  startedByOf,
  stoppedMessage,
  taskAddress,
  taskHealth,
  taskNetworkInterfaceId,
  taskTags,
  TAG,
} from '../../activities/drivers/ecs/tags.js';
import { containerNameOf, mountPathOf, planTaskDefinition, type TaskDefinitionRequest } from '../../activities/drivers/ecs/task-definition.js';
import { accessPointPath, defaultMountPath, fargateMemoryRule, isFargateSize } from '../../core/ecs.js';
import { parseManifest, type EcsTemplate } from '../../core/manifest.js';

describe('ecs tags and identities', () => {
  const identity = { set: 'web', ordinal: 3, incarnation: 7, revision: 'web-0123456789', graceSeconds: 30 };

  it('tags a task with its set, ordinal, incarnation, revision and grace period, and reads them back', () => {
    const tags = taskTags(identity);
    expect(Object.fromEntries(tags.map((t) => [t.key, t.value]))).toEqual({
      'ordinal:managed-by': 'ordinal',
      'ordinal:set': 'web',
      'ordinal:ordinal': '3',
      'ordinal:incarnation': '7',
      'ordinal:revision': 'web-0123456789',
      'ordinal:grace-seconds': '30',
    });
    expect(identityFromTags(tags)).toEqual(identity);
    expect(tags.every((t) => t.key.length <= 128 && t.value.length <= 256)).toBe(true);
  });

  const broken: Array<[string, Array<{ key: string; value: string }>]> = [
    ['no tags', []],
    ['not managed by Ordinal', taskTags(identity).filter((t) => t.key !== TAG.managedBy)],
    ['managed by someone else', taskTags(identity).map((t) => (t.key === TAG.managedBy ? { ...t, value: 'other' } : t))],
    ['no set', taskTags(identity).filter((t) => t.key !== TAG.set)],
    ['a non-numeric ordinal', taskTags(identity).map((t) => (t.key === TAG.ordinal ? { ...t, value: 'x' } : t))],
    ['a negative incarnation', taskTags(identity).map((t) => (t.key === TAG.incarnation ? { ...t, value: '-1' } : t))],
  ];
  for (const [what, tags] of broken) {
    it(`does not take a task with ${what} for an instance`, () => expect(identityFromTags(tags)).toBeUndefined());
  }

  it('ignores a malformed grace period but keeps the identity', () => {
    const tags = taskTags(identity).map((t) => (t.key === TAG.grace ? { ...t, value: 'soon' } : t));
    expect(identityFromTags(tags)).toEqual({ set: 'web', ordinal: 3, incarnation: 7, revision: 'web-0123456789' });
  });

  it('starts every task of a set with startedBy ordinal/<set>, within ECS limits', () => {
    expect(startedByOf('web')).toBe('ordinal/web');
    const longest = startedByOf('a'.repeat(52));
    expect(longest.length).toBeLessThanOrEqual(128);
    expect(longest).toMatch(/^[A-Za-z0-9_/-]+$/);
  });
});

describe('ecs client tokens', () => {
  it('derives one RunTask token per cluster, set, ordinal and incarnation: 64 characters, stable', () => {
    const token = clientTokenOf('prod', 'web', 0, 1);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(clientTokenOf('prod', 'web', 0, 1)).toBe(token);
    const others = [clientTokenOf('prod', 'web', 0, 2), clientTokenOf('prod', 'web', 1, 1), clientTokenOf('prod', 'web2', 0, 1), clientTokenOf('test', 'web', 0, 1)];
    expect(new Set([token, ...others]).size).toBe(5);
    // "web-1" ordinal 0 and "web" ordinal 10 must not collide by concatenation.
    expect(clientTokenOf('c', 'web-1', 0, 1)).not.toBe(clientTokenOf('c', 'web', 10, 1));
  });

  it('treats a cluster name and its ARN alike', () => {
    expect(clusterName('arn:aws:ecs:us-east-1:123456789012:cluster/prod')).toBe('prod');
    expect(clusterName('prod')).toBe('prod');
    expect(clientTokenOf('arn:aws:ecs:us-east-1:123456789012:cluster/prod', 'web', 0, 1)).toBe(clientTokenOf('prod', 'web', 0, 1));
  });

  it('derives access point tokens from the file system and path', () => {
    const a = accessPointTokenOf('fs-1', accessPointPath('web', 'data', 0));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).toBe(accessPointTokenOf('fs-1', '/ordinal/web/data-web-0'));
    expect(a).not.toBe(accessPointTokenOf('fs-2', '/ordinal/web/data-web-0'));
    expect(a).not.toBe(accessPointTokenOf('fs-1', '/ordinal/web/data-web-1'));
  });
});

describe('reading a described task', () => {
  const task = {
    taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/prod/0123abcd',
    lastStatus: 'RUNNING',
    attachments: [
      {
        type: 'ElasticNetworkInterface',
        status: 'ATTACHED',
        details: [
          { name: 'networkInterfaceId', value: 'eni-0123' },
          { name: 'privateIPv4Address', value: '10.0.1.17' },
        ],
      },
    ],
    containers: [{ name: 'web', healthStatus: 'HEALTHY' }],
  };

  it('finds the address and ENI of the task', () => {
    expect(taskAddress(task)).toBe('10.0.1.17');
    expect(taskNetworkInterfaceId(task)).toBe('eni-0123');
    expect(taskAddress({ attachments: [{ type: 'ElasticNetworkInterface', details: [{ name: 'networkInterfaceId', value: 'eni-1' }] }] })).toBeUndefined();
    expect(taskAddress({})).toBeUndefined();
  });

  it('reads the named container health, else the only container, else the task', () => {
    expect(taskHealth(task, 'web')).toBe('HEALTHY');
    expect(taskHealth(task, 'other')).toBe('HEALTHY'); // the only container
    expect(taskHealth({ containers: [{ name: 'a', healthStatus: 'UNHEALTHY' }, { name: 'b', healthStatus: 'HEALTHY' }] }, 'a')).toBe('UNHEALTHY');
    expect(taskHealth({ healthStatus: 'HEALTHY', containers: [] }, 'web')).toBe('HEALTHY');
    expect(taskHealth({ containers: [{ name: 'web' }] }, 'web')).toBe('UNKNOWN');
  });

  it('tells how a task stopped', () => {
    expect(
      stoppedMessage({ ...task, lastStatus: 'STOPPED', stoppedReason: 'Essential container in task exited', containers: [{ name: 'web', exitCode: 137, reason: 'OutOfMemoryError' }] }, 'web'),
    ).toBe('task 0123abcd stopped: Essential container in task exited: exit code 137: OutOfMemoryError');
    expect(isStopped({ lastStatus: 'STOPPED' })).toBe(true);
    expect(isStopped({ lastStatus: 'DEPROVISIONING' })).toBe(false);
    expect(isStopped({ lastStatus: 'PENDING' })).toBe(false);
  });

  it('describes in batches of 100', () => {
    expect(chunks(Array.from({ length: 250 }, (_, i) => i), 100).map((c) => c.length)).toEqual([100, 100, 50]);
    expect(chunks([], 100)).toEqual([]);
  });
});

describe('Fargate sizes and volume paths', () => {
  const valid: Array<[number, number]> = [
    [256, 512], [256, 2048], [512, 1024], [512, 4096], [1024, 2048], [1024, 8192], [2048, 16384], [4096, 30720], [8192, 16384], [8192, 61440], [16384, 32768], [16384, 122880],
  ];
  const invalid: Array<[number, number]> = [
    [256, 4096], [256, 768], [512, 512], [512, 1536], [1024, 1024], [2048, 20480], [4096, 31744], [8192, 20000], [16384, 40000], [300, 512], [128, 512],
  ];
  for (const [cpu, memory] of valid) it(`accepts cpu ${cpu} with memory ${memory}`, () => expect(isFargateSize(cpu, memory)).toBe(true));
  for (const [cpu, memory] of invalid) it(`refuses cpu ${cpu} with memory ${memory}`, () => expect(isFargateSize(cpu, memory)).toBe(false));

  it('says which memory sizes go with a cpu', () => {
    expect(fargateMemoryRule(256)).toBe('with cpu 256, memory must be 512, 1024 or 2048 (MiB)');
    expect(fargateMemoryRule(1024)).toBe('with cpu 1024, memory must be 2048 to 8192 MiB in steps of 1024');
  });

  it('roots each instance volume at /ordinal/<set>/<template>-<set>-<ordinal>', () => {
    expect(accessPointPath('db', 'data', 2)).toBe('/ordinal/db/data-db-2');
    expect(defaultMountPath('data')).toBe('/volumes/data');
  });
});

describe('task definition plans', () => {
  function ecs(extra: Record<string, unknown> = {}, volumes: string[] = []): EcsTemplate {
    const parsed = parseManifest({
      apiVersion: 'ordinal.dev/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: {
        volumeClaimTemplates: volumes.map((name) => ({ metadata: { name } })),
        template: { ecs: { cluster: 'prod', image: 'redis:7', subnets: ['subnet-0123456789abcdef0'], ...(volumes.length ? { efs: { fileSystemId: 'fs-0123456789abcdef0' } } : {}), ...extra } },
      },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    return parsed.value.spec.template.ecs!;
  }
  const base = (e: EcsTemplate, accessPoints: Record<string, string> = {}): TaskDefinitionRequest => ({
    set: 'db',
    ecs: e,
    ports: [{ name: 'redis', port: 6379, protocol: 'TCP' }],
    terminationGracePeriodSeconds: 30,
    accessPoints,
  });

  it('is a Fargate awsvpc definition named by the hash of its content', () => {
    const plan = planTaskDefinition(base(ecs()));
    expect(plan.family).toBe(`ordinal-db-${plan.hash}`);
    expect(plan.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(plan.input).toMatchObject({ family: plan.family, networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], cpu: '256', memory: '512' });
    const container = plan.input.containerDefinitions![0];
    expect(container).toMatchObject({ name: 'db', image: 'redis:7', essential: true, stopTimeout: 30, portMappings: [{ containerPort: 6379, protocol: 'tcp', name: 'redis' }] });
    expect(plan.input.tags).toEqual(expect.arrayContaining([{ key: 'ordinal:hash', value: plan.hash }]));
  });

  it('hashes the same request the same, whatever the order of env entries', () => {
    const a = planTaskDefinition(base(ecs({ env: { A: '1', B: '2' } })));
    const b = planTaskDefinition(base(ecs({ env: { B: '2', A: '1' } })));
    expect(a.family).toBe(b.family);
    expect(a.input).toEqual(b.input);
  });

  const changes: Array<[string, TaskDefinitionRequest]> = [
    ['image', base(ecs({ image: 'redis:8' }))],
    ['cpu and memory', base(ecs({ cpu: 512, memory: 1024 }))],
    ['env', base(ecs({ env: { A: '1' } }))],
    ['command', base(ecs({ command: ['redis-server', '--appendonly', 'yes'] }))],
    ['health check', base(ecs({ healthCheck: { command: ['CMD', 'true'] } }))],
    ['task role', base(ecs({ taskRoleArn: 'arn:aws:iam::123456789012:role/app' }))],
    ['grace period', { ...base(ecs()), terminationGracePeriodSeconds: 10 }],
    ['ports', { ...base(ecs()), ports: [] }],
    ['set', { ...base(ecs()), set: 'db2' }],
  ];
  for (const [what, request] of changes) {
    it(`changes the hash when the ${what} changes`, () => expect(planTaskDefinition(request).hash).not.toBe(planTaskDefinition(base(ecs())).hash));
  }

  it('mounts each volume from its own access point, one definition per instance', () => {
    const template = ecs({ volumeMounts: [{ name: 'data', mountPath: '/var/lib/redis' }] }, ['data', 'logs']);
    const p0 = planTaskDefinition(base(template, { data: 'fsap-0', logs: 'fsap-1' }));
    const p1 = planTaskDefinition(base(template, { data: 'fsap-2', logs: 'fsap-3' }));
    expect(p0.hash).not.toBe(p1.hash);
    expect(p0.input.volumes).toEqual([
      { name: 'data', efsVolumeConfiguration: { fileSystemId: 'fs-0123456789abcdef0', transitEncryption: 'ENABLED', authorizationConfig: { accessPointId: 'fsap-0', iam: 'DISABLED' } } },
      { name: 'logs', efsVolumeConfiguration: { fileSystemId: 'fs-0123456789abcdef0', transitEncryption: 'ENABLED', authorizationConfig: { accessPointId: 'fsap-1', iam: 'DISABLED' } } },
    ]);
    const container = p0.input.containerDefinitions![0];
    expect(container.mountPoints).toEqual([
      { sourceVolume: 'data', containerPath: '/var/lib/redis', readOnly: false },
      { sourceVolume: 'logs', containerPath: '/volumes/logs', readOnly: false },
    ]);
    expect(container.environment).toEqual([
      { name: 'ORDINAL_VOLUME_DATA', value: '/var/lib/redis' },
      { name: 'ORDINAL_VOLUME_LOGS', value: '/volumes/logs' },
    ]);
    expect(mountPathOf(template, 'logs')).toBe('/volumes/logs');
  });

  it('caps the stop timeout at what Fargate allows, names the container, maps health check and logs', () => {
    const template = ecs({
      containerName: 'app',
      healthCheck: { command: ['CMD-SHELL', 'redis-cli ping'], intervalSeconds: 10, timeoutSeconds: 3, retries: 5, startPeriodSeconds: 20 },
      executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
      awslogs: { group: '/ordinal/db' },
    });
    const plan = planTaskDefinition({ ...base(template), terminationGracePeriodSeconds: 600 });
    const container = plan.input.containerDefinitions![0];
    expect(containerNameOf('db', template)).toBe('app');
    expect(container.name).toBe('app');
    expect(container.stopTimeout).toBe(120);
    expect(container.healthCheck).toEqual({ command: ['CMD-SHELL', 'redis-cli ping'], interval: 10, timeout: 3, retries: 5, startPeriod: 20 });
    expect(container.logConfiguration).toEqual({ logDriver: 'awslogs', options: { 'awslogs-group': '/ordinal/db', 'awslogs-stream-prefix': 'ordinal' } });
    expect(plan.input.executionRoleArn).toBe('arn:aws:iam::123456789012:role/exec');
  });
});

// The manifest's ecs template: defaults, every field's rules, the exactly-one-driver rule, the rules
// relating ecs to the rest of the spec (volumes, probes, readiness), what cannot change once a set
// exists, and readiness through the container health check.
import { describe, expect, it } from 'vitest';
import type { InstanceHandle } from '../../activities/drivers/driver.js';
import { hasReadinessGate, parseManifest, templateKind, type FieldIssue, type Manifest } from '../../core/manifest.js';
import { initialState } from '../../core/set-state.js';
import { applyCreated, applyManifest, checkApply } from '../../core/transitions.js';
import { loadConfig } from '../../infra/config.js';

type Doc = Record<string, any>;

const SUBNET = 'subnet-0123456789abcdef0';
const SG = 'sg-0123456789abcdef0';
const FS = 'fs-0123456789abcdef0';
const ROLE = 'arn:aws:iam::123456789012:role/ordinal-exec';

function minimal(ecs: Doc = {}, spec: Doc = {}, template: Doc = {}): Doc {
  return {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: { ...spec, template: { ecs: { cluster: 'prod', image: 'redis:7', subnets: [SUBNET], ...ecs }, ...template } },
  };
}

function valid(document: unknown): Manifest {
  const result = parseManifest(document);
  if (!result.ok) throw new Error(`expected a valid manifest, got ${JSON.stringify(result.issues)}`);
  return result.value;
}

function issuesOf(document: unknown): FieldIssue[] {
  const result = parseManifest(document);
  if (result.ok) throw new Error(`expected an invalid manifest, got ${JSON.stringify(result.value.spec.template)}`);
  return result.issues;
}

describe('ecs template: defaults', () => {
  it('fills Fargate defaults and keeps what is given', () => {
    const m = valid(minimal());
    expect(m.spec.template.process).toBeUndefined();
    expect(m.spec.template.ecs).toEqual({
      cluster: 'prod',
      image: 'redis:7',
      cpu: 256,
      memory: 512,
      subnets: [SUBNET],
      securityGroups: [],
      assignPublicIp: false,
      env: {},
      readiness: 'probes',
      volumeMounts: [],
    });
    expect(templateKind(m.spec.template)).toBe('ecs');
  });

  it('fills health check and efs defaults', () => {
    const m = valid(minimal({ healthCheck: { command: ['CMD', 'true'] }, efs: { fileSystemId: FS } }, { volumeClaimTemplates: [{ metadata: { name: 'data' } }] }));
    expect(m.spec.template.ecs!.healthCheck).toEqual({ command: ['CMD', 'true'], intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 0 });
    expect(m.spec.template.ecs!.efs).toEqual({ fileSystemId: FS, ownerUid: 0, ownerGid: 0, permissions: '0755', iam: false });
  });

  it('accepts a full ecs template', () => {
    const m = valid(
      minimal(
        {
          cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
          image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/db@sha256:0123',
          cpu: 1024,
          memory: 4096,
          subnets: [SUBNET, 'subnet-0fedcba9'],
          securityGroups: [SG],
          assignPublicIp: true,
          executionRoleArn: ROLE,
          taskRoleArn: 'arn:aws:iam::123456789012:role/path/app',
          containerName: 'redis',
          command: ['redis-server', '--appendonly', 'yes'],
          env: { MODE: 'replica' },
          healthCheck: { command: ['CMD-SHELL', 'redis-cli ping'], intervalSeconds: 5, timeoutSeconds: 2, retries: 10, startPeriodSeconds: 300 },
          readiness: 'healthCheck',
          efs: { fileSystemId: FS, ownerUid: 999, ownerGid: 999, permissions: '0700', iam: true },
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
          awslogs: { group: '/ordinal/db', region: 'eu-west-1', streamPrefix: 'db' },
        },
        { volumeClaimTemplates: [{ metadata: { name: 'data' } }] },
        { ports: [{ name: 'redis', port: 6379 }], livenessProbe: { tcpSocket: { port: 'redis' } } },
      ),
    );
    expect(m.spec.template.ecs!.readiness).toBe('healthCheck');
    expect(hasReadinessGate(m.spec.template)).toBe(true);
  });
});

describe('ecs template: exactly one driver', () => {
  it('refuses a template with neither process nor ecs, naming process', () => {
    const d = minimal();
    delete d.spec.template.ecs;
    expect(issuesOf(d)).toEqual([{ path: 'spec.template.process', message: 'is required: a template has exactly one of process or ecs' }]);
  });

  it('refuses a template with both, naming ecs', () => {
    const d = minimal();
    d.spec.template.process = { command: ['node', 'server.mjs'] };
    expect(issuesOf(d)).toEqual([{ path: 'spec.template.ecs', message: 'must not be given together with process: a template has exactly one of process or ecs' }]);
  });

  it('keeps process templates as they were (same output, so the same revision hashes)', () => {
    const m = valid({ apiVersion: 'ordinal.dev/v1', kind: 'StatefulSet', metadata: { name: 'web' }, spec: { template: { process: { command: ['node', 'x.mjs'] } } } });
    expect(Object.keys(m.spec.template).sort()).toEqual(['ports', 'process', 'terminationGracePeriodSeconds']);
    expect(templateKind(m.spec.template)).toBe('process');
  });
});

describe('ecs template: field rules', () => {
  const cases: Array<{ name: string; ecs?: Doc; spec?: Doc; template?: Doc; issues: Array<{ path: string; message: string | RegExp }> }> = [
    { name: 'missing cluster', ecs: { cluster: undefined }, issues: [{ path: 'spec.template.ecs.cluster', message: 'is required' }] },
    { name: 'bad cluster name', ecs: { cluster: 'my cluster' }, issues: [{ path: 'spec.template.ecs.cluster', message: /cluster name/ }] },
    { name: 'bad cluster ARN', ecs: { cluster: 'arn:aws:ecs:us-east-1:123:cluster/x' }, issues: [{ path: 'spec.template.ecs.cluster', message: /cluster name/ }] },
    { name: 'missing image', ecs: { image: undefined }, issues: [{ path: 'spec.template.ecs.image', message: 'is required' }] },
    { name: 'empty image', ecs: { image: '' }, issues: [{ path: 'spec.template.ecs.image', message: 'must not be empty' }] },
    { name: 'image with spaces', ecs: { image: 'redis 7' }, issues: [{ path: 'spec.template.ecs.image', message: /without whitespace/ }] },
    { name: 'cpu not a Fargate size', ecs: { cpu: 300 }, issues: [{ path: 'spec.template.ecs.cpu', message: 'must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192, 16384' }] },
    { name: 'cpu as a string', ecs: { cpu: '256' }, issues: [{ path: 'spec.template.ecs.cpu', message: 'must be a number' }] },
    { name: 'memory too small for the cpu', ecs: { cpu: 1024, memory: 1024 }, issues: [{ path: 'spec.template.ecs.memory', message: 'must be a Fargate size: with cpu 1024, memory must be 2048 to 8192 MiB in steps of 1024' }] },
    { name: 'memory too large for the default cpu', ecs: { memory: 4096 }, issues: [{ path: 'spec.template.ecs.memory', message: 'must be a Fargate size: with cpu 256, memory must be 512, 1024 or 2048 (MiB)' }] },
    { name: 'memory off the step', ecs: { cpu: 512, memory: 1500 }, issues: [{ path: 'spec.template.ecs.memory', message: /steps of 1024/ }] },
    { name: 'missing subnets', ecs: { subnets: undefined }, issues: [{ path: 'spec.template.ecs.subnets', message: 'is required' }] },
    { name: 'no subnets', ecs: { subnets: [] }, issues: [{ path: 'spec.template.ecs.subnets', message: 'must list at least one subnet' }] },
    { name: 'a bad subnet id', ecs: { subnets: ['subnet-XYZ'] }, issues: [{ path: 'spec.template.ecs.subnets[0]', message: /subnet id/ }] },
    { name: 'a bad security group', ecs: { securityGroups: ['default'] }, issues: [{ path: 'spec.template.ecs.securityGroups[0]', message: /security group id/ }] },
    { name: 'too many security groups', ecs: { securityGroups: Array.from({ length: 6 }, (_, i) => `sg-0000000${i}`) }, issues: [{ path: 'spec.template.ecs.securityGroups', message: 'must list at most 5 security groups' }] },
    { name: 'assignPublicIp not a boolean', ecs: { assignPublicIp: 'yes' }, issues: [{ path: 'spec.template.ecs.assignPublicIp', message: 'must be true or false' }] },
    { name: 'a bad role ARN', ecs: { taskRoleArn: 'role/app' }, issues: [{ path: 'spec.template.ecs.taskRoleArn', message: /IAM role ARN/ }] },
    { name: 'a bad execution role ARN', ecs: { executionRoleArn: 'arn:aws:iam::123456789012:user/x' }, issues: [{ path: 'spec.template.ecs.executionRoleArn', message: /IAM role ARN/ }] },
    { name: 'a bad container name', ecs: { containerName: 'my app' }, issues: [{ path: 'spec.template.ecs.containerName', message: /letters, digits/ }] },
    { name: 'a shell string command', ecs: { command: 'redis-server --x' }, issues: [{ path: 'spec.template.ecs.command', message: 'must be an argv array of strings (no shell is used)' }] },
    { name: 'an empty command', ecs: { command: [] }, issues: [{ path: 'spec.template.ecs.command', message: 'must name a program to run' }] },
    { name: 'an invalid env name', ecs: { env: { '1X': 'v' } }, issues: [{ path: 'spec.template.ecs.env.1X', message: /environment variable name/ }] },
    { name: 'a reserved env name', ecs: { env: { ORDINAL_NAME: 'v' } }, issues: [{ path: 'spec.template.ecs.env.ORDINAL_NAME', message: 'ORDINAL_* variables are set by Ordinal itself' }] },
    { name: 'an env value that is not a string', ecs: { env: { A: 1 } }, issues: [{ path: 'spec.template.ecs.env.A', message: 'must be a string' }] },
    { name: 'a health check without CMD', ecs: { healthCheck: { command: ['curl', 'localhost'] } }, issues: [{ path: 'spec.template.ecs.healthCheck.command', message: /must start with "CMD"/ }] },
    { name: 'a health check with no command', ecs: { healthCheck: { command: ['CMD'] } }, issues: [{ path: 'spec.template.ecs.healthCheck.command', message: /CMD-SHELL/ }] },
    { name: 'a health check interval too short', ecs: { healthCheck: { command: ['CMD', 'true'], intervalSeconds: 1 } }, issues: [{ path: 'spec.template.ecs.healthCheck.intervalSeconds', message: 'must be at least 5' }] },
    { name: 'a health check timeout too long', ecs: { healthCheck: { command: ['CMD', 'true'], timeoutSeconds: 61 } }, issues: [{ path: 'spec.template.ecs.healthCheck.timeoutSeconds', message: 'must be at most 60' }] },
    { name: 'health check retries out of range', ecs: { healthCheck: { command: ['CMD', 'true'], retries: 0 } }, issues: [{ path: 'spec.template.ecs.healthCheck.retries', message: 'must be at least 1' }] },
    { name: 'a health check start period too long', ecs: { healthCheck: { command: ['CMD', 'true'], startPeriodSeconds: 301 } }, issues: [{ path: 'spec.template.ecs.healthCheck.startPeriodSeconds', message: 'must be at most 300' }] },
    { name: 'an unknown health check field', ecs: { healthCheck: { command: ['CMD', 'true'], interval: 5 } }, issues: [{ path: 'spec.template.ecs.healthCheck.interval', message: 'unknown field' }] },
    { name: 'an unknown readiness', ecs: { readiness: 'http' }, issues: [{ path: 'spec.template.ecs.readiness', message: 'must be probes or healthCheck' }] },
    { name: 'readiness healthCheck without a health check', ecs: { readiness: 'healthCheck' }, issues: [{ path: 'spec.template.ecs.healthCheck', message: 'is required when readiness is healthCheck' }] },
    { name: 'a bad file system id', ecs: { efs: { fileSystemId: 'fs_1' } }, issues: [{ path: 'spec.template.ecs.efs.fileSystemId', message: /EFS file system id/ }] },
    { name: 'bad efs permissions', ecs: { efs: { fileSystemId: FS, permissions: '0999' } }, issues: [{ path: 'spec.template.ecs.efs.permissions', message: /octal/ }] },
    { name: 'a relative mount path', spec: { volumeClaimTemplates: [{ metadata: { name: 'data' } }] }, ecs: { efs: { fileSystemId: FS }, volumeMounts: [{ name: 'data', mountPath: 'data' }] }, issues: [{ path: 'spec.template.ecs.volumeMounts[0].mountPath', message: 'must be an absolute path' }] },
    { name: 'a duplicate mount', spec: { volumeClaimTemplates: [{ metadata: { name: 'data' } }] }, ecs: { efs: { fileSystemId: FS }, volumeMounts: [{ name: 'data', mountPath: '/a' }, { name: 'data', mountPath: '/b' }] }, issues: [{ path: 'spec.template.ecs.volumeMounts[1].name', message: "duplicate volume mount 'data'" }] },
    { name: 'a duplicate mount path', spec: { volumeClaimTemplates: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }] }, ecs: { efs: { fileSystemId: FS }, volumeMounts: [{ name: 'a', mountPath: '/x' }, { name: 'b', mountPath: '/x' }] }, issues: [{ path: 'spec.template.ecs.volumeMounts[1].mountPath', message: "duplicate mount path '/x'" }] },
    { name: 'awslogs without an execution role', ecs: { awslogs: { group: '/g' } }, issues: [{ path: 'spec.template.ecs.executionRoleArn', message: 'is required with awslogs (ECS writes the logs with it)' }] },
    { name: 'a bad awslogs region', ecs: { executionRoleArn: ROLE, awslogs: { group: '/g', region: 'mars' } }, issues: [{ path: 'spec.template.ecs.awslogs.region', message: /AWS region/ }] },
    { name: 'an unknown ecs field', ecs: { replicas: 3 }, issues: [{ path: 'spec.template.ecs.replicas', message: 'unknown field' }] },
    { name: 'process fields under ecs', ecs: { workingDir: '/app' }, issues: [{ path: 'spec.template.ecs.workingDir', message: 'unknown field' }] },
    // Rules relating ecs to the rest of the template and spec.
    { name: 'an exec readiness probe', template: { readinessProbe: { exec: { command: ['true'] } } }, issues: [{ path: 'spec.template.readinessProbe.exec', message: /exec probes run on the worker's host/ }] },
    { name: 'an exec liveness probe', template: { livenessProbe: { exec: { command: ['true'] } } }, issues: [{ path: 'spec.template.livenessProbe.exec', message: /exec probes run on the worker's host/ }] },
    {
      name: 'a readiness probe beside readiness healthCheck',
      ecs: { healthCheck: { command: ['CMD', 'true'] }, readiness: 'healthCheck' },
      template: { ports: [{ port: 80 }], readinessProbe: { tcpSocket: { port: 80 } } },
      issues: [{ path: 'spec.template.readinessProbe', message: /must not be given when ecs.readiness is healthCheck/ }],
    },
    { name: 'volumes without efs', spec: { volumeClaimTemplates: [{ metadata: { name: 'data' } }] }, issues: [{ path: 'spec.template.ecs.efs', message: "is required when the set has volumeClaimTemplates: each instance's volumes are EFS access points" }] },
    { name: 'a mount of an unknown volume', spec: { volumeClaimTemplates: [{ metadata: { name: 'data' } }] }, ecs: { efs: { fileSystemId: FS }, volumeMounts: [{ name: 'logs', mountPath: '/logs' }] }, issues: [{ path: 'spec.template.ecs.volumeMounts[0].name', message: "names volume 'logs', but spec.volumeClaimTemplates has no template of that name" }] },
  ];

  for (const c of cases) {
    it(`refuses ${c.name}`, () => {
      const d = minimal(c.ecs, c.spec, c.template);
      for (const [k, v] of Object.entries(c.ecs ?? {})) if (v === undefined) delete d.spec.template.ecs[k];
      const issues = issuesOf(d);
      expect(issues, JSON.stringify(issues)).toHaveLength(c.issues.length);
      expect(issues).toEqual(expect.arrayContaining(c.issues.map((e) => ({ path: e.path, message: typeof e.message === 'string' ? e.message : expect.stringMatching(e.message) }))));
    });
  }

  it('accepts efs without volumes (unused) and probes against the task address', () => {
    valid(minimal({ efs: { fileSystemId: FS } }, {}, { ports: [{ name: 'http', port: 80 }], readinessProbe: { httpGet: { port: 'http' } }, livenessProbe: { tcpSocket: { port: 80 } } }));
  });
});

describe('ecs template: what cannot change once the set exists', () => {
  function applied(document: Doc) {
    const state = initialState('db');
    const checked = checkApply(state, document);
    if (!checked.ok) throw new Error(JSON.stringify(checked.rejection));
    applyManifest(state, checked.value, 0);
    return state;
  }
  const process = (): Doc => {
    const d = minimal();
    delete d.spec.template.ecs;
    d.spec.template.process = { command: ['node', 'x.mjs'] };
    return d;
  };

  it('refuses moving a set from process to ecs, and back', () => {
    const fromProcess = checkApply(applied(process()), minimal());
    expect(fromProcess).toMatchObject({ ok: false, rejection: { details: [{ path: 'spec.template.ecs', message: expect.stringMatching(/run on the process driver/) }] } });
    const fromEcs = checkApply(applied(minimal()), process());
    expect(fromEcs).toMatchObject({ ok: false, rejection: { details: [{ path: 'spec.template.process', message: expect.stringMatching(/run on the ecs driver/) }] } });
  });

  it('refuses another cluster or file system, accepts other changes', () => {
    const state = applied(minimal({ efs: { fileSystemId: FS } }, { volumeClaimTemplates: [{ metadata: { name: 'data' } }] }));
    const withVolumes = (ecs: Doc) => minimal({ efs: { fileSystemId: FS }, ...ecs }, { volumeClaimTemplates: [{ metadata: { name: 'data' } }] });
    expect(checkApply(state, withVolumes({ cluster: 'other' }))).toMatchObject({ ok: false, rejection: { details: [{ path: 'spec.template.ecs.cluster' }] } });
    expect(checkApply(state, withVolumes({ efs: { fileSystemId: 'fs-0fedcba987654321' } }))).toMatchObject({
      ok: false,
      rejection: { details: [{ path: 'spec.template.ecs.efs.fileSystemId' }] },
    });
    expect(checkApply(state, withVolumes({ image: 'redis:8', cpu: 512, memory: 1024 })).ok).toBe(true);
  });
});

describe('ecs template: readiness through the container health check', () => {
  it('an instance of a healthCheck template is not Ready on creation; one without a gate is', () => {
    for (const [ecs, ready] of [
      [{ healthCheck: { command: ['CMD', 'true'] }, readiness: 'healthCheck' }, false],
      [{ healthCheck: { command: ['CMD', 'true'] } }, true],
    ] as const) {
      const state = initialState<InstanceHandle>('db');
      const checked = checkApply(state, minimal(ecs));
      if (!checked.ok) throw new Error('invalid');
      applyManifest(state, checked.value, 0);
      const revision = state.updateRevision!;
      applyCreated(state, { kind: 'create', ordinal: 0, incarnation: 1, revision } as never, {
        set: 'db', ordinal: 0, incarnation: 1, revision, address: '10.0.0.1', pid: 0, startedAt: 1, logPath: '', driver: 'ecs', locator: 'arn:task',
      });
      expect(state.instances[0].ready).toBe(ready);
    }
  });
});

describe('ecs configuration of the worker', () => {
  it('is off unless enabled or given an endpoint', () => {
    expect(loadConfig({}).ecs).toBeUndefined();
    expect(loadConfig({ AWS_REGION: 'eu-west-1' }).ecs).toBeUndefined();
    expect(loadConfig({ ORDINAL_ECS: 'enabled', AWS_REGION: 'eu-west-1' }).ecs).toEqual({ region: 'eu-west-1' });
    expect(loadConfig({ ORDINAL_ECS_ENDPOINT: 'http://127.0.0.1:5000', ORDINAL_ECS_CLUSTERS: 'a, b', ORDINAL_ECS_POLL_MS: '100', ORDINAL_ECS_REGION: 'us-east-1' }).ecs).toEqual({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:5000',
      clusters: ['a', 'b'],
      pollMs: 100,
    });
    expect(loadConfig({ ORDINAL_ECS: 'disabled', ORDINAL_ECS_ENDPOINT: 'http://x' }).ecs).toBeUndefined();
  });

  it('refuses bad values with the variable named', () => {
    expect(() => loadConfig({ ORDINAL_ECS: 'yes' })).toThrow(/ORDINAL_ECS must be/);
    expect(() => loadConfig({ ORDINAL_ECS_ENDPOINT: 'localhost:5000' })).toThrow(/ORDINAL_ECS_ENDPOINT must be an http/);
    expect(() => loadConfig({ ORDINAL_ECS: 'enabled', ORDINAL_ECS_POLL_MS: '1' })).toThrow(/ORDINAL_ECS_POLL_MS/);
  });
});

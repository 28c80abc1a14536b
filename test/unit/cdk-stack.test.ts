// The CDK stack of infra/cdk/ through aws-cdk-lib/assertions: what it creates, the auth of the API's
// Function URL, the worker's graceful shutdown and secrets, and above all that every IAM statement is
// least-privilege: each action on this stack's own cluster, task definition families, roles, file
// system and hosted zone, "*" only for the few actions IAM cannot scope. (Bundling and CloudFormation
// validation are skipped here for speed; test/integration/cdk-synth.test.ts runs the real `cdk synth`.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParamError, readParams, type OrdinalStackParams } from '../../infra/cdk/params.js';
import { INSTANCE_FAMILY_PREFIX, OrdinalStack, WORKER_STOP_TIMEOUT_SECONDS } from '../../infra/cdk/stack.js';

const BASE = {
  temporalAddress: 'ordinal-test.a1b2c.tmprl.cloud:7233',
  temporalNamespace: 'ordinal-test.a1b2c',
  temporalSecret: 'ordinal/temporal',
};

const outdirs: string[] = [];
process.env.CDK_VALIDATION = 'false';

function synth(context: Record<string, unknown> = {}, stackName = 'Ordinal'): { stack: OrdinalStack; template: Template; json: any } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-cdk-unit-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:disable-asset-staging': true } });
  const params = readParams((key) => ({ ...BASE, ...context })[key]);
  const stack = new OrdinalStack(app, stackName, { params });
  const template = Template.fromStack(stack);
  return { stack, template, json: template.toJSON() };
}

afterAll(() => {
  for (const dir of outdirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A CloudFormation value as readable text: Refs and GetAtts as ${...}, Fn::Join joined. */
function render(value: unknown): any {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(render);
  if (value && typeof value === 'object') {
    const v = value as Record<string, any>;
    if ('Ref' in v) return `\${${v.Ref}}`;
    if ('Fn::GetAtt' in v) return `\${${v['Fn::GetAtt'].join('.')}}`;
    if ('Fn::Join' in v) return (v['Fn::Join'][1] as unknown[]).map(render).join(v['Fn::Join'][0]);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, render(x)]));
  }
  return value;
}

function logicalId(stack: Stack, construct: IConstruct): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** The statements of every inline policy attached to a role, rendered. */
function statementsOf(json: any, roleId: string): Statement[] {
  return Object.values(json.Resources as Record<string, any>)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement)
    .map(render);
}

function actions(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

function resources(statement: Statement): string[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource as string];
}

const ARN = (service: string, resource: string) => `arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${resource}`;

describe('the default stack (Temporal API key, bearer tokens, a new VPC)', () => {
  let stack: OrdinalStack;
  let template: Template;
  let json: any;
  let ids: Record<'cluster' | 'zone' | 'fs' | 'taskRole' | 'execRole' | 'workerRole' | 'tokens' | 'api', string>;

  beforeAll(() => {
    ({ stack, template, json } = synth());
    ids = {
      cluster: logicalId(stack, stack.cluster),
      zone: logicalId(stack, stack.zone),
      fs: logicalId(stack, stack.fileSystem),
      taskRole: logicalId(stack, stack.instanceTaskRole),
      execRole: logicalId(stack, stack.instanceExecutionRole),
      workerRole: logicalId(stack, stack.workerTaskRole),
      tokens: logicalId(stack, stack.tokensSecret!),
      api: logicalId(stack, stack.api),
    };
  }, 60_000);

  it('creates the VPC, the private hosted zone, the encrypted file system, the cluster, the worker service and the API', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.hasResourceProperties('AWS::Route53::HostedZone', {
      Name: 'ordinal.internal.',
      VPCs: [Match.objectLike({ VPCId: Match.anyValue() })],
    });
    template.hasResource('AWS::Route53::HostedZone', { DeletionPolicy: 'Retain' });
    template.hasResourceProperties('AWS::EFS::FileSystem', { Encrypted: true, ThroughputMode: 'elastic' });
    template.hasResource('AWS::EFS::FileSystem', { DeletionPolicy: 'Retain' });
    template.resourceCountIs('AWS::EFS::MountTarget', 2);
    template.resourceCountIs('AWS::ECS::Cluster', 1);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.resourceCountIs('AWS::Lambda::Url', 1);
    template.resourceCountIs('AWS::ECS::Service', 1);
  });

  it('runs the worker as a Fargate service in private subnets, a new task before an old one stops', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DesiredCount: 1,
      DeploymentConfiguration: Match.objectLike({
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      }),
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
    });
  });

  it('shuts the worker down gracefully: an init process forwards SIGTERM, and ECS waits 60 s before SIGKILL', () => {
    expect(WORKER_STOP_TIMEOUT_SECONDS).toBe(60);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'worker-Ordinal', // not ordinal-*: the worker cannot run copies of itself
      RequiresCompatibilities: ['FARGATE'],
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'worker',
          Essential: true,
          StopTimeout: 60,
          LinuxParameters: { InitProcessEnabled: true },
        }),
      ],
    });
    const dockerfile = fs.readFileSync(path.join(__dirname, '../../infra/cdk/worker.Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "bin\/ordinal.js"\]$/m); // exec form: node gets the signal
    expect(dockerfile).toMatch(/^CMD \["worker"\]$/m);
  });

  it("gives the worker Temporal's address and the API key from Secrets Manager, and the ECS driver its settings", () => {
    const task = Object.values(json.Resources as Record<string, any>).find((r) => r.Type === 'AWS::ECS::TaskDefinition')!;
    const container = render(task.Properties.ContainerDefinitions[0]);
    const env = Object.fromEntries(container.Environment.map((e: { Name: string; Value: string }) => [e.Name, e.Value]));
    expect(env).toEqual({
      TEMPORAL_ADDRESS: BASE.temporalAddress,
      TEMPORAL_NAMESPACE: BASE.temporalNamespace,
      ORDINAL_TASK_QUEUE: 'ordinal',
      ORDINAL_ROUTE53_OWNER_ID: 'ordinal',
      ORDINAL_LOG_LEVEL: 'info',
      ORDINAL_ECS: 'enabled',
      ORDINAL_ECS_CLUSTERS: `\${${ids.cluster}.Arn}`,
    });
    expect(env).not.toHaveProperty('TEMPORAL_API_KEY'); // never in plain text
    expect(container.Secrets).toEqual([
      { Name: 'TEMPORAL_API_KEY', ValueFrom: `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:ordinal/temporal:TEMPORAL_API_KEY::` },
    ]);
    // ECS reads the secret with the task's execution role; the worker's own role cannot.
    const execRoleId = render(task.Properties.ExecutionRoleArn).replace(/^\$\{(.*)\.Arn\}$/, '$1');
    const read = statementsOf(json, execRoleId).find((s) => actions(s).includes('secretsmanager:GetSecretValue'))!;
    expect(resources(read)).toEqual([`arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:ordinal/temporal-??????`]);
    expect(statementsOf(json, ids.workerRole).flatMap(actions).filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
  });

  it('gives the worker exactly what the ECS driver and the Route 53 provider need, on this stack only', () => {
    const statements = statementsOf(json, ids.workerRole);
    const onCluster = { ArnEquals: { 'ecs:cluster': `\${${ids.cluster}.Arn}` } };
    const tasks = ARN('ecs', `task/\${${ids.cluster}}/*`);
    const taskDefinitions = ARN('ecs', 'task-definition/ordinal-*');
    const accessPoints = ARN('elasticfilesystem', 'access-point/*');
    expect(statements).toEqual([
      { Sid: 'RunInstanceTasks', Effect: 'Allow', Action: 'ecs:RunTask', Resource: taskDefinitions, Condition: onCluster },
      { Sid: 'ManageInstanceTasks', Effect: 'Allow', Action: ['ecs:StopTask', 'ecs:DescribeTasks'], Resource: tasks, Condition: onCluster },
      { Sid: 'ListInstanceTasks', Effect: 'Allow', Action: 'ecs:ListTasks', Resource: '*', Condition: onCluster },
      {
        Sid: 'TagOnCreate',
        Effect: 'Allow',
        Action: 'ecs:TagResource',
        Resource: [tasks, taskDefinitions],
        Condition: { StringEquals: { 'ecs:CreateAction': ['RunTask', 'RegisterTaskDefinition'] } },
      },
      { Sid: 'InstanceTaskDefinitions', Effect: 'Allow', Action: ['ecs:RegisterTaskDefinition', 'ecs:DescribeTaskDefinition'], Resource: '*' },
      {
        Sid: 'PassInstanceRoles',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: [`\${${ids.taskRole}.Arn}`, `\${${ids.execRole}.Arn}`],
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      },
      { Sid: 'InstanceAddresses', Effect: 'Allow', Action: 'ec2:DescribeNetworkInterfaces', Resource: '*' },
      { Sid: 'CreateAccessPoints', Effect: 'Allow', Action: 'elasticfilesystem:CreateAccessPoint', Resource: `\${${ids.fs}.Arn}` },
      {
        Sid: 'ManageAccessPoints',
        Effect: 'Allow',
        Action: ['elasticfilesystem:DescribeAccessPoints', 'elasticfilesystem:DeleteAccessPoint'],
        Resource: [`\${${ids.fs}.Arn}`, accessPoints],
      },
      { Sid: 'FindFileSystems', Effect: 'Allow', Action: 'elasticfilesystem:DescribeFileSystems', Resource: ARN('elasticfilesystem', 'file-system/*') },
      {
        Sid: 'TagAccessPointsOnCreate',
        Effect: 'Allow',
        Action: 'elasticfilesystem:TagResource',
        Resource: accessPoints,
        Condition: { StringEquals: { 'elasticfilesystem:CreateAction': 'CreateAccessPoint' } },
      },
      {
        Sid: 'HostedZoneRecords',
        Effect: 'Allow',
        Action: ['route53:ChangeResourceRecordSets', 'route53:ListResourceRecordSets', 'route53:GetHostedZone'],
        Resource: `arn:\${AWS::Partition}:route53:::hostedzone/\${${ids.zone}}`,
      },
      { Sid: 'HostedZoneChanges', Effect: 'Allow', Action: 'route53:GetChange', Resource: 'arn:${AWS::Partition}:route53:::change/*' },
      { Sid: 'FindHostedZoneByName', Effect: 'Allow', Action: 'route53:ListHostedZonesByName', Resource: '*' },
    ]);
  });

  it('lets the ECS driver make every call it makes (activities/drivers/ecs/), and tag what it creates', () => {
    const dir = path.join(__dirname, '../../activities/drivers/ecs');
    const source = fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
    const service = (command: string) => (/AccessPoint|FileSystem/.test(command) ? 'elasticfilesystem' : command === 'DescribeNetworkInterfaces' ? 'ec2' : 'ecs');
    const calls = new Set([...source.matchAll(/new (\w+)Command\(/g)].map((m) => `${service(m[1])}:${m[1]}`));
    // ListClusters only when the worker is not told its clusters; the stack tells it (ORDINAL_ECS_CLUSTERS).
    calls.delete('ecs:ListClusters');
    expect(calls.size).toBeGreaterThan(8);
    // Its task definition families are ordinal-<set>-<hash>: within what RunTask allows.
    expect(source).toMatch(new RegExp(`family = \`${INSTANCE_FAMILY_PREFIX}\\$\\{set\\}-`));
    const granted = new Set(statementsOf(json, ids.workerRole).flatMap(actions).filter((a) => /^(ecs|ec2|elasticfilesystem):/.test(a)));
    expect([...granted].sort()).toEqual([...calls, 'ecs:TagResource', 'elasticfilesystem:TagResource'].sort());
  });

  it('lets the Route 53 provider make every call it makes (activities/dns/route53/client.ts), and no other', () => {
    const client = fs.readFileSync(path.join(__dirname, '../../activities/dns/route53/client.ts'), 'utf8');
    const calls = new Set([...client.matchAll(/new (\w+)Command\(/g)].map((m) => `route53:${m[1]}`));
    const granted = new Set(statementsOf(json, ids.workerRole).flatMap(actions).filter((a) => a.startsWith('route53:')));
    expect([...granted].sort()).toEqual([...calls].sort());
  });

  it('grants nothing broad anywhere: no wildcard actions, "*" only for actions IAM cannot scope, PassRole only for the instance roles', () => {
    // Actions AWS does not allow to scope to a resource (the service authorization reference).
    const unscopable = new Set([
      'ecs:RegisterTaskDefinition',
      'ecs:DescribeTaskDefinition',
      'ecs:ListTasks', // scoped by its ecs:cluster condition instead
      'ec2:DescribeNetworkInterfaces',
      'route53:ListHostedZonesByName',
      'ecr:GetAuthorizationToken',
    ]);
    const all = Object.values(json.Resources as Record<string, any>)
      .filter((r) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::Role')
      .flatMap((r) => (r.Type === 'AWS::IAM::Policy' ? r.Properties.PolicyDocument.Statement : (r.Properties.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement)))
      .map(render) as Statement[];
    expect(all.length).toBeGreaterThan(15);
    for (const statement of all) {
      expect(statement.Effect).toBe('Allow');
      for (const action of actions(statement)) {
        expect(action, JSON.stringify(statement)).not.toMatch(/\*/);
        if (resources(statement).includes('*')) expect(unscopable, `${action} on "*"`).toContain(action);
      }
      if (actions(statement).includes('iam:PassRole')) {
        expect(resources(statement)).toEqual([`\${${ids.taskRole}.Arn}`, `\${${ids.execRole}.Arn}`]);
      }
      if (actions(statement).some((a) => a.startsWith('route53:') && a !== 'route53:ListHostedZonesByName' && a !== 'route53:GetChange')) {
        expect(resources(statement)).toEqual([`arn:\${AWS::Partition}:route53:::hostedzone/\${${ids.zone}}`]);
      }
      if (actions(statement).includes('ecs:RunTask')) expect(resources(statement)).toEqual([ARN('ecs', 'task-definition/ordinal-*')]);
    }
    // Roles are assumed by ECS tasks of this account only (confused deputy), and no managed policy grants more.
    for (const id of [ids.taskRole, ids.execRole, ids.workerRole]) {
      const role = render(json.Resources[id]);
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'ecs-tasks.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': '${AWS::AccountId}' }, ArnLike: { 'aws:SourceArn': ARN('ecs', '*') } },
        },
      ]);
    }
  });

  it('lets instances only mount their volumes, and ECS only pull images and write their logs', () => {
    expect(statementsOf(json, ids.taskRole)).toEqual([
      {
        Sid: 'MountVolumes',
        Effect: 'Allow',
        Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
        Resource: `\${${ids.fs}.Arn}`,
        Condition: { Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' } },
      },
    ]);
    const exec = statementsOf(json, ids.execRole);
    expect(exec.map((s) => s.Sid)).toEqual(['WriteInstanceLogs', 'EcrLogin', 'PullImages']);
    expect(resources(exec[0])).toEqual([expect.stringMatching(/^\$\{InstanceLogs\w+\.Arn\}$/)]); // the Arn attribute ends in :*
    expect(resources(exec[2])).toEqual([ARN('ecr', 'repository/*')]);
  });

  it('lets instances reach each other and the worker probe them; only instances reach the file system', () => {
    const ingress = Object.values(json.Resources as Record<string, any>)
      .filter((r) => r.Type === 'AWS::EC2::SecurityGroupIngress')
      .map((r) => render(r.Properties));
    const efsIngress = ingress.filter((r) => r.FromPort === 2049);
    expect(efsIngress).toHaveLength(1);
    expect(efsIngress[0].SourceSecurityGroupId).toMatch(/^\$\{InstanceSecurityGroup\w+\.GroupId\}$/);
    expect(ingress.some((r) => /WorkerSecurityGroup/.test(r.SourceSecurityGroupId) && /InstanceSecurityGroup/.test(r.GroupId))).toBe(true);
    for (const rule of ingress) expect(rule.CidrIp, 'no ingress from addresses').toBeUndefined();
  });

  it('serves the API from Lambda behind a public Function URL that needs bearer tokens kept in Secrets Manager', () => {
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': [ids.api, 'Arn'] } });
    // Anyone may invoke it, but only through the Function URL (where the app checks the token).
    const permissions = template.findResources('AWS::Lambda::Permission');
    expect(Object.values(permissions).map((r: any) => r.Properties)).toEqual([
      { Action: 'lambda:InvokeFunctionUrl', FunctionName: { 'Fn::GetAtt': [ids.api, 'Arn'] }, FunctionUrlAuthType: 'NONE', Principal: '*' },
      { Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': [ids.api, 'Arn'] }, InvokedViaFunctionUrl: true, Principal: '*' },
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Architectures: ['arm64'],
      Timeout: 60,
      Environment: {
        Variables: {
          TEMPORAL_ADDRESS: BASE.temporalAddress,
          TEMPORAL_NAMESPACE: BASE.temporalNamespace,
          ORDINAL_TASK_QUEUE: 'ordinal',
          ORDINAL_LAMBDA_AUTH: 'tokens',
          ORDINAL_TOKENS_SECRET: { Ref: ids.tokens },
          ORDINAL_TEMPORAL_SECRET: 'ordinal/temporal',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
    // No token at first: every request but /healthz and /openapi.json is refused until one is added.
    template.hasResourceProperties('AWS::SecretsManager::Secret', { SecretString: '[]' });
    // The function writes its own log group and reads exactly the two secrets; no managed policy.
    const apiRoleId = render(json.Resources[ids.api].Properties.Role).replace(/^\$\{(.*)\.Arn\}$/, '$1');
    expect(json.Resources[apiRoleId].Properties.ManagedPolicyArns).toBeUndefined();
    const [logStatement, ...statements] = statementsOf(json, apiRoleId);
    expect(logStatement).toMatchObject({ Sid: 'WriteApiLogs', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: expect.stringMatching(/^\$\{ApiLogs\w+\.Arn\}$/) });
    expect(json.Resources[ids.api].Properties.LoggingConfig).toEqual({ LogGroup: { Ref: expect.stringMatching(/^ApiLogs/) } });
    expect(statements.flatMap(resources).sort()).toEqual(
      [`\${${ids.tokens}}`, `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:ordinal/temporal-??????`].sort(),
    );
    expect(statements.flatMap(actions).every((a) => a === 'secretsmanager:GetSecretValue' || a === 'secretsmanager:DescribeSecret')).toBe(true);
    // It is not in the VPC: it only talks to Temporal and Secrets Manager.
    expect(json.Resources[ids.api].Properties.VpcConfig).toBeUndefined();
  });

  it('outputs what a pipeline and sets need', () => {
    for (const output of ['ApiUrl', 'ApiTokensSecretArn', 'HostedZoneId', 'ZoneName', 'WorkerService']) template.hasOutput(output, {});
    // What a set's template.ecs names.
    const outputs = render(json.Outputs);
    expect(outputs.ClusterArn.Value).toBe(`\${${ids.cluster}.Arn}`);
    expect(outputs.InstanceTaskRoleArn.Value).toBe(`\${${ids.taskRole}.Arn}`);
    expect(outputs.InstanceExecutionRoleArn.Value).toBe(`\${${ids.execRole}.Arn}`);
    expect(outputs.FileSystemId.Value).toBe(`\${${ids.fs}}`);
    expect(outputs.InstanceSecurityGroupId.Value).toMatch(/^\$\{InstanceSecurityGroup\w+\.GroupId\}$/);
    expect(outputs.InstanceSubnets.Value.split(',')).toHaveLength(2);
    expect(outputs.InstanceLogGroup.Value).toMatch(/^\$\{InstanceLogs\w+\}$/);
  });
});

describe('the variants', () => {
  it('IAM auth: the Function URL takes SigV4-signed requests only, and there is no token secret', () => {
    const { template } = synth({ apiAuth: 'iam' });
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM' });
    template.resourceCountIs('AWS::Lambda::Permission', 0); // callers are granted lambda:InvokeFunctionUrl in their own policies
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ORDINAL_LAMBDA_AUTH: 'iam', ORDINAL_TOKENS_SECRET: Match.absent() }) },
    });
  }, 60_000);

  it('mTLS: the worker gets the client certificate and key from the secret by ARN', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ordinal/temporal-mtls-AbCdEf';
    const { json } = synth({ temporalAuth: 'mtls', temporalSecret: arn });
    const task = Object.values(json.Resources as Record<string, any>).find((r) => r.Type === 'AWS::ECS::TaskDefinition')!;
    expect(task.Properties.ContainerDefinitions[0].Secrets).toEqual([
      { Name: 'TEMPORAL_TLS_CLIENT_CERT_DATA', ValueFrom: `${arn}:TEMPORAL_TLS_CLIENT_CERT_DATA::` },
      { Name: 'TEMPORAL_TLS_CLIENT_KEY_DATA', ValueFrom: `${arn}:TEMPORAL_TLS_CLIENT_KEY_DATA::` },
    ]);
    const fn = Object.values(json.Resources as Record<string, any>).find((r) => r.Type === 'AWS::Lambda::Function')!;
    expect(fn.Properties.Environment.Variables.ORDINAL_TEMPORAL_SECRET).toBe(arn);
  }, 60_000);

  it('no Temporal credentials (a self-hosted server): no secrets at all', () => {
    const { json } = synth({ temporalAuth: 'none', temporalSecret: undefined });
    const task = Object.values(json.Resources as Record<string, any>).find((r) => r.Type === 'AWS::ECS::TaskDefinition')!;
    expect(task.Properties.ContainerDefinitions[0].Secrets).toBeUndefined();
  }, 60_000);

  it('an existing VPC, imported without lookups: no VPC made, its private subnets used', () => {
    const { template, json } = synth({
      vpcId: 'vpc-0123456789abcdef0',
      vpcAvailabilityZones: 'eu-west-1a,eu-west-1b',
      vpcPrivateSubnetIds: 'subnet-aaaa,subnet-bbbb',
      zoneName: 'Apps.Example.Internal.',
    });
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.hasResourceProperties('AWS::Route53::HostedZone', { Name: 'apps.example.internal.', VPCs: [Match.objectLike({ VPCId: 'vpc-0123456789abcdef0' })] });
    template.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ Subnets: ['subnet-aaaa', 'subnet-bbbb'] }) },
    });
    expect(render(json.Outputs.InstanceSubnets.Value)).toBe('subnet-aaaa,subnet-bbbb');
  }, 60_000);
});

describe('parameters', () => {
  const read = (context: Record<string, unknown>): OrdinalStackParams => readParams((key) => context[key]);

  it('has secure defaults and needs only the Temporal address, namespace and secret', () => {
    expect(read(BASE)).toEqual({
      ...BASE,
      temporalAuth: 'apiKey',
      taskQueue: 'ordinal',
      zoneName: 'ordinal.internal',
      apiAuth: 'tokens',
      vpc: undefined,
      natGateways: 1,
      workerCount: 1,
      workerCpu: 512,
      workerMemoryMiB: 1024,
      route53OwnerId: 'ordinal',
    });
  });

  it.each([
    [{ ...BASE, temporalAddress: undefined }, /temporalAddress is required/],
    [{ ...BASE, temporalAddress: 'no-port' }, /host:port/],
    [{ ...BASE, temporalSecret: undefined }, /temporalSecret is required with temporalAuth=apiKey/],
    [{ ...BASE, temporalAuth: 'none' }, /temporalSecret is set but temporalAuth=none/],
    [{ ...BASE, temporalAuth: 'password' }, /temporalAuth must be one of apiKey, mtls, none/],
    [{ ...BASE, apiAuth: 'none' }, /apiAuth must be one of tokens, iam/],
    [{ ...BASE, zoneName: 'not a zone' }, /zoneName must be a DNS name/],
    [{ ...BASE, vpcId: 'vpc-1' }, /vpcId needs vpcAvailabilityZones and vpcPrivateSubnetIds/],
    [{ ...BASE, vpcId: 'vpc-1', vpcAvailabilityZones: 'a,b', vpcPrivateSubnetIds: 'subnet-1' }, /one subnet per availability zone/],
    [{ ...BASE, vpcPrivateSubnetIds: 'subnet-1' }, /need vpcId/],
    [{ ...BASE, workerCount: '-1' }, /workerCount must be an integer from 0 to 10/],
  ])('refuses %j', (context, message) => {
    expect(() => read(context)).toThrow(ParamError);
    expect(() => read(context)).toThrow(message);
  });
});

// Ordinal on AWS, serverless: the API on Lambda (the hono app of api/app.ts through hono's AWS Lambda
// adapter, api/lambda.ts) behind a Function URL; the worker as a Fargate service; a Route 53 private
// hosted zone for the sets' names; an EFS file system for instances' volumes; both connected to Temporal
// (Temporal Cloud: API key or mTLS from Secrets Manager). The worker's IAM role can do exactly what the
// ECS instance driver and the Route 53 provider need, on this stack's cluster, task definition
// families, roles, file system and hosted zone, and nothing else.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Arn, ArnFormat, CfnOutput, Duration, Fn, RemovalPolicy, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { offlineEsmBundling } from './bundling.js';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { OrdinalStackParams } from './params.js';

/** The repository: the Lambda's entry and the worker image's build context. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * What the worker image's build context leaves out (beside .dockerignore): dependencies are installed
 * in the image, and tests, tools, benchmarks and local data have no place there.
 */
export const WORKER_IMAGE_EXCLUDE = [
  'node_modules',
  '.tools',
  '.git',
  '.ordinal',
  '.drafts',
  '.vitest-data',
  'coverage',
  'cdk.out',
  'infra/cdk/cdk.out',
  'test',
  'bench',
  '**/*.log',
];

/**
 * Every instance task definition's family begins with this: the ECS driver names them
 * `ordinal-<set>-<hash>` (activities/drivers/ecs/task-definition.ts), and the worker may run no other.
 */
export const INSTANCE_FAMILY_PREFIX = 'ordinal-';

/** How long ECS waits after SIGTERM before SIGKILL (Fargate allows at most 120 s). */
export const WORKER_STOP_TIMEOUT_SECONDS = 60;

export interface OrdinalStackProps extends StackProps {
  params: OrdinalStackParams;
}

export class OrdinalStack extends Stack {
  readonly vpc: ec2.IVpc;
  readonly cluster: ecs.Cluster;
  readonly zone: route53.PrivateHostedZone;
  readonly fileSystem: efs.FileSystem;
  readonly api: NodejsFunction;
  readonly apiUrl: lambda.FunctionUrl;
  readonly workerService: ecs.FargateService;
  readonly workerTaskRole: iam.Role;
  readonly instanceTaskRole: iam.Role;
  readonly instanceExecutionRole: iam.Role;
  /** What a set's template.ecs names (the outputs below, for sets in this CDK app: OrdinalStatefulSet). */
  readonly instanceSecurityGroup: ec2.SecurityGroup;
  readonly instanceLogs: logs.LogGroup;
  readonly instanceSubnetIds: string[];
  readonly tokensSecret: secretsmanager.ISecret | undefined;
  readonly temporalSecret: secretsmanager.ISecret | undefined;

  constructor(scope: Construct, id: string, props: OrdinalStackProps) {
    super(scope, id, props);
    const p = props.params;

    // ---- network ----
    this.vpc = p.vpc
      ? ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: p.vpc.vpcId, availabilityZones: p.vpc.availabilityZones, privateSubnetIds: p.vpc.privateSubnetIds })
      : new ec2.Vpc(this, 'Vpc', {
          maxAzs: 2,
          natGateways: p.natGateways,
          subnetConfiguration: [
            { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
            { name: 'private', subnetType: p.natGateways > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 },
          ],
        });
    const privateSubnets: ec2.SubnetSelection = { subnets: this.vpc.privateSubnets.length > 0 ? this.vpc.privateSubnets : this.vpc.isolatedSubnets };

    const workerSecurityGroup = new ec2.SecurityGroup(this, 'WorkerSecurityGroup', {
      vpc: this.vpc,
      description: 'Ordinal worker: out to Temporal and AWS APIs, and to instances for probes',
      allowAllOutbound: true,
    });
    const instanceSecurityGroup = (this.instanceSecurityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc: this.vpc,
      description: 'Ordinal instances (ECS driver): reachable from each other by name and from the worker for probes',
      allowAllOutbound: true,
    }));
    instanceSecurityGroup.addIngressRule(instanceSecurityGroup, ec2.Port.allTraffic(), 'instances address each other by their DNS names');
    instanceSecurityGroup.addIngressRule(workerSecurityGroup, ec2.Port.allTcp(), 'the worker runs readiness and liveness probes');

    // ---- names and volumes ----
    this.zone = new route53.PrivateHostedZone(this, 'Zone', {
      zoneName: p.zoneName,
      vpc: this.vpc,
      comment: `Ordinal (${this.stackName}): stable names of instances, written by the worker`,
    });
    this.zone.applyRemovalPolicy(RemovalPolicy.RETAIN);

    this.fileSystem = new efs.FileSystem(this, 'Volumes', {
      vpc: this.vpc,
      vpcSubnets: privateSubnets,
      encrypted: true,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      throughputMode: efs.ThroughputMode.ELASTIC,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.fileSystem.connections.allowDefaultPortFrom(instanceSecurityGroup, 'instances mount their volumes');

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc });

    const instanceLogs = (this.instanceLogs = new logs.LogGroup(this, 'InstanceLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }));
    const workerLogs = new logs.LogGroup(this, 'WorkerLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const apiLogs = new logs.LogGroup(this, 'ApiLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });

    // ---- the roles instances run with (passed by the worker to RunTask) ----
    const ecsTasks = () =>
      new iam.ServicePrincipal('ecs-tasks.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': this.account },
        ArnLike: { 'aws:SourceArn': this.formatArn({ service: 'ecs', resource: '*' }) },
      });
    this.instanceTaskRole = new iam.Role(this, 'InstanceTaskRole', {
      assumedBy: ecsTasks(),
      description: 'Ordinal instances (ECS driver): mount their EFS volumes; nothing else',
    });
    this.instanceTaskRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'MountVolumes',
        actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
        resources: [this.fileSystem.fileSystemArn],
        conditions: { Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' } },
      }),
    );
    this.instanceExecutionRole = new iam.Role(this, 'InstanceExecutionRole', {
      assumedBy: ecsTasks(),
      description: "Ordinal instances (ECS driver): ECS pulls images and writes the instances' logs",
    });
    this.instanceExecutionRole.addToPolicy(
      new iam.PolicyStatement({ sid: 'WriteInstanceLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [instanceLogs.logGroupArn] }),
    );
    this.instanceExecutionRole.addToPolicy(new iam.PolicyStatement({ sid: 'EcrLogin', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
    this.instanceExecutionRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PullImages',
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
        resources: [this.formatArn({ service: 'ecr', resource: 'repository', resourceName: '*' })],
      }),
    );

    // ---- Temporal credentials ----
    this.temporalSecret = p.temporalSecret ? importSecret(this, 'TemporalSecret', p.temporalSecret) : undefined;
    const temporalEnv = { TEMPORAL_ADDRESS: p.temporalAddress, TEMPORAL_NAMESPACE: p.temporalNamespace, ORDINAL_TASK_QUEUE: p.taskQueue };

    // ---- the worker ----
    this.workerTaskRole = new iam.Role(this, 'WorkerTaskRole', {
      assumedBy: ecsTasks(),
      description: 'Ordinal worker: runs instances on this cluster and writes their names in this hosted zone',
    });
    // Not ordinal-*: the worker cannot run copies of itself.
    const workerFamily = `worker-${this.stackName}`;
    grantWorker(this, this.workerTaskRole, {
      cluster: this.cluster,
      taskFamilyPrefix: INSTANCE_FAMILY_PREFIX,
      passRoles: [this.instanceTaskRole, this.instanceExecutionRole],
      fileSystem: this.fileSystem,
      zone: this.zone,
    });

    const workerTask = new ecs.FargateTaskDefinition(this, 'WorkerTask', {
      family: workerFamily,
      cpu: p.workerCpu,
      memoryLimitMiB: p.workerMemoryMiB,
      taskRole: this.workerTaskRole,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const secrets: Record<string, ecs.Secret> = {};
    if (this.temporalSecret && p.temporalAuth === 'apiKey') {
      secrets.TEMPORAL_API_KEY = ecs.Secret.fromSecretsManager(this.temporalSecret, 'TEMPORAL_API_KEY');
    }
    if (this.temporalSecret && p.temporalAuth === 'mtls') {
      secrets.TEMPORAL_TLS_CLIENT_CERT_DATA = ecs.Secret.fromSecretsManager(this.temporalSecret, 'TEMPORAL_TLS_CLIENT_CERT_DATA');
      secrets.TEMPORAL_TLS_CLIENT_KEY_DATA = ecs.Secret.fromSecretsManager(this.temporalSecret, 'TEMPORAL_TLS_CLIENT_KEY_DATA');
    }
    const instanceSubnetIds = (this.instanceSubnetIds = this.vpc.selectSubnets(privateSubnets).subnetIds);
    workerTask.addContainer('worker', {
      image: ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: 'infra/cdk/worker.Dockerfile',
        exclude: WORKER_IMAGE_EXCLUDE,
        platform: Platform.LINUX_AMD64,
      }),
      essential: true,
      environment: {
        ...temporalEnv,
        ORDINAL_ROUTE53_OWNER_ID: p.route53OwnerId,
        ORDINAL_LOG_LEVEL: 'info',
        // The ECS instance driver (sets with template.ecs), looking for sets' tasks in this cluster only.
        ORDINAL_ECS: 'enabled',
        ORDINAL_ECS_CLUSTERS: this.cluster.clusterArn,
      },
      secrets,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'worker', logGroup: workerLogs }),
      // SIGTERM (ECS stops a task, or a deployment replaces it): the worker stops polling, lets running
      // activities finish or hand over, closes its connections and exits; SIGKILL only after this long.
      stopTimeout: Duration.seconds(WORKER_STOP_TIMEOUT_SECONDS),
      // An init process as PID 1 forwards SIGTERM to node and reaps the instances' children.
      linuxParameters: new ecs.LinuxParameters(this, 'WorkerLinux', { initProcessEnabled: true }),
    });
    this.workerService = new ecs.FargateService(this, 'Worker', {
      cluster: this.cluster,
      taskDefinition: workerTask,
      desiredCount: p.workerCount,
      // A new worker starts before the old one gets SIGTERM: Temporal shares the task queue between them.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      vpcSubnets: privateSubnets,
      securityGroups: [workerSecurityGroup],
      assignPublicIp: false,
    });

    // ---- the API ----
    this.tokensSecret =
      p.apiAuth === 'tokens'
        ? new secretsmanager.Secret(this, 'ApiTokens', {
            description:
              'Ordinal API tokens: the token file (JSON array of {name, scopes, hash, createdAt}; hashes only), made with "ordinal token create"; none at first, so every request is refused',
            secretStringValue: SecretValue.unsafePlainText('[]'),
          })
        : undefined;
    // Its own role rather than the managed AWSLambdaBasicExecutionRole (logs on "*"): its log group only.
    const apiRole = new iam.Role(this, 'ApiRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Ordinal API (Lambda): its logs, and reading its secrets',
    });
    apiRole.addToPolicy(new iam.PolicyStatement({ sid: 'WriteApiLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [apiLogs.logGroupArn] }));
    this.api = new NodejsFunction(this, 'Api', {
      role: apiRole,
      entry: path.join(REPO_ROOT, 'api/lambda.ts'),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 1024,
      timeout: Duration.seconds(60),
      description: 'Ordinal HTTP API (hono) over Temporal',
      logGroup: apiLogs,
      environment: {
        ...temporalEnv,
        ORDINAL_LAMBDA_AUTH: p.apiAuth,
        ...(this.tokensSecret && { ORDINAL_TOKENS_SECRET: this.tokensSecret.secretArn }),
        ...(p.temporalSecret && { ORDINAL_TEMPORAL_SECRET: p.temporalSecret }),
        NODE_OPTIONS: '--enable-source-maps',
      },
      // The worker package is never loaded by the API (infra/logger.ts requires it lazily).
      bundling: offlineEsmBundling(['@temporalio/worker']),
    });
    this.tokensSecret?.grantRead(this.api);
    this.temporalSecret?.grantRead(this.api);
    this.apiUrl = this.api.addFunctionUrl({
      authType: p.apiAuth === 'iam' ? lambda.FunctionUrlAuthType.AWS_IAM : lambda.FunctionUrlAuthType.NONE,
    });

    // ---- outputs ----
    new CfnOutput(this, 'ApiUrl', { value: this.apiUrl.url, description: 'ORDINAL_API_URL for the CLI and pipelines' });
    new CfnOutput(this, 'ApiAuth', { value: p.apiAuth });
    if (this.tokensSecret) new CfnOutput(this, 'ApiTokensSecretArn', { value: this.tokensSecret.secretArn, description: 'put the token file here (ordinal token create)' });
    new CfnOutput(this, 'HostedZoneId', { value: this.zone.hostedZoneId, description: 'dns.hostedZoneId for sets (dns.provider: route53)' });
    new CfnOutput(this, 'ZoneName', { value: p.zoneName });
    new CfnOutput(this, 'WorkerService', { value: this.workerService.serviceName });
    // What a set's template.ecs names (the worker may pass these roles and write this file system only).
    new CfnOutput(this, 'ClusterArn', { value: this.cluster.clusterArn, description: 'template.ecs.cluster' });
    new CfnOutput(this, 'InstanceSubnets', { value: Fn.join(',', instanceSubnetIds), description: 'template.ecs.subnets' });
    new CfnOutput(this, 'InstanceSecurityGroupId', { value: instanceSecurityGroup.securityGroupId, description: 'template.ecs.securityGroups' });
    new CfnOutput(this, 'InstanceTaskRoleArn', { value: this.instanceTaskRole.roleArn, description: 'template.ecs.taskRoleArn' });
    new CfnOutput(this, 'InstanceExecutionRoleArn', { value: this.instanceExecutionRole.roleArn, description: 'template.ecs.executionRoleArn' });
    new CfnOutput(this, 'FileSystemId', { value: this.fileSystem.fileSystemId, description: 'template.ecs.efs.fileSystemId' });
    new CfnOutput(this, 'InstanceLogGroup', { value: instanceLogs.logGroupName, description: 'template.ecs.awslogs.group' });
  }
}

/** A secret by complete ARN (with its 6-character suffix), partial ARN, or name. */
function importSecret(scope: Construct, id: string, ref: string): secretsmanager.ISecret {
  if (!ref.startsWith('arn:')) return secretsmanager.Secret.fromSecretNameV2(scope, id, ref);
  const name = Arn.split(ref, ArnFormat.COLON_RESOURCE_NAME).resourceName ?? '';
  return /-[A-Za-z0-9]{6}$/.test(name)
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, ref)
    : secretsmanager.Secret.fromSecretPartialArn(scope, id, ref);
}

/**
 * The worker's permissions, each on this stack's resources only:
 * - ECS: run tasks of the instance task definition families on this cluster, stop, describe and list
 *   tasks of this cluster, tag them (and task definitions) as they are created, register and describe
 *   task definitions (which IAM cannot scope), pass exactly the two instance roles to ECS tasks;
 * - EC2: describe network interfaces (a task's address; IAM cannot scope describes);
 * - EFS: create access points on this file system, describe and delete access points, list the file
 *   systems of the account and region (a delete that does not know the set's file system looks there);
 * - Route 53: read and change record sets of this hosted zone, follow changes, and find the zone by
 *   name (ListHostedZonesByName cannot be scoped; it lists zone names and ids, nothing else).
 */
function grantWorker(
  stack: Stack,
  role: iam.Role,
  target: { cluster: ecs.ICluster; taskFamilyPrefix: string; passRoles: iam.IRole[]; fileSystem: efs.IFileSystem; zone: route53.IHostedZone },
): void {
  const onCluster = { ArnEquals: { 'ecs:cluster': target.cluster.clusterArn } };
  const taskDefinitions = stack.formatArn({ service: 'ecs', resource: 'task-definition', resourceName: `${target.taskFamilyPrefix}*` });
  const tasks = stack.formatArn({ service: 'ecs', resource: 'task', resourceName: `${target.cluster.clusterName}/*` });
  const accessPoints = stack.formatArn({ service: 'elasticfilesystem', resource: 'access-point', resourceName: '*' });
  const fileSystems = stack.formatArn({ service: 'elasticfilesystem', resource: 'file-system', resourceName: '*' });
  const statements = [
    new iam.PolicyStatement({ sid: 'RunInstanceTasks', actions: ['ecs:RunTask'], resources: [taskDefinitions], conditions: onCluster }),
    new iam.PolicyStatement({ sid: 'ManageInstanceTasks', actions: ['ecs:StopTask', 'ecs:DescribeTasks'], resources: [tasks], conditions: onCluster }),
    new iam.PolicyStatement({ sid: 'ListInstanceTasks', actions: ['ecs:ListTasks'], resources: ['*'], conditions: onCluster }),
    new iam.PolicyStatement({
      sid: 'TagOnCreate',
      actions: ['ecs:TagResource'],
      resources: [tasks, taskDefinitions],
      conditions: { StringEquals: { 'ecs:CreateAction': ['RunTask', 'RegisterTaskDefinition'] } },
    }),
    new iam.PolicyStatement({ sid: 'InstanceTaskDefinitions', actions: ['ecs:RegisterTaskDefinition', 'ecs:DescribeTaskDefinition'], resources: ['*'] }),
    new iam.PolicyStatement({
      sid: 'PassInstanceRoles',
      actions: ['iam:PassRole'],
      resources: target.passRoles.map((r) => r.roleArn),
      conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    }),
    new iam.PolicyStatement({ sid: 'InstanceAddresses', actions: ['ec2:DescribeNetworkInterfaces'], resources: ['*'] }),
    new iam.PolicyStatement({ sid: 'CreateAccessPoints', actions: ['elasticfilesystem:CreateAccessPoint'], resources: [target.fileSystem.fileSystemArn] }),
    new iam.PolicyStatement({
      sid: 'ManageAccessPoints',
      actions: ['elasticfilesystem:DescribeAccessPoints', 'elasticfilesystem:DeleteAccessPoint'],
      resources: [target.fileSystem.fileSystemArn, accessPoints],
    }),
    new iam.PolicyStatement({ sid: 'FindFileSystems', actions: ['elasticfilesystem:DescribeFileSystems'], resources: [fileSystems] }),
    new iam.PolicyStatement({
      sid: 'TagAccessPointsOnCreate',
      actions: ['elasticfilesystem:TagResource'],
      resources: [accessPoints],
      conditions: { StringEquals: { 'elasticfilesystem:CreateAction': 'CreateAccessPoint' } },
    }),
    new iam.PolicyStatement({
      sid: 'HostedZoneRecords',
      actions: ['route53:ChangeResourceRecordSets', 'route53:ListResourceRecordSets', 'route53:GetHostedZone'],
      resources: [target.zone.hostedZoneArn],
    }),
    new iam.PolicyStatement({ sid: 'HostedZoneChanges', actions: ['route53:GetChange'], resources: [`arn:${stack.partition}:route53:::change/*`] }),
    new iam.PolicyStatement({ sid: 'FindHostedZoneByName', actions: ['route53:ListHostedZonesByName'], resources: ['*'] }),
  ];
  for (const statement of statements) role.addToPolicy(statement);
}

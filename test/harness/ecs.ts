// ECS test helpers: the networking, file system and cluster a Fargate task needs, made in moto; moto's
// state manager (how ECS tasks move through their lifecycle); and a small HTTP proxy in front of moto
// that can make AWS "not stop" a task (moto stops every task at once on StopTask) and records the order
// of the calls the driver makes.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client, ModifyVpcAttributeCommand } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, type Task } from '@aws-sdk/client-ecs';
import { CreateFileSystemCommand, EFSClient } from '@aws-sdk/client-efs';

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export interface EcsAdmin {
  ecs: ECSClient;
  ec2: EC2Client;
  efs: EFSClient;
  close(): void;
}

/** Clients that talk to moto directly (bypassing any proxy), for setting up and checking. */
export function ecsAdmin(endpoint: string): EcsAdmin {
  const config = { endpoint, region: 'us-east-1', credentials };
  const ecs = new ECSClient(config);
  const ec2 = new EC2Client(config);
  const efs = new EFSClient(config);
  return {
    ecs,
    ec2,
    efs,
    close() {
      ecs.destroy();
      ec2.destroy();
      efs.destroy();
    },
  };
}

export interface EcsNetwork {
  vpcId: string;
  subnetId: string;
  securityGroupId: string;
  fileSystemId: string;
}

/** A VPC (with DNS hostnames: moto's ECS needs them to describe an ENI), a subnet, a security group and an EFS file system. */
export async function createNetwork(admin: EcsAdmin): Promise<EcsNetwork> {
  const vpc = await admin.ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
  const vpcId = vpc.Vpc!.VpcId!;
  await admin.ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: true } }));
  const subnet = await admin.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.0.1.0/24' }));
  const group = await admin.ec2.send(new CreateSecurityGroupCommand({ GroupName: `ordinal-${randomBytes(4).toString('hex')}`, Description: 'ordinal tests', VpcId: vpcId }));
  const fs = await admin.efs.send(new CreateFileSystemCommand({ CreationToken: `ordinal-${randomBytes(8).toString('hex')}` }));
  return { vpcId, subnetId: subnet.Subnet!.SubnetId!, securityGroupId: group.GroupId!, fileSystemId: fs.FileSystemId! };
}

/**
 * A cluster of its own. moto matches clusters by substring in ListTasks, so names are all one length
 * and random: none is part of another.
 */
export async function createCluster(admin: EcsAdmin): Promise<string> {
  const name = `ordinal-test-${randomBytes(6).toString('hex')}`;
  await admin.ecs.send(new CreateClusterCommand({ clusterName: name }));
  return name;
}

/** Every task of a cluster (any status), described with tags. */
export async function clusterTasks(admin: EcsAdmin, cluster: string, startedBy?: string): Promise<Task[]> {
  const arns = new Set<string>();
  for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
    const page = await admin.ecs.send(new ListTasksCommand({ cluster, desiredStatus, ...(startedBy ? { startedBy } : {}) }));
    for (const arn of page.taskArns ?? []) arns.add(arn);
  }
  if (arns.size === 0) return [];
  const described = await admin.ecs.send(new DescribeTasksCommand({ cluster, tasks: [...arns], include: ['TAGS'] }));
  // moto describes matching tasks of every cluster: keep this one's.
  return (described.tasks ?? []).filter((t) => t.clusterArn?.endsWith(`:cluster/${cluster}`));
}

/** The task's tags as a plain object. */
export function tagsOf(task: Task): Record<string, string> {
  return Object.fromEntries((task.tags ?? []).map((t) => [t.key ?? '', t.value ?? '']));
}

/**
 * How moto moves ECS tasks along RUNNING -> DEACTIVATING -> STOPPING -> DEPROVISIONING -> STOPPED: by
 * default one step per DescribeTasks of the task, as if every task stopped by itself within a few
 * polls. 'steady' keeps tasks RUNNING until StopTask; 'lifecycle' is moto's default (every describe
 * advances one step).
 */
export async function setTaskTransitions(endpoint: string, mode: 'steady' | 'lifecycle'): Promise<void> {
  const transition = mode === 'steady' ? { progression: 'manual', times: 1_000_000_000 } : { progression: 'manual', times: 1 };
  const response = await fetch(`${endpoint}/moto-api/state-manager/set-transition`, {
    method: 'POST',
    body: JSON.stringify({ model_name: 'ecs::task', transition }),
  });
  if (!response.ok) throw new Error(`moto set-transition: ${response.status} ${await response.text()}`);
}

export async function unsetTaskTransitions(endpoint: string): Promise<void> {
  await fetch(`${endpoint}/moto-api/state-manager/unset-transition`, { method: 'POST', body: JSON.stringify({ model_name: 'ecs::task' }) });
}

export interface EcsProxy {
  /** 'http://127.0.0.1:PORT', for the driver's `endpoint`. */
  endpoint: string;
  /** Answer StopTask as accepted without passing it on: AWS "does not stop" the task. */
  swallowStopTask: boolean;
  /** ECS operations in the order they reached the proxy (e.g. 'RunTask', 'StopTask'). */
  operations: string[];
  close(): Promise<void>;
}

/** An HTTP proxy in front of moto that records ECS operations and can swallow StopTask. */
export async function startEcsProxy(target: string): Promise<EcsProxy> {
  const proxy: EcsProxy = {
    endpoint: '',
    swallowStopTask: false,
    operations: [],
    close: async () => undefined,
  };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const amzTarget = String(req.headers['x-amz-target'] ?? '');
    const operation = amzTarget.includes('.') ? amzTarget.slice(amzTarget.lastIndexOf('.') + 1) : '';
    if (amzTarget.startsWith('AmazonEC2ContainerService')) proxy.operations.push(operation);
    if (operation === 'StopTask' && proxy.swallowStopTask) {
      const { task } = JSON.parse(body.toString('utf8') || '{}') as { task?: string };
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ task: { taskArn: task, desiredStatus: 'STOPPED', lastStatus: 'RUNNING' } }));
      return;
    }
    try {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
      const upstream = await fetch(`${target}${req.url}`, { method: req.method, headers, body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body });
      const out = Buffer.from(await upstream.arrayBuffer());
      const responseHeaders: Record<string, string> = {};
      upstream.headers.forEach((value, key) => {
        if (key !== 'content-length' && key !== 'transfer-encoding' && key !== 'content-encoding' && key !== 'connection') responseHeaders[key] = value;
      });
      res.writeHead(upstream.status, responseHeaders);
      res.end(out);
    } catch (err) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(err));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () => new Promise((resolve) => server.close(() => resolve()));
  return proxy;
}

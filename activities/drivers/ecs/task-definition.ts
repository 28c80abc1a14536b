// Task definitions of the ECS driver: one registration per distinct input (template revision, plus the
// instance's own access points when it has volumes), named by a hash of that input, so registering is
// idempotent: the driver looks the family up first and registers only when it does not exist.
import { createHash } from 'node:crypto';
import {
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  type ECSClient,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import { defaultMountPath } from '../../../core/ecs.js';
import { volumeEnvName, type EcsTemplate, type PortSpec } from '../../../core/manifest.js';
import { canonicalJson } from '../../../core/revision.js';
import { MANAGED_BY, TAG } from './tags.js';

/** Fargate's longest stopTimeout: SIGTERM, then SIGKILL this many seconds later at most. */
export const FARGATE_MAX_STOP_TIMEOUT = 120;

export interface TaskDefinitionRequest {
  set: string;
  ecs: EcsTemplate;
  ports: PortSpec[];
  terminationGracePeriodSeconds: number;
  /** The instance's volumes: template name -> access point id (empty without volumeClaimTemplates). */
  accessPoints: Record<string, string>;
}

export interface TaskDefinitionPlan {
  family: string;
  hash: string;
  input: RegisterTaskDefinitionCommandInput;
}

/** The container's name: ecs.containerName, else the set's name. */
export function containerNameOf(set: string, ecs: Pick<EcsTemplate, 'containerName'>): string {
  return ecs.containerName ?? set;
}

/** Where each volume is mounted: ecs.volumeMounts, else /volumes/<template>. */
export function mountPathOf(ecs: Pick<EcsTemplate, 'volumeMounts'>, template: string): string {
  return ecs.volumeMounts.find((m) => m.name === template)?.mountPath ?? defaultMountPath(template);
}

/**
 * The registration for a request (pure): same request, same input, same hash, same family. The
 * instance's identity variables are not in it (they go in RunTask's overrides), so instances without
 * volumes share one task definition per template revision.
 */
export function planTaskDefinition(request: TaskDefinitionRequest): TaskDefinitionPlan {
  const { set, ecs } = request;
  const container = containerNameOf(set, ecs);
  const volumes = Object.keys(request.accessPoints).sort();
  const environment = [
    ...Object.entries(ecs.env).map(([name, value]) => ({ name, value })),
    ...volumes.map((template) => ({ name: volumeEnvName(template), value: mountPathOf(ecs, template) })),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const input: RegisterTaskDefinitionCommandInput = {
    family: '', // set below, from the hash of everything else
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    cpu: String(ecs.cpu),
    memory: String(ecs.memory),
    ...(ecs.executionRoleArn ? { executionRoleArn: ecs.executionRoleArn } : {}),
    ...(ecs.taskRoleArn ? { taskRoleArn: ecs.taskRoleArn } : {}),
    containerDefinitions: [
      {
        name: container,
        image: ecs.image,
        essential: true,
        // The task's whole memory as the container's limit: what Fargate does anyway, and moto needs it.
        memory: ecs.memory,
        ...(ecs.command ? { command: ecs.command } : {}),
        environment,
        portMappings: request.ports.map((p) => ({ containerPort: p.port, protocol: p.protocol === 'UDP' ? 'udp' : 'tcp', ...(p.name ? { name: p.name } : {}) })),
        ...(ecs.healthCheck
          ? {
              healthCheck: {
                command: ecs.healthCheck.command,
                interval: ecs.healthCheck.intervalSeconds,
                timeout: ecs.healthCheck.timeoutSeconds,
                retries: ecs.healthCheck.retries,
                startPeriod: ecs.healthCheck.startPeriodSeconds,
              },
            }
          : {}),
        mountPoints: volumes.map((template) => ({ sourceVolume: template, containerPath: mountPathOf(ecs, template), readOnly: false })),
        // ECS sends SIGTERM, then SIGKILL after stopTimeout: the grace period, as far as Fargate allows.
        stopTimeout: Math.min(request.terminationGracePeriodSeconds, FARGATE_MAX_STOP_TIMEOUT),
        ...(ecs.awslogs
          ? {
              logConfiguration: {
                logDriver: 'awslogs',
                options: {
                  'awslogs-group': ecs.awslogs.group,
                  'awslogs-stream-prefix': ecs.awslogs.streamPrefix,
                  ...(ecs.awslogs.region ? { 'awslogs-region': ecs.awslogs.region } : {}),
                },
              },
            }
          : {}),
      },
    ],
    volumes: volumes.map((template) => ({
      name: template,
      efsVolumeConfiguration: {
        fileSystemId: ecs.efs!.fileSystemId,
        transitEncryption: 'ENABLED', // required with access points
        authorizationConfig: { accessPointId: request.accessPoints[template], iam: ecs.efs!.iam ? 'ENABLED' : 'DISABLED' },
      },
    })),
  };
  const hash = createHash('sha256').update(canonicalJson({ set, input })).digest('hex').slice(0, 16);
  const family = `ordinal-${set}-${hash}`;
  input.family = family;
  input.tags = [
    { key: TAG.managedBy, value: MANAGED_BY },
    { key: TAG.set, value: set },
    { key: TAG.hash, value: hash },
  ];
  return { family, hash, input };
}

/**
 * The ARN of the plan's task definition: the family's latest ACTIVE revision when it exists (same
 * family, same hash, same content), else a new registration. Two workers racing may both register:
 * both revisions are identical, either serves.
 */
export async function ensureTaskDefinition(ecs: ECSClient, plan: TaskDefinitionPlan): Promise<{ arn: string; registered: boolean }> {
  try {
    const found = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: plan.family, include: ['TAGS'] }));
    const definition = found.taskDefinition;
    const hash = found.tags?.find((t) => t.key === TAG.hash)?.value;
    if (definition?.taskDefinitionArn && definition.status !== 'INACTIVE' && definition.status !== 'DELETE_IN_PROGRESS' && (hash === undefined || hash === plan.hash)) {
      return { arn: definition.taskDefinitionArn, registered: false };
    }
  } catch (err) {
    if (!isMissingTaskDefinition(err)) throw err;
  }
  const registered = await ecs.send(new RegisterTaskDefinitionCommand(plan.input));
  const arn = registered.taskDefinition?.taskDefinitionArn;
  if (!arn) throw new Error(`RegisterTaskDefinition for ${plan.family} returned no ARN`);
  return { arn, registered: true };
}

/** DescribeTaskDefinition of a family that has no ACTIVE revision: a ClientException, as AWS says it. */
function isMissingTaskDefinition(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  return e?.name === 'ClientException' && /unable to describe task definition|does not exist|not found/i.test(e.message ?? '');
}

// The manifest: schema, defaults and cross-field rules. Field names follow Kubernetes' StatefulSet
// where the meaning is the same. Pure (zod only), so the workflow's update validator runs it too.
import { z } from 'zod';
import {
  ENV_NAME,
  SET_NAME_MAX,
  instanceDnsName,
  isDns1123Label,
  isDnsZone,
  isPortName,
} from './names.js';
import { FARGATE_CPUS, fargateMemoryRule, isFargateSize } from './ecs.js';

export const API_VERSION = 'ordinal.dev/v1';
export const KIND = 'StatefulSet';
export const DEFAULT_ZONE = 'ordinal.internal';
export const MAX_REPLICAS = 1000;
/** Route 53 ownership records live at `_ordinal-<type>.<name>`: names must leave room for that. */
export const ROUTE53_OWNERSHIP_OVERHEAD = 14;
/** Ordinals stay below this (ordinals.start, partitions and reserved ordinals included). */
export const MAX_ORDINAL = 100_000;

const LABEL_RULE = "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit";

/** How the process driver runs an instance: in its own namespaces (pod, the default) or as a plain child process. */
export const ISOLATIONS = ['pod', 'none'] as const;
export type Isolation = (typeof ISOLATIONS)[number];
export const MAX_VOLUME_MOUNTS = 16;
export const MAX_MOUNT_PATH = 4096;
/** The largest uid or gid a securityContext takes (as Kubernetes: a non-negative int32). */
export const MAX_UNIX_ID = 2147483647;
const ID_RULE = `must be an integer from 0 to ${MAX_UNIX_ID}`;
/** Directories that hold the system's own file systems: no volume at them or under them. */
const RESERVED_MOUNT_DIRS = ['/proc', '/sys', '/dev'] as const;
/** Files Ordinal writes for each pod. */
export const POD_MANAGED_FILES = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf'] as const;

/** What is wrong with a process volume mount's mountPath, if anything (the first rule it breaks). */
function mountPathProblem(p: string): string | undefined {
  if (!p.startsWith('/')) return 'must be an absolute path';
  if (p.length > MAX_MOUNT_PATH) return `must be at most ${MAX_MOUNT_PATH} characters`;
  if (/[\0\n\r]/.test(p)) return 'must not contain a NUL or line break character';
  if (p === '/') return "must not be '/': a volume cannot replace the pod's root";
  if (p.includes('//')) return "must be a normalized path: no '//'";
  if (p.endsWith('/')) return "must be a normalized path: no trailing '/'";
  if (p.split('/').some((s) => s === '.' || s === '..')) return "must be a normalized path: no '.' or '..' segment";
  for (const dir of RESERVED_MOUNT_DIRS) {
    if (p === dir || p.startsWith(`${dir}/`)) return `must not be ${dir} or under it: reserved for the system's own file system`;
  }
  for (const file of POD_MANAGED_FILES) {
    if (p === file || p.startsWith(`${file}/`)) return `must not be ${file}: Ordinal writes it for the pod`;
  }
  return undefined;
}

/** What is wrong with a volume mount's subPath, if anything (as Kubernetes: relative, never climbing out). */
function subPathProblem(p: string): string | undefined {
  if (p.startsWith('/')) return 'must be a relative path';
  if (p.length > MAX_MOUNT_PATH) return `must be at most ${MAX_MOUNT_PATH} characters`;
  if (/[\0\n\r]/.test(p)) return 'must not contain a NUL or line break character';
  if (p.split('/').includes('..')) return "must not contain a '..' segment";
  return undefined;
}

/**
 * The schema is built on first use, not at import: every workflow run evaluates the modules it
 * imports, and most set workflows never parse a manifest (only an incoming update does).
 */
function buildManifestSchema() {
  const setName = z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(SET_NAME_MAX, `must be at most ${SET_NAME_MAX} characters, so that instance names stay DNS labels`)
    .refine(isDns1123Label, LABEL_RULE);

  const serviceName = z.string().min(1, 'must not be empty').refine(isDns1123Label, LABEL_RULE);

  const int = (min: number, max: number) =>
    z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`);

  const portNumber = int(1, 65535);
  const portName = z
    .string()
    .refine(isPortName, "must be a port name: at most 15 lowercase letters, digits or '-', with at least one letter");
  /** A probe's port: a number, or the name of one of the template's ports. */
  const portRef = z.union([portNumber, portName], { error: 'must be a port number (1-65535) or the name of a template port' });

  const argv = z
    .array(z.string({ error: 'must be a string' }).min(1, 'must not be empty'), { error: 'must be an argv array of strings (no shell is used)' })
    .min(1, 'must name a program to run');

  const stringMap = z.record(z.string(), z.string({ error: 'must be a string' }));

  const httpGet = z.strictObject({
    path: z.string().startsWith('/', "must start with '/'").default('/'),
    port: portRef,
    host: z.string().min(1).optional(),
    scheme: z.enum(['HTTP', 'HTTPS'], { error: 'must be HTTP or HTTPS' }).default('HTTP'),
    httpHeaders: z.array(z.strictObject({ name: z.string().min(1), value: z.string() })).default([]),
  });

  const tcpSocket = z.strictObject({ port: portRef, host: z.string().min(1).optional() });

  const exec = z.strictObject({ command: argv });

  const probe = z
    .strictObject({
      httpGet: httpGet.optional(),
      tcpSocket: tcpSocket.optional(),
      exec: exec.optional(),
      initialDelaySeconds: int(0, 3600).default(0),
      periodSeconds: int(1, 3600).default(10),
      timeoutSeconds: int(1, 3600).default(1),
      successThreshold: int(1, 100).default(1),
      failureThreshold: int(1, 100).default(3),
    })
    .superRefine((p, ctx) => {
      const handlers = [p.httpGet, p.tcpSocket, p.exec].filter((h) => h !== undefined).length;
      if (handlers !== 1) {
        ctx.addIssue({ code: 'custom', message: 'must have exactly one of httpGet, tcpSocket or exec' });
      }
    });

  const port = z.strictObject({
    name: portName.optional(),
    port: portNumber,
    protocol: z.enum(['TCP', 'UDP'], { error: 'must be TCP or UDP' }).default('TCP'),
  });

  const envMap = z.record(
    z
      .string()
      // A copy: zod resets a pattern's lastIndex, and the workflow sandbox freezes exported ones.
      .regex(new RegExp(ENV_NAME), 'must be an environment variable name: letters, digits and _, not starting with a digit')
      .refine((name) => !name.startsWith('ORDINAL_'), 'ORDINAL_* variables are set by Ordinal itself'),
    z.string({ error: 'must be a string' }),
  );

  /** As a Kubernetes container's volumeMounts: one of the set's volumeClaimTemplates at a path in the pod. */
  const processVolumeMount = z.strictObject({
    name: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty', abort: true }).refine(isDns1123Label, LABEL_RULE),
    mountPath: z.string({ error: 'must be an absolute path' }).superRefine((p, ctx) => {
      const problem = mountPathProblem(p);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    readOnly: z.boolean({ error: 'must be true or false' }).optional(),
    /** A directory inside the volume to mount instead of its root. */
    subPath: z.string({ error: 'must be a relative path' }).superRefine((p, ctx) => {
      const problem = subPathProblem(p);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }).optional(),
  });

  // No defaults on isolation and volumeMounts: a template without them must keep its revision hash.
  const processTemplate = z
    .strictObject({
      command: argv,
      env: envMap.default({}),
      /** Working directory of the instance; relative paths resolve against the worker's working directory. */
      workingDir: z.string().min(1).optional(),
      /** pod (when absent): own UTS and mount namespaces, hostname, /etc/hosts, volumes; none: a plain child process. */
      isolation: z.enum(ISOLATIONS, { error: 'must be pod or none' }).optional(),
      volumeMounts: z.array(processVolumeMount).max(MAX_VOLUME_MOUNTS, `must list at most ${MAX_VOLUME_MOUNTS} mounts`).optional(),
    })
    .superRefine((p, ctx) => {
      const mounts = p.volumeMounts ?? [];
      if (p.isolation === 'none' && mounts.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['volumeMounts'],
          message: 'needs isolation: pod: a plain process has no mount namespace; read ORDINAL_VOLUME_<NAME> instead',
        });
      }
      const paths = new Set<string>();
      mounts.forEach((m, i) => {
        if (paths.has(m.mountPath)) ctx.addIssue({ code: 'custom', path: ['volumeMounts', i, 'mountPath'], message: `duplicate mount path '${m.mountPath}'` });
        paths.add(m.mountPath);
      });
    });

  /** As a Kubernetes pod's securityContext, numeric ids only; no defaults (absent: the worker's user). */
  const unixId = z
    .number({ error: ID_RULE })
    .int(ID_RULE)
    .min(0, ID_RULE)
    .max(MAX_UNIX_ID, ID_RULE);
  const securityContext = z
    .strictObject({
      runAsUser: unixId.optional(),
      runAsGroup: unixId.optional(),
      fsGroup: unixId.optional(),
      runAsNonRoot: z.boolean({ error: 'must be true or false' }).optional(),
    })
    .superRefine((s, ctx) => {
      if (s.runAsNonRoot !== true) return;
      if (s.runAsUser === undefined) {
        ctx.addIssue({ code: 'custom', path: ['runAsNonRoot'], message: "needs runAsUser: Ordinal does not read an image's user" });
      } else if (s.runAsUser === 0) {
        ctx.addIssue({ code: 'custom', path: ['runAsUser'], message: 'must not be 0 (root) when runAsNonRoot is true' });
      }
    });

  const awsId = (prefix: string, what: string) =>
    z.string({ error: `must be ${what} id such as ${prefix}-0123456789abcdef0` }).regex(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), `must be ${what} id such as ${prefix}-0123456789abcdef0`);
  const roleArn = z
    .string({ error: 'must be an IAM role ARN' })
    .regex(/^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[A-Za-z0-9+=,.@_\/-]{1,512}$/, 'must be an IAM role ARN such as arn:aws:iam::123456789012:role/name');

  /** ECS container health check; the names are ECS's, in seconds. */
  const ecsHealthCheck = z.strictObject({
    command: z
      .array(z.string({ error: 'must be a string' }).min(1, 'must not be empty'), { error: 'must be an array of strings' })
      .min(2, 'must be ["CMD", program, args...] or ["CMD-SHELL", "shell command"]')
      .refine((c) => c[0] === 'CMD' || c[0] === 'CMD-SHELL', 'must start with "CMD" (argv follows) or "CMD-SHELL" (a shell command follows)'),
    intervalSeconds: int(5, 300).default(30),
    timeoutSeconds: int(2, 60).default(5),
    retries: int(1, 10).default(3),
    startPeriodSeconds: int(0, 300).default(0),
  });

  /** The ECS/Fargate driver: one Fargate task per instance (awsvpc networking). */
  const ecsTemplate = z
    .strictObject({
      /** Cluster name or ARN. */
      cluster: z
        .string({ error: 'must be an ECS cluster name or ARN' })
        .regex(
          /^([A-Za-z0-9_-]{1,255}|arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster\/[A-Za-z0-9_-]{1,255})$/,
          'must be an ECS cluster name (letters, digits, - and _, at most 255) or a cluster ARN',
        ),
      image: z
        .string({ error: 'must be a container image reference' })
        .min(1, 'must not be empty')
        .max(1024, 'must be at most 1024 characters')
        .regex(/^[^\s]*$/, 'must be a container image reference without whitespace'),
      /** CPU units (1024 = 1 vCPU) and memory in MiB: a valid Fargate combination. */
      cpu: int(256, 16384).default(256),
      memory: int(512, 122880).default(512),
      subnets: z.array(awsId('subnet', 'a subnet')).min(1, 'must list at least one subnet').max(16, 'must list at most 16 subnets'),
      securityGroups: z.array(awsId('sg', 'a security group')).max(5, 'must list at most 5 security groups').default([]),
      assignPublicIp: z.boolean({ error: 'must be true or false' }).default(false),
      executionRoleArn: roleArn.optional(),
      taskRoleArn: roleArn.optional(),
      /** Name of the task's one container; default: the set's name. */
      containerName: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,255}$/, 'must be letters, digits, - and _ (at most 255)')
        .optional(),
      /** Overrides the image's CMD (argv, as process.command). */
      command: argv.optional(),
      env: envMap.default({}),
      healthCheck: ecsHealthCheck.optional(),
      /** What makes an instance Ready: the template's readinessProbe (probes), or the container health check. */
      readiness: z.enum(['probes', 'healthCheck'], { error: 'must be probes or healthCheck' }).default('probes'),
      /** Where volumeClaimTemplates live: one EFS access point per instance and template. */
      efs: z
        .strictObject({
          fileSystemId: z.string({ error: 'must be an EFS file system id' }).regex(/^fs-[0-9a-f]{8,40}$/, 'must be an EFS file system id such as fs-0123456789abcdef0'),
          /** Owner and permissions of each access point's root directory when EFS creates it. */
          ownerUid: int(0, 4294967295).default(0),
          ownerGid: int(0, 4294967295).default(0),
          permissions: z.string().regex(/^[0-7]{3,4}$/, 'must be octal permissions such as 0755').default('0755'),
          /** Mount with the task role's IAM authorization. */
          iam: z.boolean({ error: 'must be true or false' }).default(false),
        })
        .optional(),
      /** Where each volume is mounted; default /volumes/<template>. */
      volumeMounts: z
        .array(
          z.strictObject({
            name: z.string().min(1, 'must not be empty').refine(isDns1123Label, LABEL_RULE),
            mountPath: z.string().regex(/^\/[^\s]*$/, 'must be an absolute path').max(512, 'must be at most 512 characters'),
          }),
        )
        .default([]),
      /** CloudWatch Logs (awslogs driver); needs executionRoleArn. */
      awslogs: z
        .strictObject({
          group: z.string().regex(/^[\.\-_/#A-Za-z0-9]{1,512}$/, 'must be a CloudWatch Logs group name'),
          region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-[0-9]$/, 'must be an AWS region such as us-east-1').optional(),
          streamPrefix: z.string().regex(/^[^:*]{1,128}$/, 'must be at most 128 characters, without : or *').default('ordinal'),
        })
        .optional(),
    })
    .superRefine((e, ctx) => {
      if (!FARGATE_CPUS.includes(e.cpu)) {
        ctx.addIssue({ code: 'custom', path: ['cpu'], message: `must be a Fargate CPU size: ${FARGATE_CPUS.join(', ')}` });
      } else if (!isFargateSize(e.cpu, e.memory)) {
        ctx.addIssue({ code: 'custom', path: ['memory'], message: `must be a Fargate size: ${fargateMemoryRule(e.cpu)}` });
      }
      if (e.readiness === 'healthCheck' && !e.healthCheck) {
        ctx.addIssue({ code: 'custom', path: ['healthCheck'], message: 'is required when readiness is healthCheck' });
      }
      if (e.awslogs && !e.executionRoleArn) {
        ctx.addIssue({ code: 'custom', path: ['executionRoleArn'], message: 'is required with awslogs (ECS writes the logs with it)' });
      }
      const names = new Set<string>();
      const paths = new Set<string>();
      e.volumeMounts.forEach((m, i) => {
        if (names.has(m.name)) ctx.addIssue({ code: 'custom', path: ['volumeMounts', i, 'name'], message: `duplicate volume mount '${m.name}'` });
        if (paths.has(m.mountPath)) ctx.addIssue({ code: 'custom', path: ['volumeMounts', i, 'mountPath'], message: `duplicate mount path '${m.mountPath}'` });
        names.add(m.name);
        paths.add(m.mountPath);
      });
    });

  const template = z
    .strictObject({
      /** Exactly one of process and ecs: which driver runs the instances. */
      process: processTemplate.optional(),
      ecs: ecsTemplate.optional(),
      ports: z.array(port).default([]),
      readinessProbe: probe.optional(),
      livenessProbe: probe.optional(),
      terminationGracePeriodSeconds: int(0, 3600).default(30),
      securityContext: securityContext.optional(),
    })
    // Checked here rather than on the whole manifest so an error elsewhere does not hide these.
    .superRefine((t, ctx) => checkTemplateRules(t, ctx));

  const dns = z.strictObject({
    provider: z.enum(['embedded', 'route53'], { error: 'must be embedded or route53' }).default('embedded'),
    /** Route 53: this hosted zone (checked against `zone`) instead of finding it by name. */
    hostedZoneId: z
      .string()
      .regex(/^(\/hostedzone\/)?[A-Z0-9]{1,32}$/, 'must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ')
      .optional(),
    /** Route 53: the private (true) or public (false) zone, when both have the name. */
    private: z.boolean({ error: 'must be true or false' }).optional(),
    zone: z
      .string()
      .refine(isDnsZone, 'must be a DNS name: dot-separated DNS-1123 labels, at most 253 characters, no trailing dot')
      .default(DEFAULT_ZONE),
    ttl: int(0, 86400).default(5),
    /** As a Kubernetes Service's publishNotReadyAddresses: names resolve as soon as instances run. */
    publishNotReadyAddresses: z.boolean({ error: 'must be true or false' }).default(false),
  });

  /** An integer, or a percentage of replicas such as "25%", as Kubernetes' IntOrString. */
  const intOrPercent = z.union([int(1, MAX_REPLICAS), z.string().regex(/^(100|[1-9][0-9]?)%$/, 'must be a percentage from 1% to 100%')], {
    error: 'must be a positive integer or a percentage such as "25%"',
  });

  const updateStrategy = z
    .strictObject({
      type: z.enum(['RollingUpdate', 'OnDelete'], { error: 'must be RollingUpdate or OnDelete' }).default('RollingUpdate'),
      rollingUpdate: z
        .strictObject({
          /** Ordinals at or above it take the update revision; below it keep the current one. */
          partition: int(0, MAX_ORDINAL).default(0),
          maxUnavailable: intOrPercent.default(1),
          /** A paused rollout replaces nothing; scaling and healing go on. */
          paused: z.boolean({ error: 'must be true or false' }).default(false),
        })
        .optional(),
    })
    .superRefine((u, ctx) => {
      if (u.type === 'OnDelete' && u.rollingUpdate !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['rollingUpdate'], message: 'is only allowed with type RollingUpdate' });
      }
    });

  /** Kubernetes resource quantity, e.g. 1Gi, 500Mi, 10G. */
  const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

  const volumeClaimTemplate = z.strictObject({
    metadata: z.strictObject({ name: z.string().min(1, 'must not be empty').max(40, 'must be at most 40 characters').refine(isDns1123Label, LABEL_RULE) }),
    spec: z
      .strictObject({
        accessModes: z.array(z.enum(['ReadWriteOnce', 'ReadWriteOncePod', 'ReadOnlyMany', 'ReadWriteMany'])).optional(),
        storageClassName: z.string().min(1).optional(),
        resources: z
          .strictObject({
            requests: z.strictObject({ storage: z.string().regex(QUANTITY, 'must be a quantity such as 1Gi or 500Mi').default('1Gi') }).prefault({}),
          })
          .prefault({}),
      })
      .prefault({}),
  });

  const retention = z.enum(['Retain', 'Delete'], { error: 'must be Retain or Delete' }).default('Retain');

  const spec = z.strictObject({
    serviceName: serviceName.optional(),
    replicas: int(0, MAX_REPLICAS).default(1),
    /** As Kubernetes' spec.ordinals: the first ordinal (web-5, web-6, ... for start 5). */
    ordinals: z.strictObject({ start: int(0, MAX_ORDINAL).default(0) }).prefault({}),
    /** As OpenKruise's reserveOrdinals: ordinals skipped, so one member can go without renumbering the rest. */
    reserveOrdinals: z
      .array(int(0, MAX_ORDINAL))
      .max(MAX_REPLICAS, `must list at most ${MAX_REPLICAS} ordinals`)
      .refine((list) => new Set(list).size === list.length, 'must not repeat an ordinal')
      .default([]),
    podManagementPolicy: z.enum(['OrderedReady', 'Parallel'], { error: 'must be OrderedReady or Parallel' }).default('OrderedReady'),
    /** An instance is Available once Ready for this long; OrderedReady and updates wait for Available. */
    minReadySeconds: int(0, 86400).default(0),
    updateStrategy: updateStrategy.prefault({}),
    revisionHistoryLimit: int(0, 1000).default(10),
    /** A rollout making no progress for this long is reported as failed (ProgressDeadlineExceeded). */
    progressDeadlineSeconds: int(1, 86400 * 7).default(600),
    /** After ProgressDeadlineExceeded, go back to the last revision that was fully Ready. */
    autoRollback: z.boolean({ error: 'must be true or false' }).default(false),
    /**
     * How a crash-looping instance is restarted (Ordinal's own, as the kubelet's back-off): at once,
     * then after initialSeconds, doubling up to maxSeconds (0: always at once); Ready for resetSeconds
     * starts over.
     */
    crashLoopBackOff: z
      .strictObject({
        initialSeconds: int(0, 3600).default(1),
        maxSeconds: int(0, 86400).default(60),
        resetSeconds: int(1, 86400).default(60),
      })
      .prefault({}),
    volumeClaimTemplates: z.array(volumeClaimTemplate).max(16, 'must list at most 16 templates').default([]),
    persistentVolumeClaimRetentionPolicy: z
      .strictObject({ whenDeleted: retention, whenScaled: retention })
      .prefault({}),
    template,
    dns: dns.prefault({}),
  });

  const manifestSchema = z
    .strictObject({
      apiVersion: z.literal(API_VERSION, { error: `must be ${API_VERSION}` }),
      kind: z.literal(KIND, { error: `must be ${KIND}` }),
      metadata: z.strictObject({
        name: setName,
        labels: stringMap.optional(),
        annotations: stringMap.optional(),
        // Read-only fields that a GET returns: accepted so a GET-edit-PUT round trip works, then ignored.
        generation: z.unknown().optional(),
        resourceVersion: z.unknown().optional(),
        creationTimestamp: z.unknown().optional(),
        deletionRequested: z.unknown().optional(),
      }),
      spec,
      status: z.unknown().optional(),
    })
    .superRefine((m, ctx) => checkCrossFieldRules(m, ctx))
    .transform(normalize);
  return manifestSchema;
}

let built: ReturnType<typeof buildManifestSchema> | undefined;

/** The manifest schema (zod): what parseManifest validates with, and what the OpenAPI document shows. */
export function getManifestSchema(): ReturnType<typeof buildManifestSchema> {
  built ??= buildManifestSchema();
  return built;
}

/** The manifest as the rest of Ordinal sees it: validated, defaults filled, read-only fields dropped. */
export type Manifest = z.output<ReturnType<typeof buildManifestSchema>>;
export type SetSpec = Manifest['spec'];
export type Template = SetSpec['template'];
export type Probe = NonNullable<Template['readinessProbe']>;
export type EcsTemplate = NonNullable<Template['ecs']>;
export type ProcessTemplate = NonNullable<Template['process']>;
export type PortSpec = Template['ports'][number];
export type ProcessVolumeMount = NonNullable<ProcessTemplate['volumeMounts']>[number];
export type SecurityContext = NonNullable<Template['securityContext']>;
export type ManifestInput = z.input<ReturnType<typeof buildManifestSchema>>;

/** What the cross-field rules read of a parsed spec (structural, so the schema's type does not depend on it). */
interface Parsed {
  serviceName?: string;
  replicas: number;
  ordinals: { start: number };
  reserveOrdinals: number[];
  template: ParsedTemplate;
  dns: { provider: string; zone: string; hostedZoneId?: string; private?: boolean };
  volumeClaimTemplates: Array<{ metadata: { name: string } }>;
}

function normalize<S extends { serviceName?: string }>(m: {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: S;
}) {
  const metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> } = {
    name: m.metadata.name,
  };
  if (m.metadata.labels) metadata.labels = m.metadata.labels;
  if (m.metadata.annotations) metadata.annotations = m.metadata.annotations;
  return {
    apiVersion: m.apiVersion,
    kind: m.kind,
    metadata,
    spec: { ...m.spec, serviceName: m.spec.serviceName ?? m.metadata.name },
  };
}

interface ParsedProbe {
  httpGet?: { port: number | string };
  tcpSocket?: { port: number | string };
  successThreshold: number;
}

interface ParsedTemplate {
  process?: { volumeMounts?: Array<{ name: string }> };
  securityContext?: unknown;
  ecs?: { readiness: 'probes' | 'healthCheck'; efs?: unknown; volumeMounts: Array<{ name: string }> };
  ports: Array<{ name?: string; port: number; protocol: 'TCP' | 'UDP' }>;
  readinessProbe?: ParsedProbe & { exec?: unknown };
  livenessProbe?: ParsedProbe & { exec?: unknown };
}

/** The driver a template asks for. */
export type DriverKind = 'process' | 'ecs';

export function templateKind(template: { ecs?: unknown }): DriverKind {
  return template.ecs !== undefined ? 'ecs' : 'process';
}

/** How a process template runs its instances: pod when isolation is absent. */
export function isolationOf(process: { isolation?: Isolation }): Isolation {
  return process.isolation ?? 'pod';
}

/** Whether an instance of this template must pass a check (probe or health check) before it is Ready. */
export function hasReadinessGate(template: { readinessProbe?: unknown; ecs?: { readiness: string } }): boolean {
  return template.readinessProbe !== undefined || template.ecs?.readiness === 'healthCheck';
}

/**
 * Template fields that cannot change once a set exists, beside IMMUTABLE_FIELDS: the driver (an instance
 * cannot move between a local process and ECS), the ECS cluster (the driver finds an identity's tasks in
 * it) and the EFS file system (the instances' data lives there). Returns the field issues.
 */
export function immutableTemplateChanges(
  before: { ecs?: { cluster: string; efs?: { fileSystemId: string } } },
  after: { ecs?: { cluster: string; efs?: { fileSystemId: string } } },
): FieldIssue[] {
  const kindBefore = templateKind(before);
  if (kindBefore !== templateKind(after)) {
    return [
      {
        path: `spec.template.${templateKind(after)}`,
        message: `cannot change once the set exists: the set's instances run on the ${kindBefore} driver; create a new set to use another`,
      },
    ];
  }
  const issues: FieldIssue[] = [];
  if (before.ecs && after.ecs) {
    if (before.ecs.cluster !== after.ecs.cluster) {
      issues.push({ path: 'spec.template.ecs.cluster', message: "cannot change once the set exists: the instances' tasks run in it; create a new set to move" });
    }
    const fsBefore = before.ecs.efs?.fileSystemId;
    const fsAfter = after.ecs.efs?.fileSystemId;
    if (fsBefore !== undefined && fsBefore !== fsAfter) {
      issues.push({ path: 'spec.template.ecs.efs.fileSystemId', message: "cannot change once the set exists: existing instances' data lives on it" });
    }
  }
  return issues;
}

/** Port names and numbers are unique; probes name declared ports; liveness succeeds once. */
function checkTemplateRules(t: ParsedTemplate, ctx: z.RefinementCtx): void {
  if (t.process === undefined && t.ecs === undefined) {
    ctx.addIssue({ code: 'custom', path: ['process'], message: 'is required: a template has exactly one of process or ecs' });
  } else if (t.process !== undefined && t.ecs !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['ecs'], message: 'must not be given together with process: a template has exactly one of process or ecs' });
  }
  if (t.ecs) {
    for (const probeName of ['readinessProbe', 'livenessProbe'] as const) {
      if (t[probeName]?.exec !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [probeName, 'exec'],
          message: "is not available with ecs: exec probes run on the worker's host, not in the task; use httpGet or tcpSocket, or ecs.healthCheck",
        });
      }
    }
    if (t.ecs.readiness === 'healthCheck' && t.readinessProbe !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['readinessProbe'], message: 'must not be given when ecs.readiness is healthCheck (the container health check decides readiness)' });
    }
    if (t.securityContext !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['securityContext'], message: 'is not available with ecs yet: set the user in the image' });
    }
  }
  const seenNames = new Set<string>();
  const seenPorts = new Set<string>();
  t.ports.forEach((p, i) => {
    if (p.name !== undefined) {
      if (seenNames.has(p.name)) {
        ctx.addIssue({ code: 'custom', path: ['ports', i, 'name'], message: `duplicate port name '${p.name}'` });
      }
      seenNames.add(p.name);
    }
    const key = `${p.port}/${p.protocol}`;
    if (seenPorts.has(key)) {
      ctx.addIssue({ code: 'custom', path: ['ports', i, 'port'], message: `duplicate port ${key}` });
    }
    seenPorts.add(key);
  });

  for (const probeName of ['readinessProbe', 'livenessProbe'] as const) {
    const p = t[probeName];
    if (!p) continue;
    for (const handler of ['httpGet', 'tcpSocket'] as const) {
      const ref = p[handler]?.port;
      if (typeof ref === 'string' && !seenNames.has(ref)) {
        ctx.addIssue({
          code: 'custom',
          path: [probeName, handler, 'port'],
          message: `names port '${ref}', but spec.template.ports has no port of that name`,
        });
      }
    }
    if (probeName === 'livenessProbe' && p.successThreshold !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['livenessProbe', 'successThreshold'],
        message: 'must be 1 for a liveness probe',
      });
    }
  }
}

function isIntegerIn(value: number, min: number, max: number): boolean {
  return Number.isSafeInteger(value) && value >= min && value <= max;
}

function checkCrossFieldRules(m: { metadata: { name: string }; spec: Parsed }, ctx: z.RefinementCtx): void {
  const t = m.spec.template;
  // Every name the set publishes must still be a valid DNS name (253 characters): the longest
  // instance name, and the SRV name of each named port.
  // zod runs this refinement even when a field it reads broke a range rule (that field has its issue
  // already): the instance names are only checked when the ordinals are in range, since listing them
  // for 2^53 replicas never ends (nor does skipping a reserved ordinal at 2^53, where ordinal++ stays put).
  const service = m.spec.serviceName ?? m.metadata.name;
  const ordinalsInRange =
    isIntegerIn(m.spec.replicas, 0, MAX_REPLICAS) &&
    isIntegerIn(m.spec.ordinals.start, 0, MAX_ORDINAL) &&
    m.spec.reserveOrdinals.length <= MAX_REPLICAS &&
    m.spec.reserveOrdinals.every((o) => isIntegerIn(o, 0, MAX_ORDINAL));
  const highest = ordinalsInRange ? Math.max(...desiredOrdinals(m.spec), m.spec.ordinals.start) : undefined;
  const names = [
    ...(highest === undefined ? [] : [instanceDnsName(m.metadata.name, highest, service, m.spec.dns.zone)]),
    ...t.ports.filter((p) => p.name).map((p) => `_${p.name}._${p.protocol.toLowerCase()}.${service}.${m.spec.dns.zone}`),
  ];
  const volumes = new Set<string>();
  m.spec.volumeClaimTemplates.forEach((v, i) => {
    const env = volumeEnvName(v.metadata.name);
    if (volumes.has(env)) {
      ctx.addIssue({ code: 'custom', path: ['spec', 'volumeClaimTemplates', i, 'metadata', 'name'], message: `duplicate volume (${env})` });
    }
    volumes.add(env);
  });
  const claims = new Set(m.spec.volumeClaimTemplates.map((v) => v.metadata.name));
  t.process?.volumeMounts?.forEach((mount, i) => {
    // A name that is not a label already has its issue (zod runs this refinement all the same).
    if (!claims.has(mount.name) && isDns1123Label(mount.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'template', 'process', 'volumeMounts', i, 'name'],
        message: `names volume '${mount.name}', but spec.volumeClaimTemplates has no template of that name`,
      });
    }
  });
  if (t.ecs) {
    if (m.spec.volumeClaimTemplates.length > 0 && t.ecs.efs === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'template', 'ecs', 'efs'],
        message: "is required when the set has volumeClaimTemplates: each instance's volumes are EFS access points",
      });
    }
    t.ecs.volumeMounts.forEach((mount, i) => {
      if (!claims.has(mount.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['spec', 'template', 'ecs', 'volumeMounts', i, 'name'],
          message: `names volume '${mount.name}', but spec.volumeClaimTemplates has no template of that name`,
        });
      }
    });
  }
  // Route 53 records carry an ownership TXT record at a name 14 characters longer.
  const limit = m.spec.dns.provider === 'route53' ? 253 - ROUTE53_OWNERSHIP_OVERHEAD : 253;
  const tooLong = names.find((name) => name.length > limit);
  if (tooLong) {
    ctx.addIssue({
      code: 'custom',
      path: ['spec', 'dns', 'zone'],
      message: `published DNS names such as '${tooLong.slice(0, 40)}...' would exceed ${limit} characters`,
    });
  }
  const dnsProvider = m.spec.dns.provider;
  if (dnsProvider !== 'route53' && (m.spec.dns.hostedZoneId !== undefined || m.spec.dns.private !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['spec', 'dns', 'provider'], message: 'must be route53 when hostedZoneId or private is set' });
  }
}

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. "spec.template.ports[0].port"; "" for the whole document. */
  path: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

/** Turns zod issues into field issues; unknown keys get one issue each, at their own path. */
export function toFieldIssues(error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({ path: formatPath([...prefix, ...issue.path, key]), message: 'unknown field' });
      }
    } else if (issue.code === 'invalid_key') {
      // A record key's own rule (e.g. an env var name) is nested one level down.
      const reasons = issue.issues.map((i) => i.message);
      issues.push({ path: formatPath([...prefix, ...issue.path]), message: reasons.join('; ') || issue.message });
    } else if (issue.code === 'invalid_type' && isMissing(issue)) {
      issues.push({ path: formatPath([...prefix, ...issue.path]), message: 'is required' });
    } else {
      issues.push({ path: formatPath([...prefix, ...issue.path]), message: issue.message });
    }
  }
  return issues;
}

/** A value that is absent, not one of the wrong type (zod reports the input only when asked to). */
function isMissing(issue: z.core.$ZodIssue): boolean {
  return 'input' in issue ? issue.input === undefined : /received undefined$/.test(issue.message);
}

/** Validates an already-decoded manifest document and fills in defaults. */
export function parseManifest(document: unknown): ParseResult<Manifest> {
  const result = getManifestSchema().safeParse(document, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, issues: toFieldIssues(result.error) };
}

/**
 * Validates a manifest someone asks to apply, the same wherever the request comes from (the HTTP API,
 * or a client updating the set's workflow directly: its update validator). As parseManifest, except
 * that a replica count above MAX_REPLICAS is checked as MAX_REPLICAS + 1, so its one issue is the plain
 * "must be at most 1000" (2^53 would also be "must be an integer"); the other fields are checked as
 * they are, so their issues are listed with it.
 */
export function validateManifest(document: unknown): ParseResult<Manifest> {
  return parseManifest(withReplicasInReach(document));
}

function withReplicasInReach(document: unknown): unknown {
  if (!isRecord(document) || !isRecord(document.spec)) return document;
  const replicas = document.spec.replicas;
  if (typeof replicas === 'number' && replicas > MAX_REPLICAS) return { ...document, spec: { ...document.spec, replicas: MAX_REPLICAS + 1 } };
  return document;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The ordinals a spec wants, lowest first: `replicas` of them from `ordinals.start`, skipping
 * `reserveOrdinals`.
 */
export function desiredOrdinals(spec: { replicas: number; ordinals: { start: number }; reserveOrdinals: number[] }): number[] {
  const reserved = new Set(spec.reserveOrdinals);
  const ordinals: number[] = [];
  for (let ordinal = spec.ordinals.start; ordinals.length < spec.replicas; ordinal++) {
    if (!reserved.has(ordinal)) ordinals.push(ordinal);
  }
  return ordinals;
}

/** maxUnavailable as a number of instances: a percentage of replicas, rounded down, at least 1. */
export function maxUnavailableCount(spec: { replicas: number; updateStrategy: { rollingUpdate?: { maxUnavailable: number | string } } }): number {
  const value = spec.updateStrategy.rollingUpdate?.maxUnavailable ?? 1;
  if (typeof value === 'number') return value;
  return Math.max(1, Math.floor((spec.replicas * Number(value.slice(0, -1))) / 100));
}

/** The environment variable holding a volume's path: ORDINAL_VOLUME_DATA for template "data". */
export function volumeEnvName(template: string): string {
  return `ORDINAL_VOLUME_${template.toUpperCase().replace(/-/g, '_')}`;
}

/** Spec fields that cannot change once a set exists, and why. */
export const IMMUTABLE_FIELDS = {
  serviceName: 'it names every DNS record clients use; create a new set to change it',
  volumeClaimTemplates: "existing instances' data lives in the volumes; create a new set to change them",
} as const;

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

export const API_VERSION = 'ordinal.dev/v1';
export const KIND = 'StatefulSet';
export const DEFAULT_ZONE = 'ordinal.internal';
export const MAX_REPLICAS = 1000;

const LABEL_RULE = "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit";

const setName = z
  .string()
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
    .regex(ENV_NAME, 'must be an environment variable name: letters, digits and _, not starting with a digit')
    .refine((name) => !name.startsWith('ORDINAL_'), 'ORDINAL_* variables are set by Ordinal itself'),
  z.string({ error: 'must be a string' }),
);

const processTemplate = z.strictObject({
  command: argv,
  env: envMap.default({}),
  /** Working directory of the instance; relative paths resolve against the worker's working directory. */
  workingDir: z.string().min(1).optional(),
});

const template = z
  .strictObject({
    process: processTemplate,
    ports: z.array(port).default([]),
    readinessProbe: probe.optional(),
    livenessProbe: probe.optional(),
    terminationGracePeriodSeconds: int(0, 3600).default(30),
  })
  // Checked here rather than on the whole manifest so an error elsewhere does not hide these.
  .superRefine((t, ctx) => checkTemplateRules(t, ctx));

const dns = z.strictObject({
  provider: z.enum(['embedded'], { error: 'must be embedded (the only provider so far)' }).default('embedded'),
  zone: z
    .string()
    .refine(isDnsZone, 'must be a DNS name: dot-separated DNS-1123 labels, at most 253 characters, no trailing dot')
    .default(DEFAULT_ZONE),
  ttl: int(0, 86400).default(5),
});

const spec = z.strictObject({
  serviceName: serviceName.optional(),
  replicas: int(0, MAX_REPLICAS).default(1),
  podManagementPolicy: z
    .literal('OrderedReady', { error: 'must be OrderedReady (Parallel is not supported yet)' })
    .default('OrderedReady'),
  template,
  dns: dns.prefault({}),
});

export const manifestSchema = z
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

/** The manifest as the rest of Ordinal sees it: validated, defaults filled, read-only fields dropped. */
export type Manifest = z.output<typeof manifestSchema>;
export type SetSpec = Manifest['spec'];
export type Template = SetSpec['template'];
export type Probe = NonNullable<Template['readinessProbe']>;
export type PortSpec = Template['ports'][number];
export type ManifestInput = z.input<typeof manifestSchema>;

type Parsed = z.output<typeof spec> & object;

function normalize(m: {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Parsed;
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

interface ParsedTemplate {
  ports: Array<{ name?: string; port: number; protocol: 'TCP' | 'UDP' }>;
  readinessProbe?: z.output<typeof probe>;
  livenessProbe?: z.output<typeof probe>;
}

/** Port names and numbers are unique; probes name declared ports; liveness succeeds once. */
function checkTemplateRules(t: ParsedTemplate, ctx: z.RefinementCtx): void {
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

function checkCrossFieldRules(m: { metadata: { name: string }; spec: Parsed }, ctx: z.RefinementCtx): void {
  const t = m.spec.template;
  // Every name the set publishes must still be a valid DNS name (253 characters): the longest
  // instance name, and the SRV name of each named port.
  const service = m.spec.serviceName ?? m.metadata.name;
  const highest = Math.max(0, m.spec.replicas - 1);
  const names = [
    instanceDnsName(m.metadata.name, highest, service, m.spec.dns.zone),
    ...t.ports.filter((p) => p.name).map((p) => `_${p.name}._${p.protocol.toLowerCase()}.${service}.${m.spec.dns.zone}`),
  ];
  const tooLong = names.find((name) => name.length > 253);
  if (tooLong) {
    ctx.addIssue({
      code: 'custom',
      path: ['spec', 'dns', 'zone'],
      message: `published DNS names such as '${tooLong.slice(0, 40)}...' would exceed 253 characters`,
    });
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
    } else if (issue.code === 'invalid_type' && issue.input === undefined) {
      issues.push({ path: formatPath([...prefix, ...issue.path]), message: 'is required' });
    } else {
      issues.push({ path: formatPath([...prefix, ...issue.path]), message: issue.message });
    }
  }
  return issues;
}

/** Validates an already-decoded manifest document and fills in defaults. */
export function parseManifest(document: unknown): ParseResult<Manifest> {
  const result = manifestSchema.safeParse(document, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, issues: toFieldIssues(result.error) };
}

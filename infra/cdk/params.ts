// The CDK app's parameters, from CDK context (`-c key=value`, cdk.json, cdk.context.json), checked at
// synth time so a mistake is reported by name before anything is deployed. Nothing here looks anything
// up in AWS: synth runs offline.

/** How the worker and the API authenticate to Temporal (Temporal Cloud: apiKey or mtls). */
export type TemporalAuth = 'apiKey' | 'mtls' | 'none';
/** How the API on Lambda authenticates its callers: bearer tokens kept in Secrets Manager, or IAM (SigV4). */
export type ApiAuthMode = 'tokens' | 'iam';

export interface ImportedVpc {
  vpcId: string;
  availabilityZones: string[];
  /** Private subnets with a route to the internet (NAT) or VPC endpoints, one per availability zone. */
  privateSubnetIds: string[];
}

export interface OrdinalStackParams {
  /** Temporal frontend, host:port (Temporal Cloud: <namespace>.<account>.tmprl.cloud:7233, or the regional API key endpoint). */
  temporalAddress: string;
  temporalNamespace: string;
  temporalAuth: TemporalAuth;
  /** ARN (complete, with its suffix) or name of the Secrets Manager secret with the Temporal credentials. */
  temporalSecret?: string;
  taskQueue: string;
  /** The private hosted zone sets publish to (dns.provider: route53, dns.zone: this). */
  zoneName: string;
  apiAuth: ApiAuthMode;
  /** An existing VPC, imported without lookups; otherwise the stack makes one. */
  vpc?: ImportedVpc;
  /** NAT gateways of a new VPC (0: private subnets are isolated and the worker cannot reach Temporal Cloud). */
  natGateways: number;
  workerCount: number;
  workerCpu: number;
  workerMemoryMiB: number;
  /** Written into Route 53 ownership records (ORDINAL_ROUTE53_OWNER_ID). */
  route53OwnerId: string;
}

export type ContextReader = (key: string) => unknown;

export class ParamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParamError';
  }
}

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Reads and checks every parameter; throws a ParamError that names the context key. */
export function readParams(context: ContextReader): OrdinalStackParams {
  const str = (key: string): string | undefined => {
    const value = context(key);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new ParamError(`context ${key} must be a string, got ${JSON.stringify(value)}`);
    }
    return String(value).trim();
  };
  const required = (key: string, example: string): string => {
    const value = str(key);
    if (value === undefined) throw new ParamError(`context ${key} is required, e.g. -c ${key}=${example}`);
    return value;
  };
  const oneOf = <T extends string>(key: string, values: readonly T[], fallback: T): T => {
    const value = str(key) ?? fallback;
    if (!(values as readonly string[]).includes(value)) throw new ParamError(`context ${key} must be one of ${values.join(', ')}, got '${value}'`);
    return value as T;
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const text = str(key);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw new ParamError(`context ${key} must be an integer from ${min} to ${max}, got '${text}'`);
    return value;
  };
  const list = (key: string): string[] | undefined => {
    const value = context(key);
    if (value === undefined || value === null || value === '') return undefined;
    const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
    return items.map((s) => s.trim()).filter((s) => s !== '');
  };

  const temporalAddress = required('temporalAddress', 'my-namespace.a1b2c.tmprl.cloud:7233');
  if (!/^[^\s:]+:\d{1,5}$/.test(temporalAddress)) throw new ParamError(`context temporalAddress must be host:port, got '${temporalAddress}'`);
  const temporalNamespace = required('temporalNamespace', 'my-namespace.a1b2c');
  const temporalAuth = oneOf<TemporalAuth>('temporalAuth', ['apiKey', 'mtls', 'none'], 'apiKey');
  const temporalSecret = str('temporalSecret');
  if (temporalAuth !== 'none' && temporalSecret === undefined) {
    throw new ParamError(
      `context temporalSecret is required with temporalAuth=${temporalAuth}: the ARN or name of a Secrets Manager secret holding ` +
        (temporalAuth === 'apiKey' ? '{"TEMPORAL_API_KEY": "..."}' : '{"TEMPORAL_TLS_CLIENT_CERT_DATA": "<PEM>", "TEMPORAL_TLS_CLIENT_KEY_DATA": "<PEM>"}') +
        ' (or temporalAuth=none for a Temporal server without authentication)',
    );
  }
  if (temporalAuth === 'none' && temporalSecret !== undefined) throw new ParamError('context temporalSecret is set but temporalAuth=none: choose apiKey or mtls');
  const taskQueue = str('taskQueue') ?? 'ordinal';
  const zoneName = (str('zoneName') ?? 'ordinal.internal').toLowerCase().replace(/\.$/, '');
  if (!DNS_NAME.test(zoneName)) throw new ParamError(`context zoneName must be a DNS name such as ordinal.internal, got '${zoneName}'`);
  const apiAuth = oneOf<ApiAuthMode>('apiAuth', ['tokens', 'iam'], 'tokens');

  const vpcId = str('vpcId');
  let vpc: ImportedVpc | undefined;
  if (vpcId !== undefined) {
    const availabilityZones = list('vpcAvailabilityZones');
    const privateSubnetIds = list('vpcPrivateSubnetIds');
    if (!availabilityZones?.length || !privateSubnetIds?.length) {
      throw new ParamError('context vpcId needs vpcAvailabilityZones and vpcPrivateSubnetIds too (comma-separated, one subnet per zone, in the same order)');
    }
    if (availabilityZones.length !== privateSubnetIds.length) {
      throw new ParamError(`context vpcPrivateSubnetIds must list one subnet per availability zone (${availabilityZones.length}), got ${privateSubnetIds.length}`);
    }
    vpc = { vpcId, availabilityZones, privateSubnetIds };
  } else if (list('vpcPrivateSubnetIds') || list('vpcAvailabilityZones')) {
    throw new ParamError('context vpcPrivateSubnetIds and vpcAvailabilityZones need vpcId');
  }

  const workerCpu = int('workerCpu', 512, 256, 16384);
  const workerMemoryMiB = int('workerMemoryMiB', 1024, 512, 122880);
  return {
    temporalAddress,
    temporalNamespace,
    temporalAuth,
    temporalSecret,
    taskQueue,
    zoneName,
    apiAuth,
    vpc,
    natGateways: int('natGateways', 1, 0, 3),
    workerCount: int('workerCount', 1, 0, 10),
    workerCpu,
    workerMemoryMiB,
    route53OwnerId: str('route53OwnerId') ?? 'ordinal',
  };
}

// OrdinalStatefulSet: an Ordinal set as a CloudFormation resource, applied through the Ordinal API by
// a custom resource (handler.ts, on Lambda through aws-cdk-lib's Provider framework). The manifest is
// validated at synth time by the core's validateManifest, the API's own rules, so a mistake fails
// `cdk synth` naming the field; the deployment waits for the rollout and fails (so CloudFormation rolls
// back) when the rollout does. One provider serves every set of a stack.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomResource, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { offlineEsmBundling } from '../bundling.js';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { API_VERSION, KIND, formatPath, validateManifest, type FieldIssue, type ManifestInput } from '../../../core/manifest.js';
import { DEFAULT_ROLLOUT_TIMEOUT_SECONDS, type StatefulSetResourceProperties } from './handler.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '../../..');

/** A manifest as `ordinal apply` takes it (core/manifest.ts); apiVersion and kind may be left out. */
export type OrdinalSetManifest = Omit<ManifestInput, 'apiVersion' | 'kind'> & Partial<Pick<ManifestInput, 'apiVersion' | 'kind'>>;

/** The longest wait for a rollout: CloudFormation gives a custom resource an hour at most. */
export const MAX_ROLLOUT_TIMEOUT = Duration.minutes(55);

export interface OrdinalStatefulSetProps {
  /** The Ordinal API's base URL, e.g. OrdinalStack's `apiUrl.url`, or `https://ordinal.example.com`. */
  readonly apiUrl: string;
  /**
   * The secret holding an API token with the write scope (`ordinal token create --scope write`): its
   * whole SecretString, or the value of `apiTokenField` in its JSON. Only its ARN is in the template;
   * the custom resource's function may read it (and nothing else).
   */
  readonly apiToken: secretsmanager.ISecret;
  /** The JSON key of the token in `apiToken`; default: the whole SecretString is the token. */
  readonly apiTokenField?: string;
  /** The set (its name is the resource's physical id: another name replaces the set). */
  readonly manifest: OrdinalSetManifest;
  /**
   * What happens to the set when the resource leaves the stack (stack deletion, replacement by a new
   * name): DESTROY deletes it (its volumes follow spec.persistentVolumeClaimRetentionPolicy, which
   * keeps them by default), RETAIN leaves it running, no longer managed. Default DESTROY.
   */
  readonly removalPolicy?: RemovalPolicy;
  /** Wait for the rollout (and fail the deployment when it fails). Default true. */
  readonly waitForRollout?: boolean;
  /**
   * How long the deployment waits for a rollout before it fails it (the set's progressDeadlineSeconds
   * usually decides first). Default 30 minutes, at most 55.
   */
  readonly rolloutTimeout?: Duration;
}

/** An Ordinal set, created, updated and deleted with the stack through the Ordinal API. */
export class OrdinalStatefulSet extends Construct {
  /** The set's name (the resource's physical id). */
  readonly setName: string;
  /** The set's generation after the deployment. */
  readonly generation: string;
  /** The update revision the deployment rolled out. */
  readonly updateRevision: string;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: OrdinalStatefulSetProps) {
    super(scope, id);
    const document = { apiVersion: API_VERSION, kind: KIND, ...props.manifest };
    checkManifest(document, this.node.path);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    if (removalPolicy !== RemovalPolicy.DESTROY && removalPolicy !== RemovalPolicy.RETAIN) {
      throw new Error(`${this.node.path}: removalPolicy must be RemovalPolicy.DESTROY or RemovalPolicy.RETAIN, got ${removalPolicy}`);
    }
    const rolloutTimeout = props.rolloutTimeout ?? Duration.seconds(DEFAULT_ROLLOUT_TIMEOUT_SECONDS);
    if (rolloutTimeout.toSeconds() < 1 || rolloutTimeout.toSeconds() > MAX_ROLLOUT_TIMEOUT.toSeconds()) {
      throw new Error(`${this.node.path}: rolloutTimeout must be from 1 second to ${MAX_ROLLOUT_TIMEOUT.toHumanString()}, got ${rolloutTimeout.toHumanString()}`);
    }

    const provider = OrdinalStatefulSetProvider.of(this);
    props.apiToken.grantRead(provider.role);
    const properties: StatefulSetResourceProperties = {
      ApiUrl: props.apiUrl,
      // A complete ARN when known; else the name (an imported secret's partial ARN is no secret id).
      ApiTokenSecretId: props.apiToken.secretFullArn ?? props.apiToken.secretName,
      ...(props.apiTokenField !== undefined && { ApiTokenField: props.apiTokenField }),
      Manifest: Stack.of(this).toJsonString(document),
      WaitForRollout: String(props.waitForRollout ?? true),
      RolloutTimeoutSeconds: String(rolloutTimeout.toSeconds()),
    };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::OrdinalStatefulSet',
      properties: properties as unknown as Record<string, unknown>,
      removalPolicy,
    });
    this.setName = this.resource.ref;
    this.generation = this.resource.getAttString('Generation');
    this.updateRevision = this.resource.getAttString('UpdateRevision');
  }
}

/**
 * Fails synth when the manifest is invalid, with every field and its rule, as the API would answer.
 * Values not known until deployment (tokens: another resource's attribute, a parameter) cannot be
 * checked here; the API checks them when the set is applied.
 */
export function checkManifest(document: Record<string, unknown>, where: string): void {
  const parsed = validateManifest(document);
  if (parsed.ok) return;
  const unknown = tokenPaths(document);
  const issues = parsed.issues.filter((issue) => !unknown.some((p) => issue.path === p || issue.path.startsWith(`${p}.`) || issue.path.startsWith(`${p}[`)));
  if (issues.length === 0) return;
  const name = (document.metadata as { name?: unknown } | undefined)?.name;
  throw new Error(`${where}: invalid manifest${typeof name === 'string' ? ` for set ${name}` : ''}:\n${issues.map(line).join('\n')}`);
}

function line(issue: FieldIssue): string {
  return `  ${issue.path || '(manifest)'}: ${issue.message}`;
}

/** The paths (as formatPath writes them) of the values that are unresolved tokens. */
function tokenPaths(value: unknown, at: Array<string | number> = []): string[] {
  if (Token.isUnresolved(value)) return [formatPath(at)];
  if (Array.isArray(value)) return value.flatMap((v, i) => tokenPaths(v, [...at, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => tokenPaths(v, [...at, k]));
  return [];
}

/** The custom resource provider: one per stack, shared by its sets. */
export class OrdinalStatefulSetProvider extends Construct {
  /** The id of the stack-wide singleton. */
  static readonly ID = 'OrdinalStatefulSetProvider';

  static of(scope: Construct): OrdinalStatefulSetProvider {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild(OrdinalStatefulSetProvider.ID) as OrdinalStatefulSetProvider | undefined) ?? new OrdinalStatefulSetProvider(stack, OrdinalStatefulSetProvider.ID);
  }

  readonly serviceToken: string;
  /** The role both handler functions run with: its logs, and the API token secrets granted to it. */
  readonly role: iam.Role;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    // Its own role rather than the managed AWSLambdaBasicExecutionRole (logs on "*"): its log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Ordinal sets (OrdinalStatefulSet): its logs, and reading the API token secrets',
    });
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'WriteLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    const handler = (name: 'onEvent' | 'isComplete', timeout: Duration): NodejsFunction =>
      new NodejsFunction(this, name === 'onEvent' ? 'OnEvent' : 'IsComplete', {
        entry: path.join(HERE, 'lambda.ts'),
        handler: name,
        projectRoot: REPO_ROOT,
        depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: 256,
        timeout,
        description: `Ordinal sets (OrdinalStatefulSet): ${name === 'onEvent' ? 'applies and deletes sets through the API' : 'waits for their rollouts'}`,
        logGroup,
        role: this.role,
        environment: { NODE_OPTIONS: '--enable-source-maps' },
        bundling: offlineEsmBundling(),
      });
    const onEvent = handler('onEvent', Duration.minutes(1));
    // isComplete polls for up to 40 s per call (handler.ts), its last request up to 30 s more; then the
    // framework calls it again.
    const isComplete = handler('isComplete', Duration.seconds(90));
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: onEvent,
      isCompleteHandler: isComplete,
      queryInterval: Duration.seconds(10),
      totalTimeout: Duration.hours(1),
      logGroup,
    });
    this.serviceToken = provider.serviceToken;
  }
}

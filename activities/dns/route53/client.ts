// A thin layer over @aws-sdk/client-route-53: find the hosted zone, list its records, apply change
// batches (retrying throttling with jittered backoff, isolating rejected changes so the rest lands),
// wait for INSYNC, and turn AWS errors into a code plus what to do about it.
//
// Configuration is the standard AWS one: the default credential chain (env, profile, SSO, instance or
// task role, web identity), AWS_REGION, and AWS_ENDPOINT_URL_ROUTE_53 / AWS_ENDPOINT_URL, which the SDK
// reads itself.
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ResourceRecordSet,
  type Route53ClientConfig,
} from '@aws-sdk/client-route-53';
import { normalizeName, type ChangeGroup } from './plan.js';

export interface RetryOptions {
  /** First backoff (default 200 ms); doubles per attempt up to maxMs, with jitter. */
  baseMs?: number;
  /** Longest backoff (default 10 s). */
  maxMs?: number;
  /** Give up (with a retryable error, so the caller retries later) after this long (default 2 min). */
  deadlineMs?: number;
}

export interface Route53Options {
  /** SDK client settings (endpoint, region, credentials...); the standard chain fills the rest. */
  client?: Route53ClientConfig;
  retry?: RetryOptions;
  /** GetChange polling: first pause (default 2 s), growing to maxMs (default 15 s). */
  poll?: { initialMs?: number; maxMs?: number };
  /** ListResourceRecordSets page size (default and Route 53's maximum: 300). */
  pageSize?: number;
  /** Called before each backoff, for logs and heartbeats. */
  onRetry?: (info: { operation: string; code: string; attempt: number; delayMs: number }) => void;
  /** Called after each API request (every attempt), for metrics: the operation and how it ended. */
  onRequest?: (info: { operation: string; outcome: 'ok' | 'throttled' | 'error' }) => void;
}

export interface ZoneTarget {
  /** The zone's DNS name, e.g. example.internal. */
  zone: string;
  /** Use this hosted zone (checked against `zone`) instead of looking it up by name. */
  hostedZoneId?: string;
  /** Choose the private (true) or public (false) zone when both have the name. */
  private?: boolean;
}

export interface HostedZoneRef {
  /** Without the `/hostedzone/` prefix. */
  id: string;
  /** Normalized: lowercase, no trailing dot. */
  name: string;
  private: boolean;
}

/** A change group Route 53 rejected, and why. */
export interface FailedGroup {
  group: ChangeGroup;
  code: string;
  message: string;
}

export interface BatchOutcome {
  applied: Array<{ changeId: string; groups: ChangeGroup[] }>;
  failed: FailedGroup[];
}

export type ChangeStatus = 'INSYNC' | 'PENDING';

/** What went wrong, with an AWS error code and what to do about it. Plain data across Temporal. */
export interface Route53ErrorInfo {
  code: string;
  message: string;
  hint: string;
  retryable: boolean;
}

export class Route53Error extends Error implements Route53ErrorInfo {
  override readonly name = 'Route53Error';
  constructor(
    readonly code: string,
    message: string,
    readonly hint: string,
    readonly retryable: boolean,
    /** For a rejected change batch: Route 53's message per offending change. */
    readonly messages: string[] = [],
  ) {
    super(message);
  }

  toInfo(): Route53ErrorInfo {
    return { code: this.code, message: this.message, hint: this.hint, retryable: this.retryable };
  }
}

/** A Route 53 client as Ordinal uses it; construct with createRoute53(). */
export class Route53 {
  private readonly retry: Required<RetryOptions>;
  private readonly poll: { initialMs: number; maxMs: number };

  constructor(
    readonly sdk: Route53Client,
    private readonly options: Route53Options = {},
  ) {
    this.retry = { baseMs: 200, maxMs: 10_000, deadlineMs: 120_000, ...options.retry };
    this.poll = { initialMs: 2_000, maxMs: 15_000, ...options.poll };
  }

  /**
   * The hosted zone for `target`. By id: checked to carry the zone's name. By name: ListHostedZonesByName
   * lists *from* a name in sorted order (it does not filter), so collect exact matches and stop at the
   * first other name; then choose public or private.
   */
  async findHostedZone(target: ZoneTarget): Promise<HostedZoneRef> {
    const want = normalizeName(target.zone);
    const kind = target.private === undefined ? '' : target.private ? ' (private)' : ' (public)';
    if (target.hostedZoneId) {
      const id = stripPrefix(target.hostedZoneId);
      const { HostedZone } = await this.call('GetHostedZone', () => this.sdk.send(new GetHostedZoneCommand({ Id: id })));
      const zone = { id, name: normalizeName(HostedZone?.Name ?? ''), private: HostedZone?.Config?.PrivateZone === true };
      if (zone.name !== want) {
        throw new Route53Error('HostedZoneMismatch', `hosted zone ${id} is ${zone.name}, not ${want}`, 'set dns.hostedZoneId to a zone named dns.zone, or omit it to find the zone by name', false);
      }
      if (target.private !== undefined && zone.private !== target.private) {
        throw new Route53Error('HostedZoneMismatch', `hosted zone ${id} (${want}) is ${zone.private ? 'private' : 'public'}, but dns.private is ${target.private}`, 'fix dns.private or dns.hostedZoneId', false);
      }
      return zone;
    }

    const found: HostedZoneRef[] = [];
    let next: { DNSName?: string; HostedZoneId?: string } = { DNSName: want };
    for (;;) {
      const page = await this.call('ListHostedZonesByName', () => this.sdk.send(new ListHostedZonesByNameCommand({ ...next, MaxItems: 100 })));
      let passed = false;
      for (const zone of page.HostedZones ?? []) {
        const name = normalizeName(zone.Name ?? '');
        if (name !== want) {
          passed = true;
          break;
        }
        found.push({ id: stripPrefix(zone.Id ?? ''), name, private: zone.Config?.PrivateZone === true });
      }
      if (passed || !page.IsTruncated) break;
      next = { DNSName: page.NextDNSName, HostedZoneId: page.NextHostedZoneId };
    }
    const matching = target.private === undefined ? found : found.filter((z) => z.private === target.private);
    if (matching.length === 0) {
      throw new Route53Error('HostedZoneNotFound', `no hosted zone named ${want}${kind}`, hostedZoneHint(found, target.private), false);
    }
    if (matching.length > 1) {
      const list = matching.map((z) => `${z.id} (${z.private ? 'private' : 'public'})`).join(', ');
      throw new Route53Error(
        'HostedZoneAmbiguous',
        `${matching.length} hosted zones named ${want}${kind}: ${list}`,
        target.private === undefined ? 'set dns.private or dns.hostedZoneId' : 'set dns.hostedZoneId',
        false,
      );
    }
    return matching[0];
  }

  /** Every record set of the zone, all pages. */
  async listRecordSets(zoneId: string): Promise<ResourceRecordSet[]> {
    const records: ResourceRecordSet[] = [];
    let start: { StartRecordName?: string; StartRecordType?: ResourceRecordSet['Type']; StartRecordIdentifier?: string } = {};
    for (;;) {
      const page = await this.call('ListResourceRecordSets', () =>
        this.sdk.send(new ListResourceRecordSetsCommand({ HostedZoneId: stripPrefix(zoneId), MaxItems: this.options.pageSize ?? 300, ...start })),
      );
      records.push(...(page.ResourceRecordSets ?? []));
      if (!page.IsTruncated) return records;
      start = { StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType, StartRecordIdentifier: page.NextRecordIdentifier };
    }
  }

  /**
   * Applies one batch (within Route 53's limits, see batchChanges). When Route 53 rejects it, the
   * groups its messages name are set aside as failed and the rest is tried again; when it names none,
   * the batch is split in halves: one bad change never blocks the others. Groups are never split, so
   * a record and its ownership TXT land together. Throws a Route53Error for anything else (access,
   * credentials, throttling past the deadline): nothing of the batch is lost, the caller retries.
   */
  async applyBatch(zoneId: string, groups: ChangeGroup[], comment?: string): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { applied: [], failed: [] };
    await this.isolate(stripPrefix(zoneId), groups, comment, outcome);
    return outcome;
  }

  private async isolate(zoneId: string, groups: ChangeGroup[], comment: string | undefined, outcome: BatchOutcome): Promise<void> {
    if (groups.length === 0) return;
    let rejection: Route53Error;
    try {
      const result = await this.call('ChangeResourceRecordSets', () =>
        this.sdk.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Comment: comment, Changes: groups.flatMap((g) => g.changes) } })),
      );
      outcome.applied.push({ changeId: stripPrefix(result.ChangeInfo?.Id ?? ''), groups });
      return;
    } catch (err) {
      if (!(err instanceof Route53Error) || !REJECTED_BATCH.has(err.code)) throw err;
      rejection = err;
    }
    const messages = rejection.messages.length > 0 ? rejection.messages : [rejection.message];
    if (groups.length === 1) {
      outcome.failed.push({ group: groups[0], code: rejection.code, message: messages.join('; ') });
      return;
    }
    const named = groups.filter((g) => messagesAbout(messages, g).length > 0);
    if (named.length > 0 && named.length < groups.length) {
      for (const group of named) outcome.failed.push({ group, code: rejection.code, message: messagesAbout(messages, group).join('; ') });
      await this.isolate(zoneId, groups.filter((g) => !named.includes(g)), comment, outcome);
      return;
    }
    const half = Math.ceil(groups.length / 2);
    await this.isolate(zoneId, groups.slice(0, half), comment, outcome);
    await this.isolate(zoneId, groups.slice(half), comment, outcome);
  }

  /**
   * Polls GetChange (with growing pauses) until every change is INSYNC or `deadline` (epoch ms)
   * passes; returns each change's last status.
   */
  async waitInSync(changeIds: ReadonlyArray<string>, deadline: number, onPoll?: () => void): Promise<Record<string, ChangeStatus>> {
    const status: Record<string, ChangeStatus> = {};
    for (const id of changeIds) status[stripPrefix(id)] = 'PENDING';
    let pause = this.poll.initialMs;
    for (;;) {
      for (const id of Object.keys(status).filter((i) => status[i] === 'PENDING')) {
        const { ChangeInfo } = await this.call('GetChange', () => this.sdk.send(new GetChangeCommand({ Id: id })));
        if (ChangeInfo?.Status === 'INSYNC') status[id] = 'INSYNC';
      }
      onPoll?.();
      const remaining = deadline - Date.now();
      if (Object.values(status).every((s) => s === 'INSYNC') || remaining <= 0) return status;
      await sleep(Math.min(pause, remaining));
      pause = Math.min(pause * 1.5, this.poll.maxMs);
    }
  }

  /** Runs one API call, retrying throttling and transient errors with jittered exponential backoff. */
  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.retry.deadlineMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await send();
        this.options.onRequest?.({ operation, outcome: 'ok' });
        return result;
      } catch (err) {
        const error = translateError(err);
        this.options.onRequest?.({ operation, outcome: isThrottling(err) ? 'throttled' : 'error' });
        if (!error.retryable) throw error;
        // Equal jitter: at least half the backoff, so retries spread out but still back off.
        const cap = Math.min(this.retry.maxMs, this.retry.baseMs * 2 ** (attempt - 1));
        const delayMs = Math.round(cap / 2 + (Math.random() * cap) / 2);
        if (Date.now() + delayMs > deadline) {
          throw new Route53Error(error.code, `${operation}: still failing after ${attempt} attempts: ${error.message}`, error.hint, true);
        }
        this.options.onRetry?.({ operation, code: error.code, attempt, delayMs });
        await sleep(delayMs);
      }
    }
  }
}

/** A Route53 on the standard AWS configuration, with Ordinal's own retries (the SDK's are off). */
export function createRoute53(options: Route53Options = {}): Route53 {
  const sdk = new Route53Client({
    // Route 53 is global: any region of the partition signs for it; us-east-1 unless configured.
    region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
    maxAttempts: 1,
    ...options.client,
  });
  return new Route53(sdk, options);
}

/** Route 53 rejected a change (or a value in it): isolate it. */
const REJECTED_BATCH = new Set(['InvalidChangeBatch', 'InvalidInput']);

const THROTTLED = new Set(['Throttling', 'ThrottlingException', 'PriorRequestNotComplete', 'RequestThrottled', 'TooManyRequestsException', 'RequestLimitExceeded']);
/** Whether an error from the SDK is Route 53 throttling the caller (translateError gives it the throttling hint). */
export function isThrottling(err: unknown): boolean {
  if (err instanceof Route53Error) return THROTTLED.has(err.code);
  const e = (err ?? {}) as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return THROTTLED.has(e.name ?? '') || (status === 400 && /rate exceeded/i.test(e.message ?? '')) || status === 429;
}
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH']);
const BAD_CREDENTIALS = new Set(['InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'IncompleteSignature', 'AuthFailure', 'InvalidAccessKeyId', 'MissingAuthenticationToken']);
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'TokenRefreshRequired']);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'NotAuthorizedException', 'UnauthorizedOperation']);

const PERMISSIONS =
  'route53:ListHostedZonesByName, route53:GetHostedZone, route53:ListResourceRecordSets, route53:ChangeResourceRecordSets (on the hosted zone) and route53:GetChange';

/** Any error from the SDK (or the network under it) as a Route53Error with a code and a hint. */
export function translateError(err: unknown): Route53Error {
  if (err instanceof Route53Error) return err;
  const e = (err ?? {}) as { name?: string; code?: string; message?: string; messages?: string[]; errors?: Array<{ code?: string }>; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const name = e.name ?? 'Error';
  const message = e.message || name;
  const status = e.$metadata?.httpStatusCode;
  const networkCode = e.code ?? e.errors?.find((x) => x.code)?.code;

  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new Route53Error(
      'CredentialsProviderError',
      `no AWS credentials: ${message}`,
      'give the worker AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an IAM role (instance profile, ECS task role, EKS web identity)',
      false,
    );
  }
  if (DENIED.has(name)) {
    return new Route53Error(name, message, `allow the worker's IAM principal ${PERMISSIONS}`, false);
  }
  if (name === 'NoSuchHostedZone') {
    return new Route53Error(name, message, 'check dns.hostedZoneId (a hosted zone of this AWS account), or omit it to find the zone by dns.zone', false);
  }
  if (BAD_CREDENTIALS.has(name)) {
    return new Route53Error(name, message, 'the AWS credentials are not valid: check the access key id and secret (or AWS_PROFILE) and the clock of this host', false);
  }
  if (EXPIRED.has(name)) {
    return new Route53Error(name, message, 'the AWS session credentials expired: renew them (aws sso login, or a fresh role session)', false);
  }
  if (isThrottling(err)) {
    return new Route53Error(
      name,
      message,
      "Route 53's request rate (shared by every client of the AWS account) is exhausted or a change of this zone is still being applied; Ordinal retries with backoff",
      true,
    );
  }
  if (REJECTED_BATCH.has(name)) {
    const messages = Array.isArray(e.messages) && e.messages.length > 0 ? e.messages : splitMessages(message);
    return new Route53Error(name, messages.join('; '), 'Route 53 rejected the change; the other changes were applied', false, messages);
  }
  if ((networkCode && NETWORK.has(networkCode)) || name === 'TimeoutError' || name === 'RequestTimeout') {
    return new Route53Error(
      networkCode ?? name,
      `cannot reach Route 53: ${message}`,
      'check network access to Route 53 (proxies, VPC endpoints) and AWS_ENDPOINT_URL_ROUTE_53 / AWS_ENDPOINT_URL if set',
      true,
    );
  }
  if ((status !== undefined && status >= 500) || name === 'ServiceUnavailable' || name === 'InternalFailure') {
    return new Route53Error(name, message, 'Route 53 had an internal error; Ordinal retries', true);
  }
  return new Route53Error(name, message, '', false);
}

function hostedZoneHint(found: HostedZoneRef[], wantPrivate: boolean | undefined): string {
  if (found.length > 0 && wantPrivate !== undefined) {
    return `there is a ${wantPrivate ? 'public' : 'private'} zone with this name (${found.map((z) => z.id).join(', ')}): fix dns.private`;
  }
  return 'create the hosted zone, or fix dns.zone / dns.hostedZoneId (and check that the credentials belong to the right AWS account)';
}

/** The Route 53 messages that name a record of `group` (its record set or its ownership TXT). */
function messagesAbout(messages: string[], group: ChangeGroup): string[] {
  const names = new Set(
    group.changes.map((c) => `${normalizeName(c.ResourceRecordSet?.Name ?? '')}|${c.ResourceRecordSet?.Type ?? ''}`),
  );
  return messages.filter((m) => {
    // AWS: "[name='x.example.com.', type='A']"; moto: "[Action=DELETE, Name=x.example.com., Type=A, ...]".
    for (const match of m.matchAll(/name='([^']*)',\s*type='([^']*)'|Name=([^,\]\s]+),\s*Type=([^,\]\s]+)/gi)) {
      const name = match[1] ?? match[3];
      const type = match[2] ?? match[4];
      if (names.has(`${normalizeName(name)}|${type.toUpperCase()}`)) return true;
    }
    return false;
  });
}

/**
 * Route 53 lists every problem of a batch in one message: "[Tried to create ... [name='a.', type='A']
 * but it already exists, Tried to delete ...]". One entry per problem.
 */
function splitMessages(message: string): string[] {
  const inner = /^\[(.*)\]$/s.exec(message.trim())?.[1] ?? message;
  return inner.split(/, (?=[A-Z])/).map((m) => m.trim()).filter((m) => m !== '');
}

function stripPrefix(id: string): string {
  return id.replace(/^\/?(hostedzone|change)\//, '');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// The custom resource behind OrdinalStatefulSet (construct.ts), as plain functions of a
// CloudFormation-shaped event, so tests call them against a real API without a Lambda runtime
// (lambda.ts is the thin Lambda entry). aws-cdk-lib's Provider framework calls onEvent once, then
// isComplete every few seconds until it answers IsComplete or throws; a throw fails the resource with
// its message and CloudFormation rolls back.
//
// - Create: PUT the manifest with If-Match "0" (a set that does not exist yet is at generation 0), so
//   an existing set, made outside this stack, is refused rather than taken over.
// - Update: the same name: first check that the set still has the spec this stack last applied (a dry
//   run of the previous manifest changes nothing), else refuse: it was changed outside CloudFormation
//   and would be overwritten. Then PUT with If-Match on the generation just read, so a change in
//   between is refused too (409). Another name: a new set, as Create (CloudFormation then deletes the
//   old one, per the removal policy).
// - Delete: DELETE, then wait until GET answers 404. The removal policy is CloudFormation's own
//   DeletionPolicy/UpdateReplacePolicy: with RETAIN no Delete ever reaches this handler.
// - isComplete after Create/Update: poll the set with the decisions of `ordinal rollout status`
//   (core/rollout.ts): done once every instance of the update revision is Ready and stable; failed
//   (thrown, with the reason) on a progress deadline exceeded, a crash loop, an automatic rollback or a
//   deletion, or when rolloutTimeoutSeconds pass.
import { DEFAULT_STABLE_FOR_MS, RolloutProgress } from '../../../core/rollout.js';
import type { SetView } from '../../../core/status.js';

/** The properties the construct gives the resource (CloudFormation passes every value as a string). */
export interface StatefulSetResourceProperties {
  /** The API's base URL, e.g. https://abc.lambda-url.eu-west-1.on.aws/ */
  ApiUrl: string;
  /** ARN or name of the Secrets Manager secret holding the API token; absent: requests carry no token. */
  ApiTokenSecretId?: string;
  /** The JSON key of the token in that secret; absent: the whole SecretString is the token. */
  ApiTokenField?: string;
  /** The manifest, JSON. */
  Manifest: string;
  /** 'false': do not wait for the rollout. */
  WaitForRollout?: string;
  /** The rollout fails after this long without finishing (seconds). */
  RolloutTimeoutSeconds?: string;
}

/** What onEvent receives (the Provider framework's OnEventRequest, the fields used here). */
export interface StatefulSetEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  LogicalResourceId?: string;
  /** The set's name, on Update and Delete. */
  PhysicalResourceId?: string;
  ResourceProperties: StatefulSetResourceProperties;
  OldResourceProperties?: StatefulSetResourceProperties;
}

/** The attributes the resource exposes (Fn::GetAtt), and what isComplete reads back. */
export interface StatefulSetData {
  Name: string;
  /** The set's generation after the change ('' after a Delete). */
  Generation: string;
  /** The update revision the change made: the rollout isComplete waits for. */
  UpdateRevision: string;
  /** When onEvent applied the change (ms since the epoch): rollbacks after it fail the rollout. */
  AppliedAt: string;
  /** 'true' when isComplete waits for a rollout (Create/Update with a change, unless WaitForRollout is 'false'). */
  WatchRollout: string;
}

export interface OnEventResult {
  PhysicalResourceId: string;
  Data: StatefulSetData;
}

export type IsCompleteEvent = StatefulSetEvent & OnEventResult;

export interface IsCompleteResult {
  IsComplete: boolean;
  Data?: Partial<StatefulSetData>;
}

export interface HandlerOptions {
  /** Reads a Secrets Manager secret's SecretString (infra/aws-secrets.ts in Lambda). */
  readSecret: (secretId: string) => Promise<string>;
  fetch?: typeof fetch;
  /** This host's clock, ms (a parameter for tests). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** How long one isComplete call polls before it answers "not yet" (its Lambda's timeout is longer). */
  pollBudgetMs?: number;
  pollIntervalMs?: number;
  /** How long each instance of the update revision must stay Ready (`rollout status --stable-for`). */
  stableForMs?: number;
  /** One request's limit. */
  requestTimeoutMs?: number;
}

/** Default RolloutTimeoutSeconds: the Provider's own limit is an hour, the set's progress deadline usually decides first. */
export const DEFAULT_ROLLOUT_TIMEOUT_SECONDS = 30 * 60;

/** The API answered with an error (its `{"error": {code, message}}` shape when it has one). */
export class OrdinalApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'OrdinalApiError';
  }
}

export function createStatefulSetHandler(options: HandlerOptions) {
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const pollBudgetMs = options.pollBudgetMs ?? 40_000;
  const pollIntervalMs = options.pollIntervalMs ?? 2_000;
  const stableForMs = options.stableForMs ?? DEFAULT_STABLE_FOR_MS;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;

  async function clientFor(props: StatefulSetResourceProperties): Promise<ApiClient> {
    if (!props.ApiUrl) throw new Error('the resource has no ApiUrl');
    let token: string | undefined;
    if (props.ApiTokenSecretId) token = tokenFromSecret(await options.readSecret(props.ApiTokenSecretId), props.ApiTokenSecretId, props.ApiTokenField);
    return new ApiClient(props.ApiUrl, token, fetchImpl, requestTimeoutMs);
  }

  async function onEvent(event: StatefulSetEvent): Promise<OnEventResult> {
    const props = event.ResourceProperties;
    const manifest = manifestOf(props);
    const name = manifest.metadata.name;
    const api = await clientFor(props);
    const result = (set: SetView, watch: boolean): OnEventResult => ({
      PhysicalResourceId: set.metadata.name,
      Data: {
        Name: set.metadata.name,
        Generation: String(set.metadata.generation),
        UpdateRevision: set.status?.updateRevision ?? '',
        AppliedAt: String(now()),
        WatchRollout: String(watch && props.WaitForRollout !== 'false'),
      },
    });

    if (event.RequestType === 'Delete') {
      const target = event.PhysicalResourceId ?? name;
      await api.deleteSet(target);
      return { PhysicalResourceId: target, Data: { Name: target, Generation: '', UpdateRevision: '', AppliedAt: String(now()), WatchRollout: 'false' } };
    }

    if (event.RequestType === 'Create' || event.PhysicalResourceId !== name) {
      // A new set, or a new name (CloudFormation deletes the old set afterwards). On a rollback of a
      // rename the set of the old name still exists with the manifest wanted: it is taken back.
      if (event.RequestType === 'Update') {
        const existing = await api.find(name);
        if (existing && (await api.wouldChange(name, manifest, existing.metadata.generation)) === false) return result(existing, true);
      }
      const created = await api.put(name, manifest, 0).catch((err: unknown) => {
        if (err instanceof OrdinalApiError && err.status === 409) {
          throw new Error(
            `set ${name} already exists in Ordinal (${api.baseUrl}): this stack did not create it and will not take it over; ` +
              `delete it ("ordinal delete ${name}") or give the resource another name`,
          );
        }
        throw err;
      });
      return result(created, true);
    }

    // Update of the same set.
    const live = await api.find(name);
    if (!live) {
      // Deleted outside CloudFormation: nothing to overwrite, so it is created again.
      return result(await api.put(name, manifest, 0), true);
    }
    const generation = live.metadata.generation;
    if ((await api.wouldChange(name, manifest, generation)) === false) return result(live, false);
    const previous = event.OldResourceProperties?.Manifest ? manifestOf(event.OldResourceProperties) : undefined;
    const autoRolledBack = !!live.status?.lastRollback && live.status.lastRollback.to === live.status.updateRevision;
    if (previous && !autoRolledBack && (await api.wouldChange(name, previous, generation)) !== false) {
      throw new Error(
        `set ${name} was changed outside CloudFormation (it is at generation ${generation} and its spec is no longer the one this stack applied): ` +
          'refusing to overwrite that change; put it into the stack, or apply the stack\'s manifest again by hand ("ordinal apply"), then deploy again',
      );
    }
    const updated = await api.put(name, manifest, generation).catch((err: unknown) => {
      if (err instanceof OrdinalApiError && err.status === 409) {
        throw new Error(`set ${name} changed while CloudFormation updated it (${err.message}): refusing to overwrite that change; deploy again`);
      }
      throw err;
    });
    return result(updated, true);
  }

  async function isComplete(event: IsCompleteEvent): Promise<IsCompleteResult> {
    const props = event.ResourceProperties;
    const name = event.PhysicalResourceId;
    const api = await clientFor(props);
    const data = event.Data;
    if (event.RequestType === 'Delete') {
      const deadline = now() + pollBudgetMs;
      for (;;) {
        if ((await api.find(name)) === undefined) return { IsComplete: true };
        if (now() + pollIntervalMs > deadline) return { IsComplete: false };
        await sleep(pollIntervalMs);
      }
    }
    if (data.WatchRollout !== 'true') return { IsComplete: true };

    const appliedAt = Number(data.AppliedAt);
    const timeoutMs = Number(props.RolloutTimeoutSeconds ?? DEFAULT_ROLLOUT_TIMEOUT_SECONDS) * 1000;
    const progress = new RolloutProgress(appliedAt, { stableForMs, initialUpdateRevision: data.UpdateRevision || undefined });
    const deadline = now() + pollBudgetMs;
    let waiting = '';
    for (;;) {
      const view = await api.find(name);
      if (!view) throw new Error(`rollout of ${name} failed: the set was deleted`);
      const { verdict } = progress.observe(view, now());
      if (verdict.state === 'failed') throw new Error(verdict.message);
      // A pause the manifest asks for is what it wants: the spec is applied, nothing more to wait for.
      if (verdict.state === 'done' || verdict.state === 'paused') {
        return { IsComplete: true, Data: { Generation: String(view.metadata.generation), UpdateRevision: view.status?.updateRevision ?? '' } };
      }
      waiting = `${verdict.waiting} (${verdict.summary})`;
      if (now() - appliedAt > timeoutMs) throw new Error(`rollout of ${name} did not finish within ${timeoutMs / 1000}s: ${waiting}`);
      if (now() + pollIntervalMs > deadline) return { IsComplete: false };
      await sleep(pollIntervalMs);
    }
  }

  return { onEvent, isComplete };
}

/** The manifest of the resource's properties (the construct validated it at synth time). */
function manifestOf(props: StatefulSetResourceProperties): { metadata: { name: string } } & Record<string, unknown> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(props.Manifest);
  } catch (err) {
    throw new Error(`the resource's Manifest is not JSON: ${(err as Error).message}`);
  }
  const name = (manifest as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  if (typeof name !== 'string' || name === '') throw new Error("the resource's Manifest has no metadata.name");
  return manifest as { metadata: { name: string } } & Record<string, unknown>;
}

/** The token in a secret: the whole SecretString, or the value of `field` in its JSON. */
export function tokenFromSecret(text: string, secretId: string, field?: string): string {
  if (!field) {
    if (text.trim() === '') throw new Error(`the API token secret ${secretId} is empty`);
    return text.trim();
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`the API token secret ${secretId} is not JSON, so it has no field ${field}`);
  }
  const token = (value as Record<string, unknown> | null)?.[field];
  if (typeof token !== 'string' || token.trim() === '') throw new Error(`the API token secret ${secretId} has no string field ${field}`);
  return token.trim();
}

/** The few calls the resource makes, over fetch (docs/api.md). */
class ApiClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly token: string | undefined,
    private readonly fetchImpl: typeof fetch,
    private readonly timeoutMs: number,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  /** PUT the manifest; `ifMatch` the generation it must be at (0: it must not exist). */
  async put(name: string, manifest: unknown, ifMatch: number, dryRun = false): Promise<SetView> {
    const { body } = await this.request('PUT', `${setPath(name)}${dryRun ? '?dryRun=true' : ''}`, { body: JSON.stringify(manifest), ifMatch });
    return body as SetView;
  }

  /**
   * Whether applying `manifest` would change the set's spec (a dry run: nothing changes). A dry run the
   * server refuses as invalid (e.g. an immutable field) counts as a change; a conflict (the set moved
   * on from `generation`) is thrown.
   */
  async wouldChange(name: string, manifest: unknown, generation: number): Promise<boolean> {
    try {
      const view = await this.put(name, manifest, generation, true);
      return view.metadata.generation !== generation;
    } catch (err) {
      if (err instanceof OrdinalApiError && err.status === 400) return true;
      throw err;
    }
  }

  async find(name: string): Promise<SetView | undefined> {
    try {
      return (await this.request('GET', setPath(name))).body as SetView;
    } catch (err) {
      if (err instanceof OrdinalApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** DELETE; a set already gone is fine. */
  async deleteSet(name: string): Promise<void> {
    try {
      await this.request('DELETE', setPath(name));
    } catch (err) {
      if (err instanceof OrdinalApiError && err.status === 404) return;
      throw err;
    }
  }

  private async request(method: string, path: string, options: { body?: string; ifMatch?: number } = {}): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.ifMatch !== undefined) headers['if-match'] = `"${options.ifMatch}"`;
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, { method, headers, body: options.body, signal: AbortSignal.timeout(this.timeoutMs) });
      text = await response.text();
    } catch (err) {
      throw new Error(`cannot reach the Ordinal API at ${this.baseUrl}: ${(err as Error).message}`, { cause: err });
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (response.ok) return { status: response.status, body };
    const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    if (error && typeof error.message === 'string') {
      const details = Array.isArray(error.details)
        ? error.details.map((d: { path?: unknown; message?: unknown }) => (d.path ? `${String(d.path)}: ${String(d.message)}` : String(d.message)))
        : [];
      const message = `${method} ${path}: ${response.status} ${String(error.code)}: ${error.message}${details.length ? ` (${details.join('; ')})` : ''}`;
      throw new OrdinalApiError(response.status, typeof error.code === 'string' ? error.code : String(response.status), message);
    }
    throw new OrdinalApiError(response.status, String(response.status), `${method} ${path}: the API answered ${response.status}: ${text.trim().slice(0, 200)}`);
  }
}

function setPath(name: string): string {
  return `/v1/sets/${encodeURIComponent(name)}`;
}

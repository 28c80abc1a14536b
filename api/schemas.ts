// The zod schemas of the API's parameters and responses. They validate requests (via zod-openapi) and
// generate the OpenAPI document, so the two cannot drift; the type checks at the bottom keep the
// response schemas honest against the core's SetView.
import { z } from '@hono/zod-openapi';
import type { EventReason, EventsView, SetEvent } from '../core/events.js';
import { getManifestSchema } from '../core/manifest.js';
import { DNS1123_LABEL, SET_NAME_MAX } from '../core/names.js';
import type { RolloutPreview } from '../core/rollout-preview.js';
import type { Condition, InstanceStatus, RevisionView, SetStatus, SetView } from '../core/status.js';
import { ERROR_CODES } from './errors.js';
import { DEFAULT_TAIL_LINES, MAX_TAIL_LINES } from './logs.js';
import type { SetEventItem } from './all-events.js';
import type { ReconcileView, ZoneView } from './zones.js';

/** Built once here: the API documents and validates with it from the start. */
const manifestSchema = getManifestSchema();

// ---- parameters ----

const setName = z
  .string()
  .max(SET_NAME_MAX, `must be at most ${SET_NAME_MAX} characters`)
  .regex(DNS1123_LABEL, "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit")
  .openapi({ param: { name: 'name', in: 'path' }, description: 'The set name: a DNS-1123 label of at most 52 characters.', example: 'web' });

export const SetParams = z.object({ name: setName });

export const InstanceParams = z.object({
  name: setName,
  // Nine digits at most keeps it a safe integer; no set has that many instances anyway.
  ordinal: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,8})$/, 'must be a non-negative integer in decimal, without sign or leading zeros')
    .openapi({ param: { name: 'ordinal', in: 'path' }, description: "The instance's ordinal.", example: '0' }),
});

/** A Route 53 hosted zone id as AWS prints it (Z0123456789ABC), or with its /hostedzone/ prefix (URL-encoded). */
export const HostedZoneParams = z.object({
  hostedZoneId: z
    .string()
    .regex(
      /^(?:\/hostedzone\/)?[A-Z0-9]{1,32}$/,
      'must be a Route 53 hosted zone id: uppercase letters and digits (e.g. Z0123456789ABC), optionally prefixed with /hostedzone/',
    )
    .openapi({
      param: { name: 'hostedZoneId', in: 'path' },
      description: 'The hosted zone id, e.g. Z0123456789ABC (a /hostedzone/ prefix, URL-encoded, is accepted).',
      example: 'Z0123456789ABC',
    }),
});

/** How much of an instance's log: the last `tail` lines. Decimal digits only, as the ordinal. */
export const LogsQuery = z.object({
  tail: z
    .string()
    .refine((text) => /^(0|[1-9][0-9]{0,4})$/.test(text) && Number(text) <= MAX_TAIL_LINES, `must be a whole number of lines from 0 to ${MAX_TAIL_LINES}`)
    .optional()
    .openapi({
      param: { name: 'tail', in: 'query' },
      type: 'integer',
      minimum: 0,
      maximum: MAX_TAIL_LINES,
      default: DEFAULT_TAIL_LINES,
      description: `How many of the last lines to return (default ${DEFAULT_TAIL_LINES}, at most ${MAX_TAIL_LINES}).`,
      example: 50,
    }),
});

/** The largest `since` of a set's events: 15 digits, so it stays a safe integer (no set records that many). */
export const MAX_EVENT_SEQ = 999_999_999_999_999;

/** A set's events after a seq: decimal digits only, as the ordinal. */
export const SetEventsQuery = z.object({
  since: z
    .string()
    .regex(
      /^(0|[1-9][0-9]{0,14})$/,
      `must be an event seq: a whole number from 0 to ${MAX_EVENT_SEQ} in decimal (the latestSeq of an earlier answer), e.g. 42`,
    )
    .optional()
    .openapi({
      param: { name: 'since', in: 'query' },
      type: 'integer',
      minimum: 0,
      maximum: MAX_EVENT_SEQ,
      description:
        'Only the events after this seq (the latestSeq of an earlier answer): recorded, or counted again, since. ' +
        'Without it, every event the set keeps.',
      example: '42',
    }),
});

/** RFC 3339 with a zone, as the events' own times: 2025-01-01T00:00:00Z, fractions and offsets allowed. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/** How many events GET /v1/events answers at most, by default and when asked (each set keeps at most 100). */
export const DEFAULT_EVENTS_LIMIT = 500;
export const MAX_EVENTS_LIMIT = 10_000;

/** Every set's events after a time (seqs are per set, so across sets a time is the resume point). */
export const EventsQuery = z.object({
  since: z
    .string()
    .refine((text) => RFC3339.test(text) && !Number.isNaN(Date.parse(text)), 'must be an RFC 3339 time with a zone, e.g. 2025-01-01T00:00:00Z')
    .optional()
    .openapi({
      param: { name: 'since', in: 'query' },
      format: 'date-time',
      description: 'Only the events whose lastTimestamp is after this time. Without it, every event every set keeps.',
      example: '2025-01-01T00:00:00Z',
    }),
  limit: z
    .string()
    .refine((text) => /^[1-9][0-9]{0,4}$/.test(text) && Number(text) <= MAX_EVENTS_LIMIT, `must be a whole number of events from 1 to ${MAX_EVENTS_LIMIT}`)
    .optional()
    .openapi({
      param: { name: 'limit', in: 'query' },
      type: 'integer',
      minimum: 1,
      maximum: MAX_EVENTS_LIMIT,
      default: DEFAULT_EVENTS_LIMIT,
      description: `At most this many events, the newest (default ${DEFAULT_EVENTS_LIMIT}, at most ${MAX_EVENTS_LIMIT}); truncated says whether older ones were left out.`,
      example: 100,
    }),
});

/** The values of dryRun: `true`, or `All` as Kubernetes spells it. Any other is refused, never taken as false. */
export const DRY_RUN_VALUES = ['true', 'All'] as const;

/** PUT and PATCH of a set: `?dryRun=true` checks and answers what the set would become, changing nothing. */
export const DryRunQuery = z.object({
  dryRun: z
    .enum(DRY_RUN_VALUES, { error: `must be ${DRY_RUN_VALUES.map((v) => `'${v}'`).join(' or ')} (or be left out)` })
    .optional()
    .openapi({
      param: { name: 'dryRun', in: 'query' },
      description:
        "Dry run: 'true' (or 'All', Kubernetes' spelling) runs every check the request would meet and answers the set as it would " +
        'become, with the same status code, and the header Ordinal-Dry-Run: true; nothing is changed and no workflow is started.',
      example: 'true',
    }),
});

/** Optimistic concurrency: the generation the client last read, as its ETag ("3") or bare (3). */
export const IfMatchHeaders = z.object({
  'if-match': z
    .string()
    .regex(/^(?:"(0|[1-9][0-9]{0,14})"|(0|[1-9][0-9]{0,14}))$/, 'must be a set generation, as its ETag ("3") or bare (3)')
    .optional()
    .openapi({
      param: { name: 'if-match', in: 'header' },
      description: 'Apply only if the set is still at this generation (the ETag of a GET); 409 otherwise.',
      example: '"3"',
    }),
});

/** The generation an If-Match header names, or undefined without one (the header is validated already). */
export function generationFromIfMatch(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value.replaceAll('"', ''));
}

// ---- request bodies ----

/**
 * zod 4 attaches methods to each schema instance when it is built, so a core schema built before
 * @hono/zod-openapi extended zod has no `.openapi()`; a clone made now does. Parsing is unchanged.
 */
function documented<T extends z.ZodType>(schema: T): T {
  return schema.meta({}) as T;
}

/**
 * The manifest as a document component: the same zod schema the core validates with. Routes refer to
 * it by $ref instead of embedding the zod schema, so zod-openapi does not parse the body itself (the
 * API reads JSON and YAML with the core's decoder, which reports positions and enforces limits).
 */
export const ManifestComponent = documented(manifestSchema)
  .openapi({
    description: 'A StatefulSet manifest. On PUT, metadata.name may be omitted; it defaults to the name in the path.',
  });

/**
 * The Manifest component as PUT takes it: metadata, and metadata.name, may be left out (the path names
 * the set). Documented so, or a fuzzer would take a manifest without them for an invalid one.
 */
export function putManifestDocument(component: Record<string, any>): Record<string, any> {
  const metadata = component.properties?.metadata;
  if (!metadata) return component;
  return {
    ...component,
    required: (component.required ?? []).filter((field: string) => field !== 'metadata'),
    properties: {
      ...component.properties,
      metadata: { ...metadata, required: (metadata.required ?? []).filter((field: string) => field !== 'name') },
    },
  };
}
export const manifestRef = { $ref: '#/components/schemas/Manifest' } as const;

export const mergePatchBody = {
  type: 'object',
  description: 'A JSON merge patch (RFC 7386) of the manifest: objects merge, null removes a field, anything else replaces.',
  example: { spec: { replicas: 5 } },
} as const;

/** The body of a reconcile; optional, and strict: a misspelt dryRun must not turn a dry run into a real one. */
export const ReconcileRequestSchema = z
  .object({
    dryRun: z.boolean().optional().openapi({ description: 'Only plan: return what would be done and change nothing (default false).' }),
  })
  .strict()
  .openapi('ReconcileRequest');

// ---- responses ----

const count = z.number().int().min(0);
const timestamp = z.string().openapi({ format: 'date-time' });

export const FieldIssueSchema = z
  .object({
    path: z.string().openapi({ description: 'Dotted path of the field, e.g. spec.template.ports[0].port; "" for the whole request.' }),
    message: z.string(),
  })
  .openapi('FieldIssue');

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      details: z.array(FieldIssueSchema),
    }),
  })
  .openapi('Error');

export const HealthSchema = z.object({ status: z.literal('ok') }).openapi('Health');

export const InstanceStatusSchema = z
  .object({
    name: z.string().openapi({ example: 'web-0' }),
    ordinal: count,
    address: z.string().nullable().openapi({ description: 'Where the instance listens; null until it is created.' }),
    dnsName: z.string().openapi({ example: 'web-0.web.ordinal.internal' }),
    phase: z.enum(['Pending', 'Running', 'Failed', 'Terminating', 'CrashLoopBackOff']),
    ready: z.boolean(),
    restarts: count,
    revision: z.string(),
    incarnation: count,
    startedAt: timestamp.nullable().openapi({ description: 'When the current process started; null without one.' }),
    readySince: timestamp.nullable().openapi({ description: 'When it last became Ready; null while not Ready.' }),
    available: z.boolean().openapi({ description: 'Ready for at least minReadySeconds.' }),
    cordoned: z.boolean().openapi({ description: 'Out of the service records, kept running.' }),
    lastError: z.string().optional(),
    nextRestartAt: timestamp.optional(),
  })
  .openapi('InstanceStatus');

export const ConditionSchema = z
  .object({
    type: z.enum(['Ready', 'Progressing', 'Available', 'ReplicaFailure', 'DNSReady', 'DNSConflict']),
    status: z.enum(['True', 'False', 'Unknown']),
    reason: z.string(),
    message: z.string(),
  })
  .openapi('Condition');

export const SetStatusSchema = z
  .object({
    phase: z.enum(['Pending', 'Progressing', 'Ready', 'Degraded', 'Paused', 'Deleting']),
    observedGeneration: count,
    replicas: count,
    readyReplicas: count,
    availableReplicas: count,
    currentReplicas: count,
    updatedReplicas: count,
    currentRevision: z.string().nullable(),
    updateRevision: z.string().nullable(),
    conditions: z.array(ConditionSchema),
    instances: z.array(InstanceStatusSchema),
    lastRollback: z
      .object({ from: z.string(), to: z.string(), at: timestamp, reason: z.string() })
      .optional()
      .openapi({ description: 'The last automatic rollback (autoRollback).' }),
    dns: z
      .object({
        provider: z.enum(['embedded', 'route53']),
        zone: z.string(),
        propagating: z.array(z.string()).openapi({ description: 'Names whose change the provider has not confirmed as propagated yet.' }),
        conflicts: z
          .array(z.object({ name: z.string(), type: z.string(), reason: z.string() }))
          .openapi({ description: 'Names the set wants that someone else holds: never overwritten.' }),
      })
      .openapi({ description: 'Where the names are published and what is not settled there yet.' }),
  })
  .openapi('SetStatus');

export const SetMetadataSchema = z
  .object({
    name: z.string(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    generation: count.openapi({ description: 'Increments on every spec change; the ETag of the set.' }),
    creationTimestamp: timestamp.nullable(),
    deletionRequested: z.boolean().optional(),
  })
  .openapi('SetMetadata');

/** The instance template as the core validates it: one component, shared by the spec and the revisions. */
export const TemplateSchema = documented(manifestSchema.in.shape.spec.shape.template).openapi('Template');

/** The spec as the core validates it (defaults are filled in responses); its template is the Template component. */
export const SetSpecSchema = documented(manifestSchema.in.shape.spec).extend({ template: TemplateSchema }).openapi('SetSpec');

export const SetSchema = z
  .object({
    apiVersion: manifestSchema.in.shape.apiVersion,
    kind: manifestSchema.in.shape.kind,
    metadata: SetMetadataSchema,
    spec: SetSpecSchema,
    status: SetStatusSchema,
  })
  .openapi('Set');

export const SetListSchema = z.object({ items: z.array(SetSchema) }).openapi('SetList');
export const InstanceListSchema = z.object({ items: z.array(InstanceStatusSchema) }).openapi('InstanceList');

export const RevisionSchema = z
  .object({
    name: z.string().openapi({ description: 'Named from a hash of the template.', example: 'web-83eefc881f' }),
    revision: z
      .number()
      .int()
      .min(1)
      .openapi({ description: '1, 2, 3 ... in order of (re)introduction; a template rolled back to gets the next number.', example: 3 }),
    generation: count.openapi({ description: 'The set generation that introduced (or last reintroduced) it.' }),
    createdAt: timestamp.openapi({ description: 'When it was (re)introduced.' }),
    current: z.boolean().openapi({ description: "It is the set's currentRevision." }),
    update: z.boolean().openapi({ description: "It is the set's updateRevision: the template of the spec." }),
    replicas: count.openapi({ description: 'Running instances on it now.' }),
    template: TemplateSchema,
  })
  .openapi('Revision');

export const RevisionListSchema = z.object({ items: z.array(RevisionSchema) }).openapi('RevisionList', { description: 'Newest first.' });

// ---- events ----

const EVENT_REASONS = [
  'Created',
  'Started',
  'Ready',
  'NotReady',
  'LivenessFailed',
  'Exited',
  'CreateFailed',
  'BackOff',
  'Stopping',
  'Stopped',
  'Adopted',
  'Cordoned',
  'Uncordoned',
  'DNSPublished',
  'DNSWithdrawn',
  'DNSConflict',
  'DNSError',
  'Scaled',
  'RolloutStarted',
  'RolloutProgressed',
  'RolloutCompleted',
  'RolloutPaused',
  'RolloutResumed',
  'RolledBack',
  'ProgressDeadlineExceeded',
  'DeletionRequested',
] as const satisfies readonly EventReason[];

export const SetEventSchema = z
  .object({
    seq: count.openapi({
      description: "Increases with every event recorded or counted again, over the set's life: send the last one seen back as ?since=.",
      example: 42,
    }),
    type: z.enum(['Normal', 'Warning']),
    reason: z.enum(EVENT_REASONS).openapi({ example: 'Exited' }),
    message: z.string().openapi({ example: 'the process was killed by signal SIGKILL' }),
    instance: z.string().optional().openapi({ description: "The instance it concerns; absent for the set's own events.", example: 'web-1' }),
    ordinal: count.optional(),
    incarnation: count.optional().openapi({ description: "The instance's incarnation it concerns, when one does." }),
    count: z.number().int().min(1).openapi({ description: 'How many times it happened: a repeat within 10 minutes is counted here, not recorded again.' }),
    firstTimestamp: timestamp,
    lastTimestamp: timestamp,
  })
  .openapi('Event', { description: 'One event, as Kubernetes records them: what happened to the set or one of its instances.' });

export const SetEventListSchema = z
  .object({
    latestSeq: count.openapi({ description: 'The last seq given out: the ?since= of the next read to see only what is new.' }),
    oldestSeq: count
      .optional()
      .openapi({ description: 'The oldest seq still kept (absent when none): a reader whose since is below oldestSeq - 1 has missed events.' }),
    items: z.array(SetEventSchema).openapi({ description: 'Oldest first (by seq).' }),
  })
  .openapi('SetEventList', { description: 'A set keeps its last 100 events.' });

export const EventListSchema = z
  .object({
    items: z.array(SetEventSchema.extend({ set: z.string().openapi({ description: 'The set it happened to.', example: 'web' }) }).openapi('EventItem', { description: 'An Event with the set it happened to.' })),
    truncated: z.boolean().openapi({ description: 'Older events were left out to keep to ?limit= (ask with a later ?since= or a larger limit).' }),
  })
  .openapi('EventList', { description: "Every set's events, newest last (by lastTimestamp)." });

// ---- rollout preview ----

export const RolloutStepSchema = z
  .object({
    action: z.enum(['create', 'replace', 'remove']).openapi({
      description: 'create: a new ordinal starts; replace: the instance is stopped and started again on toRevision; remove: its ordinal goes.',
    }),
    instances: z.array(z.string()).openapi({ description: 'The instances of the step, which change at once.', example: ['web-2'] }),
    ordinals: z.array(count),
    fromRevision: z.string().optional().openapi({ description: 'replace: the revision they ran.' }),
    toRevision: z.string().optional().openapi({ description: 'create and replace: the revision they run after.' }),
  })
  .openapi('RolloutStep');

export const RolloutPreviewSchema = z
  .object({
    set: SetSchema.openapi({ description: 'The set as the apply would answer it.' }),
    created: z.boolean().openapi({ description: 'The apply would create the set.' }),
    changed: z.boolean().openapi({ description: 'The apply would change the spec (a new generation).' }),
    fromRevision: z.string().optional().openapi({ description: 'The update revision now; absent for a new set.' }),
    toRevision: z.string().openapi({ description: 'The update revision after the apply.' }),
    steps: z.array(RolloutStepSchema).openapi({ description: 'In order, as the planner would take them with every instance Ready at once.' }),
    constraints: z.array(z.string()).openapi({ description: 'What shaped the steps: policy, partition, maxUnavailable, paused, OnDelete, minReadySeconds.' }),
    kept: z
      .array(z.object({ instance: z.string(), revision: z.string() }))
      .openapi({ description: 'Instances left on another revision than toRevision (partition, paused, OnDelete).' }),
    dns: z
      .object({ added: z.array(z.string()), removed: z.array(z.string()) })
      .openapi({ description: 'DNS record names and types ("web-3.web.ordinal.internal A") that would appear or go.' }),
    complete: z.boolean().openapi({ description: 'False when the preview gave up before the rollout settled.' }),
  })
  .openapi('RolloutPreview', { description: "What an apply would do: the would-be set and the rollout's steps. Nothing is changed." });

// ---- Route 53 zones ----

export const Route53ErrorSchema = z
  .object({
    code: z.string().openapi({ description: 'The AWS error code (or Ordinal\'s, e.g. HostedZoneNotFound).', example: 'AccessDenied' }),
    message: z.string(),
    hint: z.string().openapi({ description: 'What to do about it; may be empty.' }),
    retryable: z.boolean(),
  })
  .openapi('Route53Error');

export const Route53ConflictSchema = z
  .object({
    set: z.string().openapi({ description: 'The set that wants the name.' }),
    name: z.string(),
    type: z.string().openapi({ example: 'A' }),
    reason: z.string(),
  })
  .openapi('Route53Conflict', { description: 'A name a set wants that someone else holds: never overwritten.' });

export const ReconcileSummarySchema = z
  .object({
    at: timestamp.openapi({ description: 'When the reconcile started.' }),
    dryRun: z.boolean(),
    text: z.string().openapi({
      description: 'The plan, for people: a head line, then one line per change (and conflict); "no changes" when the zone is as wanted.',
    }),
    planned: count.openapi({ description: 'Changes planned (a record with its ownership record counts once).' }),
    applied: count.openapi({ description: 'Changes applied: 0 in a dry run.' }),
    conflicts: z.array(Route53ConflictSchema),
    vanished: z.array(z.string()).openapi({ description: 'Sets that no longer exist whose owned records were (or would be) deleted.' }),
    error: Route53ErrorSchema.optional().openapi({ description: 'The reconcile could not run (credentials, access, zone).' }),
  })
  .openapi('ReconcileSummary');

export const FlushSummarySchema = z
  .object({
    at: timestamp,
    sets: z.array(z.string()),
    applied: count,
    conflicts: count,
    failed: count,
    changeIds: z.array(z.string()),
    durationMs: count,
  })
  .openapi('FlushSummary', { description: "The publisher's last flush: the sets' changes gathered into a few change batches." });

export const Route53ZoneSchema = z
  .object({
    hostedZoneId: z.string().openapi({ example: 'Z0123456789ABC' }),
    zone: z.string().openapi({ example: 'example.internal' }),
    sets: z.array(z.string()).openapi({ description: 'The sets with records (or records being removed) in this zone.' }),
    pending: z.array(z.string()).openapi({ description: 'Sets waiting for the next flush (new changes, or a retry after a failed flush).' }),
    lastFlush: FlushSummarySchema.optional(),
    lastReconcile: ReconcileSummarySchema.optional(),
    lastError: Route53ErrorSchema.extend({ at: timestamp })
      .optional()
      .openapi({ description: 'Why the last flush or reconcile could not run; gone after the next successful flush.' }),
  })
  .openapi('Route53Zone', { description: 'A hosted zone Ordinal publishes to, with its durable publisher (route53-zone/<hostedZoneId>).' });

export const Route53ZoneListSchema = z.object({ items: z.array(Route53ZoneSchema) }).openapi('Route53ZoneList');

// Compile-time checks: whatever the core returns must fit the documented schemas (schemathesis checks
// responses against the document), and the documented status must not promise more than the core has.
type Assignable<From, To> = [From] extends [To] ? true : false;
const viewFitsSchema: Assignable<SetView, z.infer<typeof SetSchema>> = true;
const statusMatches: Assignable<SetStatus, z.infer<typeof SetStatusSchema>> & Assignable<z.infer<typeof SetStatusSchema>, SetStatus> = true;
const instanceMatches: Assignable<InstanceStatus, z.infer<typeof InstanceStatusSchema>> &
  Assignable<z.infer<typeof InstanceStatusSchema>, InstanceStatus> = true;
const conditionMatches: Assignable<Condition, z.infer<typeof ConditionSchema>> & Assignable<z.infer<typeof ConditionSchema>, Condition> = true;
const revisionMatches: Assignable<RevisionView, z.infer<typeof RevisionSchema>> & Assignable<z.infer<typeof RevisionSchema>, RevisionView> = true;
const zoneMatches: Assignable<ZoneView, z.infer<typeof Route53ZoneSchema>> & Assignable<z.infer<typeof Route53ZoneSchema>, ZoneView> = true;
const reconcileMatches: Assignable<ReconcileView, z.infer<typeof ReconcileSummarySchema>> &
  Assignable<z.infer<typeof ReconcileSummarySchema>, ReconcileView> = true;
const previewFitsSchema: Assignable<RolloutPreview, z.infer<typeof RolloutPreviewSchema>> = true;
const eventMatches: Assignable<SetEvent, z.infer<typeof SetEventSchema>> & Assignable<z.infer<typeof SetEventSchema>, SetEvent> = true;
const eventsMatch: Assignable<EventsView, z.infer<typeof SetEventListSchema>> & Assignable<z.infer<typeof SetEventListSchema>, EventsView> = true;
const eventItemsMatch: Assignable<SetEventItem[], z.infer<typeof EventListSchema>['items']> = true;
void [eventMatches, eventsMatch, eventItemsMatch, previewFitsSchema, viewFitsSchema, statusMatches, instanceMatches, conditionMatches, revisionMatches, zoneMatches, reconcileMatches];

// The HTTP contract (docs/api.md) as zod-openapi routes, grouped by resource: each resource's app
// (api/*-app.ts) attaches the handlers, api/app.ts mounts it, and the OpenAPI document is generated
// from these same definitions. A route's path is relative to where its resource is mounted.
import { createRoute, z } from '@hono/zod-openapi';
import {
  DryRunQuery,
  ErrorSchema,
  EventListSchema,
  EventsQuery,
  HealthSchema,
  HostedZoneParams,
  IfMatchHeaders,
  InstanceListSchema,
  InstanceParams,
  LogsQuery,
  ReconcileRequestSchema,
  ReconcileSummarySchema,
  RevisionListSchema,
  RolloutPreviewSchema,
  Route53ZoneListSchema,
  SetEventListSchema,
  SetEventsQuery,
  SetListSchema,
  SetParams,
  SetSchema,
  manifestRef,
  mergePatchBody,
} from './schemas.js';

const json = <T>(schema: T) => ({ 'application/json': { schema } });

const error = (description: string) => ({ description, content: json(ErrorSchema) });
const invalid = error('Invalid request: path parameter, header or body (see error.details).');
const notFound = error('The set (or instance) does not exist.');
const conflict = error('The set changed meanwhile (If-Match or a concurrent update) or is being deleted.');
const tooLarge = error('The body is larger than the limit.');
const unsupported = error('The Content-Type is not one this operation accepts.');
const internal = error('Unexpected server error.');
const unauthenticated = {
  ...error('Authentication is enabled and the request has no valid bearer token (missing, malformed, unknown or revoked).'),
  headers: z.object({ 'WWW-Authenticate': z.string().openapi({ description: 'Bearer realm="ordinal" (with error="invalid_token" for a token that is not valid).' }) }),
};
const forbidden = {
  ...error("The token lacks the scope: reads (GET) need read, changes (PUT, PATCH, DELETE, POST) need write."),
  headers: z.object({ 'WWW-Authenticate': z.string().openapi({ description: 'Bearer realm="ordinal", error="insufficient_scope", scope="<the scope needed>".' }) }),
};
/** Every route but /healthz and /openapi.json: 401 and 403 when authentication is enabled. */
const auth = { 401: unauthenticated, 403: forbidden };
/** Routes anyone may call, with or without a token. */
const open: { security: Array<Record<string, string[]>> } = { security: [] };
const unavailable = error('Temporal or the Ordinal worker did not answer.');

/** A /v1 route's answers: its own, and those every one can give: 401 and 403 (auth), 500 and 503. */
function v1Responses<R extends object>(own: R) {
  return { ...auth, ...own, 500: internal, 503: unavailable };
}
/** A route of one set (or of one of its instances): 400 for an invalid path, 404 for a set that does not exist. */
function setScopedResponses<R extends object>(own: R) {
  return v1Responses({ 400: invalid, 404: notFound, ...own });
}

const etag = z.object({ ETag: z.string().openapi({ description: 'The set generation, quoted: "3". Send it back as If-Match.' }) });
const setResponse = (description: string) => ({ description, headers: etag, content: json(SetSchema) });
/** A PUT's or PATCH's answer: with dryRun, the set as it would become (and its would-be ETag), marked as such. */
const applied = etag.extend({
  'Ordinal-Dry-Run': z
    .string()
    .optional()
    .openapi({ description: "'true' when the request was a dry run (dryRun): nothing was changed; the body and ETag are what the set would become." }),
});
const appliedResponse = (description: string) => ({ description, headers: applied, content: json(SetSchema) });

// ---- health: mounted at / ----

export const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  summary: 'Whether the API can reach Temporal (no token needed)',
  ...open,
  responses: { 200: { description: 'Temporal answers.', content: json(HealthSchema) }, 500: internal, 503: unavailable },
});

// ---- sets: mounted at /v1/sets ----

export const putSetRoute = createRoute({
  method: 'put',
  path: '/{name}',
  summary: 'Create or update a set from a manifest (JSON or YAML)',
  request: {
    params: SetParams,
    query: DryRunQuery,
    headers: IfMatchHeaders,
    body: {
      required: true,
      description: 'The manifest. YAML is read with Content-Type application/yaml (also application/x-yaml, text/yaml).',
      content: { 'application/json': { schema: manifestRef }, 'application/yaml': { schema: manifestRef } },
    },
  },
  responses: v1Responses({
    200: appliedResponse('Updated (with dryRun: would be updated, or is unchanged).'),
    201: {
      description: 'Created (with dryRun: would be created).',
      headers: applied.extend({ Location: z.string().openapi({ description: 'The URL of the set.' }) }),
      content: json(SetSchema),
    },
    400: error(
      'Invalid request: every problem of the path parameter, dryRun, If-Match header and manifest at once, each with its field path, in error.details ' +
        '(BadRequest when the path parameter, dryRun or If-Match is among them, else InvalidManifest).',
    ),
    409: conflict,
    413: tooLarge,
    415: unsupported,
  }),
});

export const listSetsRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'All sets, by name',
  responses: v1Responses({ 200: { description: 'The sets.', content: json(SetListSchema) } }),
});

export const getSetRoute = createRoute({
  method: 'get',
  path: '/{name}',
  summary: 'One set: metadata (with generation), spec and status',
  request: { params: SetParams },
  responses: setScopedResponses({ 200: setResponse('The set.') }),
});

export const patchSetRoute = createRoute({
  method: 'patch',
  path: '/{name}',
  summary: 'Change a set with a JSON merge patch of its manifest, e.g. {"spec": {"replicas": 5}}',
  request: {
    params: SetParams,
    query: DryRunQuery,
    headers: IfMatchHeaders,
    body: {
      required: true,
      content: { 'application/merge-patch+json': { schema: mergePatchBody }, 'application/json': { schema: mergePatchBody } },
    },
  },
  responses: setScopedResponses({ 200: appliedResponse('The patched set (with dryRun: as it would be).'), 409: conflict, 413: tooLarge, 415: unsupported }),
});

export const deleteSetRoute = createRoute({
  method: 'delete',
  path: '/{name}',
  summary: 'Delete a set: instances go highest ordinal first, their DNS records with them',
  request: { params: SetParams },
  responses: setScopedResponses({ 202: { description: 'Deletion started; GET answers 404 once it is done.', content: json(SetSchema) } }),
});

export const listInstancesRoute = createRoute({
  method: 'get',
  path: '/{name}/instances',
  summary: "A set's instances, by ordinal",
  request: { params: SetParams },
  responses: setScopedResponses({ 200: { description: 'The instances.', content: json(InstanceListSchema) } }),
});

export const deleteInstanceRoute = createRoute({
  method: 'delete',
  path: '/{name}/instances/{ordinal}',
  summary: 'Stop an instance; it is recreated under the same name',
  request: { params: InstanceParams },
  responses: setScopedResponses({ 202: { description: 'The instance is being recreated.', content: json(SetSchema) }, 409: conflict }),
});

export const listRevisionsRoute = createRoute({
  method: 'get',
  path: '/{name}/revisions',
  summary: "A set's revisions (its templates over time), newest first, with their numbers and which is current and update",
  request: { params: SetParams },
  responses: setScopedResponses({ 200: { description: 'The revisions, newest first.', content: json(RevisionListSchema) } }),
});

export const previewSetRoute = createRoute({
  method: 'post',
  path: '/{name}/preview',
  summary: 'Preview an apply: the would-be set and the rollout it would start, step by step (create, replace, remove), changing nothing',
  description:
    'The same checks as PUT, then the planner run on a copy of the set as if every instance became Ready at once and nothing failed. ' +
    'A set that does not exist is previewed as a new one. Needs the write scope, as a dry-run PUT.',
  request: {
    params: SetParams,
    headers: IfMatchHeaders,
    body: {
      required: true,
      description: 'The manifest, as for PUT. YAML is read with Content-Type application/yaml (also application/x-yaml, text/yaml).',
      content: { 'application/json': { schema: manifestRef }, 'application/yaml': { schema: manifestRef } },
    },
  },
  responses: v1Responses({
    200: { description: 'The preview.', content: json(RolloutPreviewSchema) },
    400: error('Invalid request: the path parameter, If-Match header or manifest (see error.details).'),
    409: conflict,
    413: tooLarge,
    415: unsupported,
  }),
});

const cordonResponses = (done: string) => setScopedResponses({ 200: setResponse(done), 409: error('The set is being deleted.') });

export const cordonInstanceRoute = createRoute({
  method: 'put',
  path: '/{name}/instances/{ordinal}/cordon',
  summary: "Cordon an instance: out of the service's A and SRV records, its own name kept, kept running",
  request: { params: InstanceParams },
  responses: cordonResponses('The instance is cordoned (cordoning twice is the same as once).'),
});

export const uncordonInstanceRoute = createRoute({
  method: 'delete',
  path: '/{name}/instances/{ordinal}/cordon',
  summary: "Uncordon an instance: back in the service's records once Ready",
  request: { params: InstanceParams },
  responses: cordonResponses('The instance is not cordoned (any more).'),
});

// ---- the watch stream: mounted at /v1/sets ----

export const WatchQuery = z.object({
  since: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, 'must be an event seq: a whole number')
    .optional()
    .openapi({
      param: { name: 'since', in: 'query' },
      type: 'integer',
      minimum: 0,
      description: 'The resume token: the last event id seen. The stream sends the events after it (0: every event kept). Last-Event-ID takes precedence.',
    }),
});

export const WatchHeaders = z.object({
  'last-event-id': z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, 'must be an event seq: a whole number')
    .optional()
    .openapi({ description: 'The resume token, as EventSource sends it on reconnect: the last event id seen.' }),
});

const WATCH_STREAM_DESCRIPTION = [
  'A stream of server-sent events (text/event-stream):',
  '',
  '- `event: set`, data: the set (as GET /v1/sets/{name}): the first message, then one on every change of the set.',
  '- `event: event`, `id: <seq>`, data: a SetEvent: every event after the resume token, in seq order, then every new one. Without a token, only events recorded after connecting.',
  '- `event: gone`, data: {"oldestSeq": n, "message": "..."}: the resume token is older than the events kept; some were lost.',
  '- `event: deleted`, data: {"name": "..."}: the set is gone; the stream ends.',
  '- `event: error`, data: {"reason": "...", "message": "..."}: the stream ends, e.g. reason SlowClient (the client did not read fast enough).',
  '- `: heartbeat`: a comment line every 15 s.',
  '',
  'Reconnect with the last event id (Last-Event-ID or ?since=) to miss nothing still kept.',
].join('\n');

export const watchSetRoute = createRoute({
  method: 'get',
  path: '/{name}/watch',
  summary: "Watch a set: its current state, then every change and every new event, as server-sent events",
  description: WATCH_STREAM_DESCRIPTION,
  request: { params: SetParams, query: WatchQuery, headers: WatchHeaders },
  responses: setScopedResponses({
    200: { description: 'The stream (see the description).', content: { 'text/event-stream': { schema: z.string() } } },
    501: error('This API server cannot stream (the API on AWS Lambda): poll GET /v1/sets/{name} (and its events) instead.'),
  }),
});

// ---- events: a set's mounted at /v1/sets, every set's at /v1/events ----

export const listSetEventsRoute = createRoute({
  method: 'get',
  path: '/{name}/events',
  summary: "A set's events (what happened to it and its instances, as Kubernetes records them), oldest first",
  description:
    'Each event has a type (Normal or Warning), a reason, a message, the instance it concerns, a count (repeats are aggregated) and its first and ' +
    'last time. A set keeps its last 100 events, across worker restarts; they go with the set. Poll with ?since=<latestSeq> to get only what is new.',
  request: { params: SetParams, query: SetEventsQuery },
  responses: setScopedResponses({
    200: { description: 'The events after since (every one kept without it); latestSeq is the since of the next read.', content: json(SetEventListSchema) },
    400: error('Invalid request: the set name or since (see error.details).'),
  }),
});

export const listEventsRoute = createRoute({
  method: 'get',
  path: '/',
  summary: "Every set's events, each with its set's name, newest last (by lastTimestamp)",
  description: 'Deleted sets have none (their events go with them). One read of every set, so slower than one set\'s events with many sets.',
  request: { query: EventsQuery },
  responses: v1Responses({
    200: { description: 'The events.', content: json(EventListSchema) },
    400: error('Invalid request: since or limit (see error.details).'),
  }),
});

// ---- instance logs: mounted at /v1/sets ----

export const instanceLogsRoute = createRoute({
  method: 'get',
  path: '/{name}/instances/{ordinal}/logs',
  summary: "The end of an instance's log: what its processes (every incarnation) wrote to stdout and stderr",
  description:
    'Read from the data directory the API shares with the worker (<data dir>/logs/<set>-<ordinal>.log). ' +
    'Each incarnation starts with a line "--- <time> <name> incarnation <n> ...".',
  request: { params: InstanceParams, query: LogsQuery },
  responses: setScopedResponses({
    200: { description: 'The last lines of the log, as written.', content: { 'text/plain': { schema: z.string() } } },
    404: error('The set does not exist, or the instance has no log on the API\'s host.'),
  }),
});

// ---- Route 53 zones: mounted at /v1/dns/route53/zones ----

export const listRoute53ZonesRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'The Route 53 hosted zones sets publish to, each with its durable publisher: sets, pending sets, last flush, reconcile and error',
  responses: v1Responses({
    200: { description: 'The zones with a running publisher, by zone name.', content: json(Route53ZoneListSchema) },
    404: error('This API server has no access to the Route 53 publishers.'),
  }),
});

export const reconcileRoute53ZoneRoute = createRoute({
  method: 'post',
  path: '/{hostedZoneId}/reconcile',
  summary:
    "Repair drift in a hosted zone now: restore Ordinal's records changed or deleted by hand, delete those of sets that no longer exist; " +
    'with {"dryRun": true} only return the plan',
  request: {
    params: HostedZoneParams,
    body: {
      required: false,
      description: 'Optional; without a body the reconcile is applied.',
      content: json(ReconcileRequestSchema),
    },
  },
  responses: v1Responses({
    200: { description: 'What was done (or, in a dry run, would be done); error is set when the reconcile could not run.', content: json(ReconcileSummarySchema) },
    400: invalid,
    404: error('No set has published to this hosted zone, so it has no publisher (or this API server has no access to the publishers).'),
    413: tooLarge,
    415: unsupported,
  }),
});

// ---- the OpenAPI document: mounted at / ----

export const openApiRoute = createRoute({
  method: 'get',
  path: '/openapi.json',
  summary: 'This OpenAPI document (no token needed)',
  ...open,
  responses: { 200: { description: 'The OpenAPI 3.1 document.', content: json(z.record(z.string(), z.unknown())) }, 500: internal },
});

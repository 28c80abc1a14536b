// The set workflow's messages: shared by the workflow (handlers) and its clients (API, CLI, tests).
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { EventsView } from '../core/events.js';
import type { RevisionView, SetView } from '../core/status.js';
import type { RolloutPreview } from '../core/rollout-preview.js';
import type { ApplyPreview, Checked } from '../core/transitions.js';

export const WORKFLOW_TYPE = 'statefulSet';

export interface ApplyRequest {
  /** The manifest document as the user sent it; the workflow validates it again before accepting. */
  manifest: unknown;
  /** Reject with Conflict unless the set is at this generation (read-modify-write clients, PATCH). */
  expectedGeneration?: number;
  /** Who asked, for the history. */
  requestedBy?: string;
}

export interface ApplyResult {
  set: SetView;
  /** True when this apply created the set. */
  created: boolean;
}

export interface DeleteInstanceRequest {
  ordinal: number;
  requestedBy?: string;
}

export interface CordonRequest {
  ordinal: number;
  cordoned: boolean;
  requestedBy?: string;
}

export const applyUpdate = defineUpdate<ApplyResult, [ApplyRequest]>('apply');
/** Cordon (or uncordon) an instance: out of the service records, kept running. */
export const setCordonUpdate = defineUpdate<SetView, [CordonRequest]>('setCordon');
/** The set's revisions, newest first; null before the first apply. */
export const getRevisionsQuery = defineQuery<RevisionView[] | null>('getRevisions');
export const deleteSetUpdate = defineUpdate<SetView, [{ requestedBy?: string }]>('deleteSet');
export const deleteInstanceUpdate = defineUpdate<SetView, [DeleteInstanceRequest]>('deleteInstance');
/**
 * A dry run of the apply update: the same checks and the would-be set, changing nothing (a query
 * writes nothing to the history). A rejection is answered, not thrown, so it keeps its type and details.
 */
export const previewApplyQuery = defineQuery<Checked<ApplyPreview>, [ApplyRequest]>('previewApply');
/**
 * The rollout an apply would start: the apply's checks, then the planner run on a copy of the state as
 * if every instance became Ready at once. Changes nothing; a rejection is answered, as previewApply's.
 */
export const previewRolloutQuery = defineQuery<Checked<RolloutPreview>, [ApplyRequest]>('previewRollout');
/** The set as GET returns it; null before the first apply. */
export const getSetQuery = defineQuery<SetView | null>('getSet');
/**
 * The set's events after `since` (all kept when absent), oldest first; null before the first apply (or
 * on a run of a worker older than events: then the set has none recorded).
 */
export const getEventsQuery = defineQuery<EventsView | null, [{ since?: number }]>('getEvents');

/** ApplicationFailure types the workflow rejects updates with; the API maps them to HTTP statuses. */
export const FailureType = {
  InvalidManifest: 'InvalidManifest',
  BadRequest: 'BadRequest',
  Conflict: 'Conflict',
  NotFound: 'NotFound',
} as const;

/** Search attributes, registered on the server at start-up (see infra/dev-server.ts). */
export const SearchAttributes = {
  set: defineSearchAttributeKey('OrdinalSet', SearchAttributeType.KEYWORD),
  replicas: defineSearchAttributeKey('OrdinalReplicas', SearchAttributeType.INT),
  readyReplicas: defineSearchAttributeKey('OrdinalReadyReplicas', SearchAttributeType.INT),
  phase: defineSearchAttributeKey('OrdinalPhase', SearchAttributeType.KEYWORD),
};

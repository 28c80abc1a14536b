// What the HTTP API needs from the sets: exactly SetsService's public methods, so tests can hand the
// app an in-memory fake while the server hands it the Temporal-backed service.
import type { EventsView } from '../core/events.js';
import type { RolloutPreview } from '../core/rollout-preview.js';
import type { RevisionView, SetView } from '../core/status.js';
import type { ApplyResult } from '../workflows/messages.js';
import { ApiError } from './errors.js';
import type { SetsService } from './sets.js';

export interface SetsPort {
  /** Creates or updates a set; Conflict when expectedGeneration is stale. */
  apply(name: string, manifest: unknown, opts?: { expectedGeneration?: number; requestedBy?: string }): Promise<ApplyResult>;
  /**
   * A dry run of apply: the same answer and the same rejections (InvalidManifest, Conflict), changing
   * nothing and starting no workflow.
   */
  previewApply(name: string, manifest: unknown, opts?: { expectedGeneration?: number; requestedBy?: string }): Promise<ApplyResult>;
  /**
   * The rollout an apply would start, step by step (see core/rollout-preview.ts), with the same
   * rejections as apply; changes nothing and starts no workflow.
   */
  previewRollout(name: string, manifest: unknown, opts?: { expectedGeneration?: number; requestedBy?: string }): Promise<RolloutPreview>;
  /** The set, or undefined when it does not exist. */
  get(name: string): Promise<SetView | undefined>;
  list(): Promise<SetView[]>;
  /** Starts deleting the set; NotFound when it does not exist. */
  delete(name: string, requestedBy?: string): Promise<SetView>;
  /** Stops an instance so it is recreated under the same name; NotFound for an unknown set or ordinal. */
  deleteInstance(name: string, ordinal: number, requestedBy?: string): Promise<SetView>;
  /** The set's revisions, newest first, or undefined when the set does not exist. */
  revisions(name: string): Promise<RevisionView[] | undefined>;
  /**
   * The set's events after `since` (every one it keeps when undefined), oldest first; undefined when the
   * set does not exist. A set on a worker older than events answers an empty list at latestSeq 0.
   */
  events(name: string, since?: number): Promise<EventsView | undefined>;
  /**
   * Cordons (or uncordons) an instance: out of the service records, kept running. NotFound for an
   * unknown set or instance, BadRequest for a bad ordinal, Conflict while the set is being deleted.
   */
  cordon(name: string, ordinal: number, cordoned: boolean, requestedBy?: string): Promise<SetView>;
  /** True when Temporal answers. */
  healthy(): Promise<boolean>;
}

// Fails to compile when SetsService and SetsPort stop matching in either direction.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const portMatchesService: Same<SetsPort, Pick<SetsService, keyof SetsService>> = true;
void portMatchesService;

/** The set, or NotFound (404) when it does not exist. */
export async function getOrThrow(sets: SetsPort, name: string): Promise<SetView> {
  const set = await sets.get(name);
  if (!set) throw new ApiError('NotFound', `set '${name}' does not exist`);
  return set;
}

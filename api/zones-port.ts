// What the HTTP API needs from the Route 53 zones: exactly Route53ZonesService's public methods, so
// tests can hand the app an in-memory fake while the server hands it the Temporal-backed service.
import type { ReconcileView, Route53ZonesService, ZoneView } from './zones.js';

export interface Route53ZonesPort {
  /** The hosted zones with a running publisher, by zone name. */
  list(): Promise<ZoneView[]>;
  /**
   * Repairs drift in the zone now (with dryRun, only plans) and returns the summary. NotFound when no
   * set publishes to the zone now, Unavailable when the worker does not answer in time.
   */
  reconcile(hostedZoneId: string, dryRun: boolean): Promise<ReconcileView>;
}

// Fails to compile when Route53ZonesService and Route53ZonesPort stop matching in either direction.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const portMatchesService: Same<Route53ZonesPort, Pick<Route53ZonesService, keyof Route53ZonesService>> = true;
void portMatchesService;

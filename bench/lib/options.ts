// The bench's command line: which scenarios, and how big. `--quick` is a one-minute smoke run; every
// size can also be set on its own, over either preset.
import { parseArgs } from 'node:util';
import { integerFlag, listFlag } from '../../test/harness/command-line.js';

export const SCENARIOS = ['floor', 'scaleup', 'recovery', 'many', 'many-small', 'api', 'api-list', 'dns', 'route53'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface BenchOptions {
  quick: boolean;
  only: ScenarioName[];
  /** Repeated runs per measurement (medians are taken over them). */
  repeats: number;
  /** Scenario 1: sequential no-op activities per floor workflow. */
  floorActivities: number;
  /** Scenario 2: instances of the scale-up set. */
  scaleupReplicas: number;
  /** Scenario 3: kills (each of a different instance, so no crash-loop back-off applies). */
  recoveryKills: number;
  /** Scenario 4: sets created at once, instances each, and the smaller run that checks linearity. */
  manySets: number;
  manyReplicas: number;
  manySmallSets: number;
  /** Scenario 4b, many small sets: sets of one instance created at once, and the smaller run that checks linearity. */
  smallSets: number;
  smallSetsBase: number;
  /** Scenario 5: autocannon run length and connections. */
  apiSeconds: number;
  apiConnections: number;
  /** Scenario api-list: sets listed by GET /v1/sets (one `sleep` instance each). */
  apiListSets: number;
  /** Scenario 6: dnsperf run length. */
  dnsSeconds: number;
  /** Scenario 7: sets publishing to one Route 53 hosted zone at once, and instances each. */
  route53Sets: number;
  route53Instances: number;
  /** Diagnostic: at most this many submits in flight at once from the bench (0: no cap, as the sets do). */
  route53MaxInFlight: number;
  /** Readiness probe period of the instances (seconds; 1 is the manifest's minimum). */
  probePeriodSeconds: number;
  /** Write V8 CPU profiles of the Ordinal workers into the results folder. */
  profile: boolean;
  /** Keep the temporary folder (logs, databases) for inspection. */
  keep: boolean;
  out: string;
}

const FULL = {
  repeats: 3,
  floorActivities: 200,
  scaleupReplicas: 50,
  recoveryKills: 20,
  manySets: 500,
  manyReplicas: 2,
  manySmallSets: 100,
  smallSets: 2000,
  smallSetsBase: 200,
  apiSeconds: 10,
  apiConnections: 50,
  apiListSets: 100,
  dnsSeconds: 10,
  route53Sets: 200,
  route53Instances: 12,
};

const QUICK: typeof FULL = {
  repeats: 1,
  floorActivities: 50,
  scaleupReplicas: 5,
  recoveryKills: 3,
  manySets: 12,
  manyReplicas: 2,
  manySmallSets: 4,
  smallSets: 20,
  smallSetsBase: 5,
  apiSeconds: 2,
  apiConnections: 50,
  apiListSets: 10,
  dnsSeconds: 2,
  route53Sets: 20,
  route53Instances: 12,
};

export const USAGE = `usage: npm run bench [-- options]      (npm run bench:quick = --quick)

  --quick                  one-minute smoke run (small sizes, one repeat)
  --only LIST              scenarios to run, comma-separated: ${SCENARIOS.join(', ')}
                           (floor also runs when another Temporal scenario needs R)
  --repeats N              runs per measurement, medians over them (full ${FULL.repeats}, quick ${QUICK.repeats})
  --floor-activities N     no-op activities per floor workflow (${FULL.floorActivities} / ${QUICK.floorActivities})
  --scaleup-replicas N     instances of the scale-up set (${FULL.scaleupReplicas} / ${QUICK.scaleupReplicas})
  --recovery-kills N       kill -9 this many instances, one each (${FULL.recoveryKills} / ${QUICK.recoveryKills})
  --many-sets N            sets created at once (${FULL.manySets} / ${QUICK.manySets}); given up after max(120 s, 0.8 s per set)
  --many-replicas N        instances per set (${FULL.manyReplicas})
  --many-small-sets N      the smaller run that checks linearity (${FULL.manySmallSets} / ${QUICK.manySmallSets}; 0 skips it)
  --small-sets N           many-small: sets of one instance created at once (${FULL.smallSets} / ${QUICK.smallSets})
  --small-sets-base N      many-small: the smaller run that checks linearity (${FULL.smallSetsBase} / ${QUICK.smallSetsBase}; 0 skips it)
  --api-seconds S          autocannon duration per run (${FULL.apiSeconds} / ${QUICK.apiSeconds})
  --api-connections N      autocannon connections (${FULL.apiConnections})
  --api-list-sets N        sets listed by GET /v1/sets in scenario api-list (${FULL.apiListSets} / ${QUICK.apiListSets})
  --dns-seconds S          dnsperf duration per run (${FULL.dnsSeconds} / ${QUICK.dnsSeconds})
  --route53-sets N         sets publishing to one Route 53 zone at once (${FULL.route53Sets} / ${QUICK.route53Sets});
                           each set's records count 4 x instances + 2 (${FULL.route53Sets} x 50 = 10,000)
  --route53-instances N    instances per set (${FULL.route53Instances})
  --route53-max-in-flight N  diagnostic: at most N submits at once (0, the default: every set at once, as in production)
  --probe-period S         readiness probe period of the instances (1)
  --profile                write CPU profiles of the workers and the API to bench/results/profiles/
  --keep                   keep the temporary folder (logs, databases)
  --out FILE               results file (bench/results/latest.json)
`;

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean' },
      only: { type: 'string' },
      repeats: { type: 'string' },
      'floor-activities': { type: 'string' },
      'scaleup-replicas': { type: 'string' },
      'recovery-kills': { type: 'string' },
      'many-sets': { type: 'string' },
      'many-replicas': { type: 'string' },
      'many-small-sets': { type: 'string' },
      'small-sets': { type: 'string' },
      'small-sets-base': { type: 'string' },
      'api-seconds': { type: 'string' },
      'api-connections': { type: 'string' },
      'api-list-sets': { type: 'string' },
      'dns-seconds': { type: 'string' },
      'route53-sets': { type: 'string' },
      'route53-instances': { type: 'string' },
      'route53-max-in-flight': { type: 'string' },
      'probe-period': { type: 'string' },
      profile: { type: 'boolean' },
      keep: { type: 'boolean' },
      out: { type: 'string' },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick ?? false;
  const preset = quick ? QUICK : FULL;
  const only = values.only === undefined ? [...SCENARIOS] : listFlag('only', values.only, SCENARIOS, 'scenario');
  return {
    quick,
    only,
    repeats: integerFlag('repeats', values.repeats, preset.repeats, 1),
    floorActivities: integerFlag('floor-activities', values['floor-activities'], preset.floorActivities, 1),
    scaleupReplicas: integerFlag('scaleup-replicas', values['scaleup-replicas'], preset.scaleupReplicas, 2),
    recoveryKills: integerFlag('recovery-kills', values['recovery-kills'], preset.recoveryKills, 1),
    manySets: integerFlag('many-sets', values['many-sets'], preset.manySets, 1),
    manyReplicas: integerFlag('many-replicas', values['many-replicas'], preset.manyReplicas, 1),
    manySmallSets: integerFlag('many-small-sets', values['many-small-sets'], preset.manySmallSets, 0),
    smallSets: integerFlag('small-sets', values['small-sets'], preset.smallSets, 1),
    smallSetsBase: integerFlag('small-sets-base', values['small-sets-base'], preset.smallSetsBase, 0),
    apiSeconds: integerFlag('api-seconds', values['api-seconds'], preset.apiSeconds, 1),
    apiConnections: integerFlag('api-connections', values['api-connections'], preset.apiConnections, 1),
    apiListSets: integerFlag('api-list-sets', values['api-list-sets'], preset.apiListSets, 1),
    dnsSeconds: integerFlag('dns-seconds', values['dns-seconds'], preset.dnsSeconds, 1),
    route53Sets: integerFlag('route53-sets', values['route53-sets'], preset.route53Sets, 1),
    route53Instances: integerFlag('route53-instances', values['route53-instances'], preset.route53Instances, 1),
    route53MaxInFlight: integerFlag('route53-max-in-flight', values['route53-max-in-flight'], 0, 0),
    probePeriodSeconds: integerFlag('probe-period', values['probe-period'], 1, 1),
    profile: values.profile ?? false,
    keep: values.keep ?? false,
    out: values.out ?? 'bench/results/latest.json',
  };
}

// What a trial asks of a set, and the manifest that says it. Instances run the test fixture
// (test/fixtures/instance.mjs) with its --events timeline; the template carries FAULT_REV so the suite
// can tell from /proc which template a live process runs.
import type { SetView } from '../../../core/status.js';
import { fixtureManifest } from '../../harness/sets.js';

/** How the fixture behaves: fine, never Ready, exits at once, or ignores SIGTERM. */
export type Behaviour = 'good' | 'never-ready' | 'crash' | 'ignore-sigterm';

export interface Intent {
  replicas: number;
  /** Template revision label, in the FAULT_REV env var: a new value is a template change (a rollout). */
  rev: string;
  behaviour: Behaviour;
  /** terminationGracePeriodSeconds. */
  grace: number;
  /** spec.progressDeadlineSeconds: the api-kill client loop's harmless changes. */
  progressDeadlineSeconds: number;
}

const ARGS: Record<Behaviour, string[]> = {
  good: [],
  'never-ready': ['--never-ready'],
  crash: ['--exit-after', '0', '--exit-code', '1'],
  'ignore-sigterm': ['--ignore-sigterm'],
};

export function manifestFor(set: string, intent: Intent, eventsFile: string) {
  const manifest = fixtureManifest(set, {
    replicas: intent.replicas,
    eventsFile,
    args: ARGS[intent.behaviour],
    env: { FAULT_REV: intent.rev },
    ttl: 1,
    readinessPeriodSeconds: 1,
    spec: { progressDeadlineSeconds: intent.progressDeadlineSeconds },
  });
  (manifest.spec.template as { terminationGracePeriodSeconds: number }).terminationGracePeriodSeconds = intent.grace;
  return manifest;
}

/** Does the set's spec say what `intent` says? (What a client checks after an answer it did not get.) */
export function specMatches(view: SetView, set: string, intent: Intent, eventsFile: string): boolean {
  const want = manifestFor(set, intent, eventsFile).spec;
  const template = view.spec.template as { process?: { command?: string[]; env?: Record<string, string> }; terminationGracePeriodSeconds?: number };
  return (
    view.spec.replicas === intent.replicas &&
    view.spec.progressDeadlineSeconds === intent.progressDeadlineSeconds &&
    template.process?.env?.FAULT_REV === intent.rev &&
    template.terminationGracePeriodSeconds === intent.grace &&
    JSON.stringify(template.process?.command) === JSON.stringify(want.template.process.command)
  );
}

export function describeIntent(intent: Intent): string {
  return `replicas ${intent.replicas}, template ${intent.rev} (${intent.behaviour}), grace ${intent.grace}s, progressDeadline ${intent.progressDeadlineSeconds}s`;
}

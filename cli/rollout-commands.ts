// `ordinal rollout status|history|undo|pause|resume`: follow and steer a set's rollouts through the API.
// These only call the API, print and keep time; the decisions are rollout.ts's. rolloutStatus is also
// the wait of `apply --wait`.
import { Command, Option } from 'commander';
import type { RevisionView, SetView } from '../core/status.js';
import { ApiError, type ApiClient } from './api-client.js';
import { CliError, api, clientCommand, durationOption, EXIT_CODES_HELP, option, out, run, type ConnectionOptions } from './command-kit.js';
import { formatObject, formatRevisionHistory, parseOutputFormat, type OutputFormat } from './format.js';
import { ProbeNotes, RolloutProgress, goneMessage, resumeHint, selectUndoTarget, timeoutMessage, undoPatch } from './rollout.js';
import { pollSet } from './set-polling.js';
import { watchSet } from './set-watch.js';

/** How long `rollout status` and `apply --wait` wait for a rollout by default, and how often they look. */
export const ROLLOUT_TIMEOUT = '5m';
export const ROLLOUT_INTERVAL = '1s';

export function registerRolloutCommands(program: Command): void {
  const rollout = program
    .command('rollout')
    .description("follow and steer a set's rollouts: status, history, undo, pause, resume")
    .addHelpText('after', EXIT_CODES_HELP);
  clientCommand(rollout.command('status'))
    .description(
      'wait until the set has observed its latest spec and is Ready, and every instance of the update revision ' +
        'has stayed Ready with no restart for the stability window (--stable-for, at least minReadySeconds), ' +
        'printing each instance as it changes; fails when the timeout passes, the set is deleted, an instance ' +
        'of the update revision crash loops, the rollout exceeds its progress deadline or is rolled back ' +
        'automatically (autoRollback); a paused rollout is reported and waited on',
    )
    .argument('<name>', 'set name')
    .addOption(durationOption('--timeout <duration>', 'give up after this long, e.g. 90s, 5m, 1h (0: never)', ROLLOUT_TIMEOUT))
    .addOption(durationOption('--interval <duration>', 'time between polls when the API has no watch stream (with one: between two looks at the last state, for --stable-for)', ROLLOUT_INTERVAL, true))
    .addOption(
      durationOption(
        '--stable-for <duration>',
        "how long each instance of the update revision must stay Ready, with no restart, before it counts (the set's minReadySeconds when longer; 0: no wait)",
        '5s',
      ),
    )
    .action(run(async (name: string, options: ConnectionOptions & { timeout: number; interval: number; stableFor: number }) => {
      await rolloutStatus(api(options), name, options.timeout, options.interval, options.stableFor);
    }));

  clientCommand(rollout.command('history'))
    .description("list a set's revisions, newest first: number, name, generation, age, whether current or update, instances on it")
    .argument('<name>', 'set name')
    .addOption(
      new Option('-o, --output <format>', 'output format: table, json or yaml (the API object)')
        .default('table')
        .argParser(option((text) => parseOutputFormat(text, ['table', 'json', 'yaml']))),
    )
    .action(run(async (name: string, options: ConnectionOptions & { output: OutputFormat }) => {
      const list = await api(options).revisions(name);
      if (options.output === 'json' || options.output === 'yaml') out(formatObject(list, options.output), '');
      else out(formatRevisionHistory(list?.items ?? [], Date.now()), '');
    }));

  clientCommand(rollout.command('undo'))
    .description(
      "roll a set back to an earlier revision's template (by default the one before the update revision), " +
        'as a conditional PATCH of spec.template',
    )
    .argument('<name>', 'set name')
    .option('--to-revision <revision>', 'the revision to go back to: its number or name, as "ordinal rollout history" lists them')
    .action(run(async (name: string, options: ConnectionOptions & { toRevision?: string }) => {
      await rolloutUndo(api(options), name, options.toRevision);
    }));

  clientCommand(rollout.command('pause'))
    .description('pause a rolling update: no instance is replaced until it is resumed (scaling and healing go on)')
    .argument('<name>', 'set name')
    .action(run(async (name: string, options: ConnectionOptions) => {
      await setPaused(api(options), name, true);
    }));

  clientCommand(rollout.command('resume'))
    .description('resume a paused rolling update')
    .argument('<name>', 'set name')
    .action(run(async (name: string, options: ConnectionOptions) => {
      await setPaused(api(options), name, false);
    }));
}

/**
 * `startedAt`: when the change being watched was made (rollbacks after it fail the rollout); now by default.
 * Follows the set's watch stream, so every change is seen (and printed) as it happens; `intervalMs` is
 * then how often the last state is judged again while nothing changes (the stability window). Without
 * a stream (an older API, the API on Lambda, a drop that cannot be resumed) it polls every `intervalMs`.
 */
export async function rolloutStatus(
  client: ApiClient,
  name: string,
  timeoutMs: number,
  intervalMs: number,
  stableForMs?: number,
  startedAt: number = Date.now(),
): Promise<void> {
  const progress = new RolloutProgress(startedAt, { stableForMs });
  const notes = new ProbeNotes();
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let last: SetView | undefined;
  let waiting: string | undefined;
  let first = true;
  /** One look at the set: prints what changed; true once the rollout is done, throws when it failed. */
  const judge = (view: SetView | undefined): boolean => {
    if (view === undefined) throw new CliError(goneMessage(name, !first));
    first = false;
    last = view;
    const { verdict, lines } = progress.observe(view);
    waiting = verdict.state === 'progress' ? verdict.waiting : undefined;
    for (const line of notes.decorate(lines, waiting)) out(line);
    if (verdict.state === 'failed') throw new CliError(verdict.message);
    if (verdict.state === 'done') {
      out(verdict.message);
      return true;
    }
    return false;
  };
  const timedOut = (): never => {
    throw new CliError(timeoutMessage(last, timeoutMs, waiting));
  };

  const outcome = await watchSet(
    client,
    name,
    // since 0: the events kept so far too, so the reason an instance is not Ready is known from the start.
    { deadline, tickMs: intervalMs, since: '0', onDrop: (resumed, reason) => process.stderr.write(`warning: the watch stream dropped (${reason}); ${resumed ? 'resuming' : 'polling instead'}\n`) },
    (item) => {
      switch (item.kind) {
        case 'set':
          return judge(item.view);
        case 'tick':
          return last !== undefined && judge(last);
        case 'event':
          // Judged again at once: the waiting line shows a new reason as soon as it is known.
          notes.record(item.event);
          return last !== undefined && judge(last);
        case 'deleted':
          return judge(undefined);
        case 'gone':
          return false;
      }
    },
  );
  if (outcome === 'done') return;
  if (outcome === 'timeout') timedOut();
  const left = deadline - Date.now();
  if (left <= 0) timedOut();
  await pollSet(client, name, left === Infinity ? 0 : left, intervalMs, ({ view }) => judge(view), timedOut);
}

/**
 * Reads the set and its revisions, picks the target, and PATCHes spec.template with If-Match on the
 * generation read: a change made meanwhile (another apply, an automatic rollback) is never overwritten.
 */
async function rolloutUndo(client: ApiClient, name: string, toRevision: string | undefined): Promise<void> {
  const view = await client.get(name);
  if (view.metadata.deletionRequested) throw new CliError(`set ${name} is being deleted`);
  const { items } = await client.revisions(name);
  let target: RevisionView;
  try {
    target = selectUndoTarget(view, items ?? [], toRevision);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  try {
    await client.patch(name, undoPatch(view, target), { ifMatch: view.metadata.generation });
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) {
      const again = `ordinal rollout undo ${name}${toRevision === undefined ? '' : ` --to-revision ${toRevision}`}`;
      throw new CliError(`set ${name} changed while rolling back (${err.message}); nothing was rolled back: run "${again}" again`);
    }
    throw err;
  }
  out(`set ${name} rolled back to revision ${target.revision} (${target.name})`);
}

/** PATCHes spec.updateStrategy.rollingUpdate.paused; OnDelete sets have no rolling update to pause. */
async function setPaused(client: ApiClient, name: string, paused: boolean): Promise<void> {
  const view = await client.get(name);
  const strategy = view.spec?.updateStrategy;
  if (strategy?.type === 'OnDelete') {
    throw new CliError(
      `set ${name} uses the OnDelete update strategy: there is no rolling update to ${paused ? 'pause' : 'resume'}; ` +
        `an instance takes the update revision when you delete it ("ordinal delete-instance ${name} ORDINAL")`,
    );
  }
  if ((strategy?.rollingUpdate?.paused === true) === paused) {
    out(paused ? `set ${name} is already paused; ${resumeHint(name)} resumes it` : `set ${name} is not paused`);
    return;
  }
  await client.patch(name, { spec: { updateStrategy: { rollingUpdate: { paused } } } });
  out(paused ? `set ${name} paused; ${resumeHint(name)} resumes it` : `set ${name} resumed`);
}

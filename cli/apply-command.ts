// `ordinal apply -f FILE|DIR|- ...`: create or update sets from manifests, like kubectl apply; with
// several sets, all checked by the server's dry run before any is applied; then --prune (the sets a
// selector matches that the input does not name) and --wait (each rollout, as `rollout status`).
import { Command, Option } from 'commander';
import { canonicalJson } from '../core/revision.js';
import type { SetView } from '../core/status.js';
import { ApiError, UnreachableError, type ApiClient } from './api-client.js';
import { CliError, api, clientCommand, collect, durationOption, option, out, report, run, type ConnectionOptions } from './command-kit.js';
import { formatError, parseDuration } from './format.js';
import { FILENAME_HELP, readManifestInput, type ManifestFile } from './manifest-input.js';
import { ROLLOUT_INTERVAL, ROLLOUT_TIMEOUT, rolloutStatus } from './rollout-commands.js';

export function registerApplyCommand(program: Command): void {
  clientCommand(program.command('apply'))
    .description('create or update sets from manifests (JSON or YAML), like kubectl apply')
    .requiredOption('-f, --filename <file>', FILENAME_HELP, collect)
    .option('-R, --recursive', 'with a directory: read its subdirectories too')
    .option('--prune', 'after the apply, delete the sets matching --selector that the input does not name')
    .addOption(new Option('-l, --selector <label=value>', 'with --prune: the label (or comma-separated labels) of the sets to prune').argParser(option(parseSelector)))
    .option('--dry-run', 'server dry run: the API checks each manifest exactly as it would apply it and answers what the set would become; nothing is changed')
    .option('--wait', 'after the apply, wait until every set has rolled out, as "ordinal rollout status" does')
    .addOption(durationOption('--timeout <duration>', 'with --wait: give up after this long, e.g. 90s, 5m, 1h (0: never)', ROLLOUT_TIMEOUT))
    .addHelpText(
      'after',
      '\nPrints "set NAME created" or "set NAME configured", a line per set. With --dry-run: "set NAME created (server dry run)",\n' +
        '"set NAME configured (server dry run): generation 3 -> 4" or "set NAME unchanged (server dry run)"; it is refused\n' +
        'exactly as the apply would be (exit code 1). With --wait: then the progress of each rollout, as\n' +
        '"ordinal rollout status" prints it, with its exit codes (1 when a rollout fails or the timeout passes).\n' +
        'With several manifests, all are read and validated first: one invalid document, or a set named twice,\n' +
        'and nothing is applied (every problem is listed, with its file and document). With --prune --selector\n' +
        'app=shop, the sets labelled app=shop that the input does not name are then deleted: "set NAME deleted (pruned)";\n' +
        'with --dry-run they are only listed.',
    )
    .action(run(async (options: ConnectionOptions & ApplyOptions) => {
      if (options.dryRun && options.wait) {
        throw new CliError('--dry-run and --wait cannot be used together: a dry run changes nothing, so there is no rollout to wait for');
      }
      if (options.prune && options.selector === undefined) {
        throw new CliError('--prune needs --selector LABEL=VALUE: only the sets carrying that label are ever pruned');
      }
      if (!options.prune && options.selector !== undefined) throw new CliError('--selector is used only with --prune');
      const manifests = await readManifestInput(options.filename, options.recursive === true);
      await applyAll(api(options), manifests, options);
    }));
}

interface ApplyOptions {
  filename: string[];
  recursive?: boolean;
  prune?: boolean;
  selector?: Record<string, string>;
  dryRun?: boolean;
  wait?: boolean;
  timeout: number;
}

/** A label selector: LABEL=VALUE, or several joined by commas, all of which must match. */
export function parseSelector(text: string): Record<string, string> {
  const selector: Record<string, string> = {};
  for (const part of text.split(',')) {
    const match = /^\s*([^=\s]+)\s*=\s*([^=\s]*)\s*$/.exec(part);
    if (!match) throw new Error(`the selector must be LABEL=VALUE (several joined by commas), got '${text}'`);
    selector[match[1]] = match[2];
  }
  return selector;
}

export function matchesSelector(labels: Record<string, string> | undefined, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/**
 * Applies every set, a line each. With several sets, each is first checked by a server-side dry run, so a
 * rule only the server knows (an immutable field, a set being deleted) refuses the whole command before
 * anything is applied. A set the API still refuses during the apply itself (it changed in between) is
 * reported and the others are applied (as kubectl does); then the command fails, and nothing is pruned
 * or waited for. With one set, its error is the command's, as it always was.
 */
async function applyAll(client: ApiClient, manifests: ManifestFile[], options: ApplyOptions): Promise<void> {
  if (manifests.length > 1 && !options.dryRun) await refuseUnlessAllWouldApply(client, manifests);
  // Before the apply: an automatic rollback of this rollout, however quick, happens after it.
  const startedAt = Date.now();
  const failed: string[] = [];
  for (const manifest of manifests) {
    try {
      if (options.dryRun) {
        await applyDryRun(client, manifest);
      } else {
        const { created } = await client.apply(manifest.name, manifest.text, manifest.contentType);
        out(`set ${manifest.name} ${created ? 'created' : 'configured'}`);
      }
    } catch (err) {
      if (manifests.length === 1 || err instanceof UnreachableError) throw err;
      process.exitCode = report(err);
      failed.push(manifest.name);
    }
  }
  if (failed.length > 0) {
    throw new CliError(`${failed.length} of ${manifests.length} sets could not be applied (${failed.join(', ')}); nothing was pruned${options.wait ? ' or waited for' : ''}`);
  }
  if (options.prune && options.selector) await prune(client, options.selector, new Set(manifests.map((m) => m.name)), options.dryRun === true);
  if (!options.wait) return;
  if (manifests.length === 1) {
    await rolloutStatus(client, manifests[0].name, options.timeout, parseDuration(ROLLOUT_INTERVAL), undefined, startedAt);
    return;
  }
  // One deadline for all: the rollouts run together, so waiting for them in turn costs no extra time.
  const deadline = startedAt + options.timeout;
  const notDone: string[] = [];
  for (const { name } of manifests) {
    try {
      const timeout = options.timeout === 0 ? 0 : Math.max(1, deadline - Date.now());
      await rolloutStatus(client, name, timeout, parseDuration(ROLLOUT_INTERVAL), undefined, startedAt);
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      process.exitCode = report(err);
      notDone.push(name);
    }
  }
  if (notDone.length > 0) throw new CliError(`${notDone.length} of ${manifests.length} rollouts did not complete (${notDone.join(', ')})`);
}

/**
 * The server's dry run of every set, before any is applied: every refusal is reported, then the command
 * fails with nothing applied. An API that predates dry runs would apply for real, so its answer (not
 * marked as a dry run) stops the check: those sets were valid, and the apply goes on as before.
 */
async function refuseUnlessAllWouldApply(client: ApiClient, manifests: ManifestFile[]): Promise<void> {
  const refused: string[] = [];
  for (const manifest of manifests) {
    try {
      const outcome = await client.apply(manifest.name, manifest.text, manifest.contentType, { dryRun: true });
      if (!outcome.dryRun) return;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      process.stderr.write(formatError(`set ${manifest.name}: ${err.message}`, err.details));
      refused.push(manifest.name);
    }
  }
  if (refused.length > 0) {
    throw new CliError(`cannot apply: the API would refuse ${refused.length} of ${manifests.length} sets (${refused.join(', ')}); nothing was applied`);
  }
}

/** `--prune`: deletes the sets matching the selector that the input does not name (none already being deleted). */
async function prune(client: ApiClient, selector: Record<string, string>, keep: Set<string>, dryRun: boolean): Promise<void> {
  const { items } = await client.list();
  const doomed = (items ?? [])
    .filter((view) => !keep.has(view.metadata.name) && !view.metadata.deletionRequested && matchesSelector(view.metadata.labels, selector))
    .map((view) => view.metadata.name)
    .sort();
  for (const name of doomed) {
    if (dryRun) {
      out(`set ${name} deleted (pruned) (dry run)`);
      continue;
    }
    try {
      await client.delete(name);
    } catch (err) {
      // Deleted by someone else meanwhile: what prune wanted.
      if (err instanceof ApiError && err.status === 404) continue;
      throw err;
    }
    out(`set ${name} deleted (pruned)`);
  }
}

/**
 * `apply --dry-run`: the set as it is, then the API's dry run of the manifest. The line says what the
 * apply would do. An answer not marked as a dry run (an API that predates it) is reported: it was applied.
 */
async function applyDryRun(client: ApiClient, manifest: ManifestFile): Promise<void> {
  const before = await client.find(manifest.name);
  const outcome = await client.apply(manifest.name, manifest.text, manifest.contentType, { dryRun: true });
  if (!outcome.dryRun) {
    throw new CliError(
      `the API at ${client.baseUrl} did not answer as a dry run (it predates ?dryRun), so set ${manifest.name} was ${outcome.created ? 'created' : 'applied'}; ` +
        `see "ordinal get ${manifest.name}"`,
    );
  }
  out(dryRunLine(manifest.name, outcome.created, before, outcome.set));
}

/**
 * What a dry run would do, as kubectl says it with "(server dry run)": created; configured, with the
 * generation it would move to when the spec changes; unchanged when neither the spec nor the labels and
 * annotations would change.
 */
export function dryRunLine(name: string, created: boolean, before: SetView | undefined, after: SetView): string {
  const suffix = '(server dry run)';
  if (created) return `set ${name} created ${suffix}`;
  const from = before?.metadata.generation;
  const to = after.metadata.generation;
  if (before === undefined || from === undefined) return `set ${name} configured ${suffix}`;
  if (from !== to) return `set ${name} configured ${suffix}: generation ${from} -> ${to}`;
  const labels = (view: SetView) => canonicalJson({ labels: view.metadata.labels ?? {}, annotations: view.metadata.annotations ?? {} });
  return labels(before) === labels(after) ? `set ${name} unchanged ${suffix}` : `set ${name} configured ${suffix}`;
}

// The client commands: thin clients of the HTTP API (docs/api.md) for people and pipelines.
//   apply -f FILE|DIR|- ... [-R] [--prune --selector L=V] [--dry-run | --wait [--timeout D]] | get [NAME]
//   scale NAME N | delete NAME | delete -f FILE|DIR|- ... [-R] | delete-instance NAME ORDINAL
//   cordon NAME ORDINAL | uncordon NAME ORDINAL
//   rollout status NAME | rollout history NAME | rollout undo NAME | rollout pause NAME | rollout resume NAME
//   dns zones | dns reconcile (--hosted-zone-id ID | --zone NAME) [--dry-run]
//   logs NAME ORDINAL [--tail N] | exec NAME ORDINAL [--] COMMAND...
// Exit codes: 0 success; 1 the request failed (the API rejected it, bad input, a wait timed out, the set
// went away, or the rollout failed); 2 the API could not be reached.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { decodeManifest, decodeManifestDocuments } from '../core/manifest-text.js';
import { parseManifest } from '../core/manifest.js';
import { DNS1123_LABEL, SET_NAME_MAX } from '../core/names.js';
import { canonicalJson } from '../core/revision.js';
import type { RevisionView, SetView } from '../core/status.js';
import type { ReconcileView } from '../api/zones.js';
import { ApiClient, ApiError, DEFAULT_API_URL, REQUEST_TIMEOUT_MS, UnreachableError, type ManifestContentType } from './api-client.js';
import { ClientConfigError, configPath, resolveConnection, type Connection } from './client-config.js';
import {
  formatDuration,
  formatError,
  formatObject,
  formatRevisionHistory,
  formatSetDetail,
  formatSetList,
  formatZoneList,
  parseDuration,
  parseOutputFormat,
  reconcileOutcome,
  type ErrorDetail,
  type OutputFormat,
} from './format.js';
import { ExecError, execTarget, runAttached } from './exec-command.js';
import { readManifestTexts, readStdin, setManifestsFromTexts, STDIN, type ManifestProblem, type ManifestText } from './manifest-files.js';
import { RolloutProgress, goneMessage, resumeHint, selectUndoTarget, timeoutMessage, undoPatch } from './rollout.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_UNREACHABLE = 2;

export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  the command failed: the API rejected the request (its message and field errors are printed),
     the input is invalid, a wait timed out, the set was deleted while waiting, the rollout
     failed (its progress deadline passed, it was rolled back automatically, or an instance of
     the new revision crash loops), or a DNS
     reconcile could not run or met names held by someone else
  2  the Ordinal API could not be reached (is "ordinal up" or "ordinal api" running?)`;

export const CONNECTION_HELP = `
Connection:
  --api-url, else ORDINAL_API_URL, else ORDINAL_API_HOST/ORDINAL_API_PORT (where "ordinal api"
  listens), else "apiUrl" in the config file, else ${DEFAULT_API_URL}.
  Token (sent as a bearer token): --token, else ORDINAL_TOKEN, else "token" in the config file.
  The config file is ORDINAL_CONFIG, else ~/.config/ordinal/config.json:
  {"apiUrl": "https://...", "token": "ord_..."}; with a token it must be private (chmod 600).
  On loopback without tokens the API needs none; "ordinal token create" on its host makes one.`;

/** How long `rollout status` and `apply --wait` wait for a rollout by default, and how often they look. */
const ROLLOUT_TIMEOUT = '5m';
const ROLLOUT_INTERVAL = '1s';

/** A failure of the command itself (bad input, a wait that did not end well): exit code 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly details: ErrorDetail[] = [],
    readonly exitCode: number = EXIT_FAILED,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ConnectionOptions {
  apiUrl?: string;
  token?: string;
}

/** The connection of this run, for the hints printed with an error. */
let connection: Connection | undefined;

export function registerClientCommands(program: Command): void {
  program.addHelpText('after', `${EXIT_CODES_HELP}\n${CONNECTION_HELP}`);

  client(program.command('apply'))
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

  client(program.command('get'))
    .description('list the sets, or show one set and its instances')
    .argument('[name]', 'set name; without it, all sets')
    .addOption(
      new Option('-o, --output <format>', 'output format: table, wide (with DNS names), json or yaml (the API objects)')
        .default('table')
        .argParser(option((text) => parseOutputFormat(text))),
    )
    .addHelpText(
      'after',
      '\nFor one set: its line, what needs attention (a rollout in progress, paused or stuck, a failing instance,\n' +
        'DNS trouble, the last automatic rollback), then its instances: PHASE, READY, AVAILABLE (Ready for\n' +
        'minReadySeconds), CORDONED (out of the service records), ADDRESS, RESTARTS, REVISION; -o wide adds\n' +
        'DNS names.',
    )
    .action(run(async (name: string | undefined, options: ConnectionOptions & { output: OutputFormat }) => {
      const client = api(options);
      const now = Date.now();
      const table = options.output === 'table' || options.output === 'wide';
      const wide = options.output === 'wide';
      if (name === undefined) {
        const list = await client.list();
        const items = list?.items ?? [];
        if (!table) out(formatObject(list, options.output as 'json' | 'yaml'), '');
        else if (items.length === 0) process.stderr.write('No sets found.\n');
        else out(formatSetList(items, now, wide), '');
        return;
      }
      const view = await client.get(name);
      out(table ? formatSetDetail(view, now, wide) : formatObject(view, options.output as 'json' | 'yaml'), '');
    }));

  client(program.command('scale'))
    .description('set the number of replicas of a set (a JSON merge patch of spec.replicas)')
    .argument('<name>', 'set name')
    .argument('<replicas>', 'desired number of instances: a non-negative integer', nonNegativeInteger('replicas'))
    .action(run(async (name: string, replicas: number, options: ConnectionOptions) => {
      await api(options).patch(name, { spec: { replicas } });
      out(`set ${name} scaled to ${replicas}`);
    }));

  client(program.command('delete'))
    .description('delete a set, or the sets of manifests: its instances stop, highest ordinal first, and their DNS records go with them')
    .argument('[name]', 'set name (or give -f)')
    .option('-f, --filename <file>', FILENAME_HELP, collect)
    .option('-R, --recursive', 'with a directory: read its subdirectories too')
    .option('--wait', 'wait until each set is gone (GET answers 404), showing how many instances are left')
    .addOption(durationOption('--timeout <duration>', 'with --wait: give up after this long (0: never)', '5m'))
    .addOption(durationOption('--interval <duration>', 'with --wait: time between polls', '1s', true))
    .addHelpText('after', '\nWith -f, every manifest is read and validated first (as apply does); then "set NAME deleted" a line per set.')
    .action(run(async (name: string | undefined, options: ConnectionOptions & { filename?: string[]; recursive?: boolean; wait?: boolean; timeout: number; interval: number }) => {
      if (name !== undefined && options.filename !== undefined) throw new CliError('give a set name or -f, not both');
      if (name === undefined && options.filename === undefined) throw new CliError('which set? give its name, or -f with its manifests');
      const names = name !== undefined ? [name] : (await readSetsOf(options.filename ?? [], options.recursive === true, 'delete')).map((m) => m.name);
      const client = api(options);
      if (names.length === 1) {
        await client.delete(names[0]);
        if (options.wait) await waitUntilDeleted(client, names[0], options.timeout, options.interval);
        out(`set ${names[0]} deleted`);
        return;
      }
      await deleteAll(client, names, options);
    }));

  client(program.command('delete-instance'))
    .description('delete one instance: it is stopped and recreated under the same name (and DNS name)')
    .argument('<name>', 'set name')
    .argument('<ordinal>', 'the instance ordinal (1 for web-1)', nonNegativeInteger('ordinal'))
    .action(run(async (name: string, ordinal: number, options: ConnectionOptions) => {
      await api(options).deleteInstance(name, ordinal);
      out(`instance ${name}-${ordinal} deleted; it will be recreated under the same name`);
    }));

  client(program.command('cordon'))
    .description("cordon an instance: it leaves the service's DNS records (A and SRV) but keeps running and keeps its own name")
    .argument('<name>', 'set name')
    .argument('<ordinal>', 'the instance ordinal (1 for web-1)', nonNegativeInteger('ordinal'))
    .action(run(async (name: string, ordinal: number, options: ConnectionOptions) => {
      await api(options).cordon(name, ordinal, true);
      out(`instance ${name}-${ordinal} cordoned: out of the service records, still running`);
    }));

  client(program.command('uncordon'))
    .description("uncordon an instance: it is back in the service's DNS records while it is Ready")
    .argument('<name>', 'set name')
    .argument('<ordinal>', 'the instance ordinal (1 for web-1)', nonNegativeInteger('ordinal'))
    .action(run(async (name: string, ordinal: number, options: ConnectionOptions) => {
      await api(options).cordon(name, ordinal, false);
      out(`instance ${name}-${ordinal} uncordoned`);
    }));

  const rollout = program
    .command('rollout')
    .description("follow and steer a set's rollouts: status, history, undo, pause, resume")
    .addHelpText('after', EXIT_CODES_HELP);
  client(rollout.command('status'))
    .description(
      'wait until the set has observed its latest spec and is Ready, and every instance of the update revision ' +
        'has stayed Ready with no restart for the stability window (--stable-for, at least minReadySeconds), ' +
        'printing each instance as it changes; fails when the timeout passes, the set is deleted, an instance ' +
        'of the update revision crash loops, the rollout exceeds its progress deadline or is rolled back ' +
        'automatically (autoRollback); a paused rollout is reported and waited on',
    )
    .argument('<name>', 'set name')
    .addOption(durationOption('--timeout <duration>', 'give up after this long, e.g. 90s, 5m, 1h (0: never)', ROLLOUT_TIMEOUT))
    .addOption(durationOption('--interval <duration>', 'time between polls', ROLLOUT_INTERVAL, true))
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

  client(rollout.command('history'))
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

  client(rollout.command('undo'))
    .description(
      "roll a set back to an earlier revision's template (by default the one before the update revision), " +
        'as a conditional PATCH of spec.template',
    )
    .argument('<name>', 'set name')
    .option('--to-revision <revision>', 'the revision to go back to: its number or name, as "ordinal rollout history" lists them')
    .action(run(async (name: string, options: ConnectionOptions & { toRevision?: string }) => {
      await rolloutUndo(api(options), name, options.toRevision);
    }));

  client(rollout.command('pause'))
    .description('pause a rolling update: no instance is replaced until it is resumed (scaling and healing go on)')
    .argument('<name>', 'set name')
    .action(run(async (name: string, options: ConnectionOptions) => {
      await setPaused(api(options), name, true);
    }));

  client(rollout.command('resume'))
    .description('resume a paused rolling update')
    .argument('<name>', 'set name')
    .action(run(async (name: string, options: ConnectionOptions) => {
      await setPaused(api(options), name, false);
    }));

  client(program.command('logs'))
    .description("print the end of an instance's log: what its processes (every incarnation) wrote to stdout and stderr")
    .argument('<name>', 'set name')
    .argument('<ordinal>', 'the instance ordinal (1 for web-1)', nonNegativeInteger('ordinal'))
    .addOption(
      new Option('--tail <lines>', 'how many of the last lines (at most 10000)')
        .default(200)
        .argParser(option((text) => {
          const lines = parseNonNegativeInteger(text, '--tail');
          if (lines > 10_000) throw new Error(`--tail must be at most 10000, got '${text}'`);
          return lines;
        })),
    )
    .addHelpText('after', "\nThe API reads the log from the data directory it shares with the worker (<data dir>/logs/<set>-<ordinal>.log).")
    .action(run(async (name: string, ordinal: number, options: ConnectionOptions & { tail: number }) => {
      process.stdout.write(await api(options).logs(name, ordinal, options.tail));
    }));

  client(program.command('exec'))
    .description("run a command inside a running instance, like kubectl exec: its hostname, files, user, environment and working directory, with stdin/stdout/stderr attached and its exit code passed through")
    .argument('<name>', 'set name')
    .argument('<ordinal>', 'the instance ordinal (1 for web-1)', nonNegativeInteger('ordinal'))
    .argument('<command...>', 'the command and its arguments (put -- before a command with options)')
    .passThroughOptions()
    .addHelpText(
      'after',
      "\nRuns on the instance's host (the process driver's instances are local processes), as root or the worker's user.\n" +
        'Exit code: the command\'s own, or 1 when it cannot run (unknown set or ordinal, instance not running, ECS set), 2 when the API is unreachable.\n' +
        'Example: ordinal exec redis 1 -- redis-cli info replication',
    )
    .action(run(async (name: string, ordinal: number, command: string[], options: ConnectionOptions) => {
      const view = await api(options).get(name);
      let target: ReturnType<typeof execTarget>;
      try {
        target = execTarget(view, ordinal);
      } catch (err) {
        if (err instanceof ExecError) throw new CliError(err.message);
        throw err;
      }
      // With passThroughOptions, commander keeps the `--` that separates our arguments from the command's.
      const argv = command[0] === '--' ? command.slice(1) : command;
      if (argv.length === 0) throw new CliError('exec needs a command to run, e.g. ordinal exec web 0 -- hostname');
      process.exitCode = await runAttached([...target.argvPrefix, ...argv], target.env, target.cwd);
    }));

  // `ordinal dns` itself runs the embedded DNS server (server-commands.ts); these are its client subcommands.
  const dns = program.commands.find((c) => c.name() === 'dns') ?? program.command('dns').description('Route 53 hosted zones');
  client(dns.command('zones'))
    .description('list the Route 53 hosted zones sets publish to (one durable publisher each): their sets, pending sets, last flush and last error')
    .addOption(
      new Option('-o, --output <format>', 'output format: table, json or yaml (the API object)')
        .default('table')
        .argParser(option((text) => parseOutputFormat(text, ['table', 'json', 'yaml']))),
    )
    .action(run(async (options: ConnectionOptions & { output: OutputFormat }) => {
      const list = await api(options).zones();
      const items = list?.items ?? [];
      if (options.output === 'json' || options.output === 'yaml') out(formatObject(list, options.output), '');
      else if (items.length === 0) process.stderr.write('No Route 53 zones found: no set publishes to Route 53.\n');
      else out(formatZoneList(items, Date.now()), '');
    }));

  client(dns.command('reconcile'))
    .description(
      "repair drift in a Route 53 hosted zone now: restore Ordinal's records changed or deleted by hand and delete " +
        'those of sets that no longer exist (foreign records are never touched); --dry-run only prints the plan',
    )
    .addOption(new Option('--hosted-zone-id <id>', 'the hosted zone, e.g. Z0123456789ABC').argParser(option(parseHostedZoneId)).conflicts('zone'))
    .addOption(new Option('--zone <name>', 'the hosted zone by name, as "ordinal dns zones" lists them').conflicts('hostedZoneId'))
    .option('--dry-run', 'print the plan without applying it')
    .addHelpText(
      'after',
      '\nPrints the plan (one line per change and conflict), then "dry run: N changes planned, nothing applied"\n' +
        'or "applied N changes". Exits 1 when the reconcile could not run, names are held by someone else, or\n' +
        'planned changes were not applied.',
    )
    .action(run(async (options: ConnectionOptions & { hostedZoneId?: string; zone?: string; dryRun?: boolean }) => {
      const client = api(options);
      let hostedZoneId = options.hostedZoneId;
      if (hostedZoneId === undefined) {
        if (options.zone === undefined) throw new CliError('which hosted zone? give --hosted-zone-id ID or --zone NAME ("ordinal dns zones" lists them)');
        hostedZoneId = await hostedZoneOf(client, options.zone);
      }
      reportReconcile(hostedZoneId, await client.reconcile(hostedZoneId, options.dryRun === true));
    }));
}

/** The options and help every client command shares. */
function client(command: Command): Command {
  return connectionOptions(command).addHelpText('after', `${EXIT_CODES_HELP}\n${CONNECTION_HELP}`);
}

/** --api-url and --token, for a client command with its own help (exit codes). */
export function connectionOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--api-url <url>', `base URL of the Ordinal API (default: ${DEFAULT_API_URL})`).env('ORDINAL_API_URL'),
    )
    .addOption(new Option('--token <token>', 'API bearer token (default: ORDINAL_TOKEN, else the config file); visible to other local users in the process list, so prefer those'));
}

export function api(options: ConnectionOptions): ApiClient {
  try {
    connection = resolveConnection({ apiUrl: options.apiUrl, token: options.token });
    return new ApiClient({ baseUrl: connection.apiUrl, token: connection.token });
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** What to do about a 401: where a token goes, or that the one sent was refused. */
function unauthenticatedHint(): string {
  if (connection?.token === undefined) {
    const file = connection?.configPath ?? configPath();
    return (
      'hint: this API needs a token: set ORDINAL_TOKEN (or --token, or "token" in ' +
      `${file}) to one made by "ordinal token create NAME" on the API's host\n`
    );
  }
  return `hint: the API refused the token from ${connection.tokenSource}: revoked, mistyped, or made for another API ("ordinal token list" on its host)\n`;
}

function out(text: string, end = '\n'): void {
  process.stdout.write(text + end);
}

/** Runs an action; failures are printed as `error: ...` (and field lines) with their exit code. */
function run<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.exitCode = report(err);
    }
  };
}

export function report(err: unknown): number {
  if (err instanceof UnreachableError) {
    process.stderr.write(formatError(err.message));
    return EXIT_UNREACHABLE;
  }
  if (err instanceof ApiError) {
    let text = formatError(err.message, err.details);
    if (err.status === 401) text += unauthenticatedHint();
    process.stderr.write(text);
    return EXIT_FAILED;
  }
  if (err instanceof ClientConfigError) {
    process.stderr.write(formatError(err.message));
    return EXIT_FAILED;
  }
  if (err instanceof CliError) {
    process.stderr.write(formatError(err.message, err.details));
    return err.exitCode;
  }
  process.stderr.write(formatError(err instanceof Error ? err.message : String(err)));
  return EXIT_FAILED;
}

/** Adapts a parser that throws Error to commander's InvalidArgumentError. */
function option<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

function durationOption(flags: string, description: string, fallback: string, positive = false): Option {
  const parse = (text: string) => {
    const ms = parseDuration(text);
    if (positive && ms <= 0) throw new Error(`the duration must be more than 0, got '${text}'`);
    return ms;
  };
  return new Option(flags, description).default(parse(fallback), fallback).argParser(option(parse));
}

/** Parses a non-negative integer argument (no signs, decimals, exponents or blanks). */
export function parseNonNegativeInteger(text: string, what: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value)) throw new Error(`${what} must be a non-negative integer, got '${text}'`);
  return value;
}

function nonNegativeInteger(what: string): (text: string) => number {
  return option((text) => parseNonNegativeInteger(text, what));
}

// ---- apply ----

export interface ManifestFile {
  name: string;
  text: string;
  contentType: ManifestContentType;
}

const FILENAME_HELP = 'a manifest file, a directory of them (*.yaml, *.yml, *.json, by name), or - for standard input; may be given several times';

interface ApplyOptions {
  filename: string[];
  recursive?: boolean;
  prune?: boolean;
  selector?: Record<string, string>;
  dryRun?: boolean;
  wait?: boolean;
  timeout: number;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
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
 * The sets to apply (or diff). One file (or stdin) holding one document is read as before: sent as
 * written, its errors reported as the API reports them. Anything more goes through the manifest reader:
 * every document validated first, every problem listed, nothing applied unless all are valid.
 */
export async function readManifestInput(files: string[], recursive: boolean, verb: 'apply' | 'diff' = 'apply'): Promise<ManifestFile[]> {
  if (files.length === 1 && !(await isDirectory(files[0]))) {
    const file = files[0];
    const text = await readManifestText(file);
    const format = manifestFormat(text, file === '-' ? undefined : file);
    if (decodeManifestDocuments(text, format).count <= 1) return [manifestFromText(text, file === '-' ? STDIN : file, file === '-' ? undefined : file)];
    return setsOf([{ file: file === '-' ? STDIN : file, text, format }], verb);
  }
  return readSetsOf(files, recursive, verb);
}

/** Every set of the input, each sent as JSON (the document as written); or every problem, as a CliError. */
async function readSetsOf(files: string[], recursive: boolean, verb: ManifestVerb): Promise<ManifestFile[]> {
  const texts = await readManifestTexts(files, { recursive });
  if (!texts.ok) throw problemsError(texts.problems, verb);
  return setsOf(texts.texts, verb);
}

type ManifestVerb = 'apply' | 'delete' | 'diff';

const NOTHING_DONE: Record<ManifestVerb, string> = { apply: 'nothing was applied', delete: 'nothing was deleted', diff: 'nothing was previewed' };

function setsOf(texts: ManifestText[], verb: ManifestVerb): ManifestFile[] {
  const read = setManifestsFromTexts(texts);
  if (!read.ok) throw problemsError(read.problems, verb);
  return read.sets.map((set) => ({ name: set.name, text: JSON.stringify(set.document), contentType: 'application/json' }));
}

function problemsError(problems: ManifestProblem[], verb: ManifestVerb): CliError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new CliError(
    `cannot ${verb}: ${count} in the manifests; ${NOTHING_DONE[verb]}`,
    problems.map((p) => ({ path: p.path === '' ? p.where : `${p.where}: ${p.path}`, message: p.message })),
  );
}

async function isDirectory(file: string): Promise<boolean> {
  if (file === '-') return false;
  try {
    return (await stat(file)).isDirectory();
  } catch {
    return false;
  }
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

/** `delete -f` with several sets: each deleted (a failure reported, the others still deleted), then waited for. */
async function deleteAll(client: ApiClient, names: string[], options: { wait?: boolean; timeout: number; interval: number }): Promise<void> {
  const failed: string[] = [];
  const deleted: string[] = [];
  for (const name of names) {
    try {
      await client.delete(name);
      deleted.push(name);
      if (!options.wait) out(`set ${name} deleted`);
    } catch (err) {
      if (err instanceof UnreachableError) throw err;
      process.exitCode = report(err);
      failed.push(name);
    }
  }
  if (options.wait) {
    const deadline = Date.now() + options.timeout;
    for (const name of deleted) {
      try {
        await waitUntilDeleted(client, name, options.timeout === 0 ? 0 : Math.max(1, deadline - Date.now()), options.interval);
        out(`set ${name} deleted`);
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        process.exitCode = report(err);
        failed.push(name);
      }
    }
  }
  if (failed.length > 0) throw new CliError(`${failed.length} of ${names.length} sets could not be deleted (${failed.join(', ')})`);
}

/** The text of a manifest file, or of stdin for "-". */
async function readManifestText(file: string): Promise<string> {
  const source = file === '-' ? STDIN : file;
  try {
    return file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new CliError(`cannot read ${source}: ${reason}`);
  }
}

/**
 * Pure part of reading one manifest: the format (by extension, else by content) and the set's name. A manifest
 * with a usable name is sent as it is: the API validates it and lists every field error. One whose
 * metadata.name is missing or not a set name (a DNS-1123 label of at most 52 characters) cannot be sent
 * (the name is the URL), so it is validated here with the core's rules, the API's own, and every field
 * error is reported at once, the name's among them.
 */
export function manifestFromText(text: string, source: string, file?: string): ManifestFile {
  const format = manifestFormat(text, file);
  // Decoded with the same limits as the server.
  const decoded = decodeManifest(text, format);
  if (!decoded.ok) throw new CliError(`cannot apply ${source}`, decoded.issues);
  const document = decoded.value;
  const metadata = document.metadata;
  const name = metadata !== null && typeof metadata === 'object' ? (metadata as { name?: unknown }).name : undefined;
  if (typeof name === 'string' && isSetName(name)) {
    return { name, text, contentType: format === 'json' ? 'application/json' : 'application/yaml' };
  }
  const parsed = parseManifest(document);
  const issues = parsed.ok ? [] : parsed.issues;
  if (!issues.some((issue) => issue.path === 'metadata.name' || issue.path === 'metadata')) {
    // Not expected (the core has the same rule); the name must be in the list all the same.
    const problem = name === undefined || name === '' ? 'is required' : typeof name === 'string' ? 'must be a set name' : 'must be a string';
    issues.unshift({ path: 'metadata.name', message: problem });
  }
  const message =
    typeof name === 'string' && name !== ''
      ? `cannot apply ${source}: the manifest is invalid`
      : `${source} has no metadata.name: the set's name is required to apply it`;
  throw new CliError(message, issues);
}

/** What the API takes as a set name in its path (core/names.ts; the manifest's metadata.name rule). */
function isSetName(name: string): boolean {
  return name.length <= SET_NAME_MAX && DNS1123_LABEL.test(name);
}

/** JSON for .json files, YAML for .yaml/.yml; otherwise JSON when the text starts with '{'. */
export function manifestFormat(text: string, file?: string): 'json' | 'yaml' {
  const extension = file ? path.extname(file).toLowerCase() : '';
  if (extension === '.json') return 'json';
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
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

// ---- waiting ----

/** Errors worth retrying while polling: no answer, or the API (or Temporal behind it) unavailable. */
function isTransient(err: unknown): boolean {
  return err instanceof UnreachableError || (err instanceof ApiError && err.status >= 500);
}

interface Poll {
  /** The set, or undefined once GET answers 404. */
  view: SetView | undefined;
}

/**
 * Polls GET /v1/sets/NAME every `intervalMs` until `step` returns true or `timeoutMs` (0: no limit)
 * passes; then calls `onTimeout`. An API that cannot be reached at the first GET is reported at once
 * (a wrong address should not wait out the timeout); a 503 (the worker or Temporal restarting) and,
 * later, any transient failure are retried with one warning, so a restart does not end the wait.
 */
async function pollSet(
  client: ApiClient,
  name: string,
  timeoutMs: number,
  intervalMs: number,
  step: (poll: Poll, first: boolean) => boolean,
  onTimeout: () => never,
): Promise<void> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let first = true;
  let failure: unknown;
  for (;;) {
    const remaining = deadline - Date.now();
    try {
      const view = await client.find(name, Math.min(REQUEST_TIMEOUT_MS, Math.max(1000, remaining)));
      if (failure !== undefined) process.stderr.write('the API answers again\n');
      failure = undefined;
      if (step({ view }, first)) return;
      first = false;
    } catch (err) {
      if (!isTransient(err) || (first && err instanceof UnreachableError)) throw err;
      if (failure === undefined) process.stderr.write(`warning: ${(err as Error).message}; retrying\n`);
      failure = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      if (failure instanceof UnreachableError) throw failure;
      onTimeout();
    }
    await sleep(Math.min(intervalMs, left));
  }
}

/** `startedAt`: when the change being watched was made (rollbacks after it fail the rollout); now by default. */
async function rolloutStatus(
  client: ApiClient,
  name: string,
  timeoutMs: number,
  intervalMs: number,
  stableForMs?: number,
  startedAt: number = Date.now(),
): Promise<void> {
  const progress = new RolloutProgress(startedAt, { stableForMs });
  let last: SetView | undefined;
  let waiting: string | undefined;
  await pollSet(
    client,
    name,
    timeoutMs,
    intervalMs,
    ({ view }, first) => {
      if (view === undefined) throw new CliError(goneMessage(name, !first));
      last = view;
      const { verdict, lines } = progress.observe(view);
      waiting = verdict.state === 'progress' ? verdict.waiting : undefined;
      for (const line of lines) out(line);
      if (verdict.state === 'failed') throw new CliError(verdict.message);
      if (verdict.state === 'done') {
        out(verdict.message);
        return true;
      }
      return false;
    },
    () => {
      throw new CliError(timeoutMessage(last, timeoutMs, waiting));
    },
  );
}

async function waitUntilDeleted(client: ApiClient, name: string, timeoutMs: number, intervalMs: number): Promise<void> {
  let left: number | undefined;
  let printed: string | undefined;
  await pollSet(
    client,
    name,
    timeoutMs,
    intervalMs,
    ({ view }) => {
      if (view === undefined) return true;
      left = view.status?.instances?.length ?? 0;
      const line = `deleting set ${name}: ${left} ${left === 1 ? 'instance' : 'instances'} left`;
      if (line !== printed) out(line);
      printed = line;
      return false;
    },
    () => {
      const what = left === undefined ? '' : `: ${left} ${left === 1 ? 'instance' : 'instances'} left`;
      throw new CliError(`timed out after ${formatDuration(timeoutMs)} waiting for set ${name} to be deleted${what}`);
    },
  );
}

// ---- dns zones, dns reconcile ----

/** A Route 53 hosted zone id as AWS prints it, with or without its /hostedzone/ prefix; returned without. */
export function parseHostedZoneId(text: string): string {
  const id = text.trim().replace(/^\/?hostedzone\//, '');
  if (!/^[A-Z0-9]{1,32}$/.test(id)) {
    throw new Error(`'${text}' is not a Route 53 hosted zone id: uppercase letters and digits, e.g. Z0123456789ABC`);
  }
  return id;
}

/** The id of the one hosted zone with a publisher named `zone`. */
async function hostedZoneOf(client: ApiClient, zone: string): Promise<string> {
  const normalize = (name: string) => name.trim().toLowerCase().replace(/\.$/, '');
  const { items } = await client.zones();
  const all = items ?? [];
  const matches = all.filter((z) => normalize(z.zone) === normalize(zone));
  if (matches.length === 1) return matches[0].hostedZoneId;
  if (matches.length > 1) {
    throw new CliError(
      `zone ${zone} is ambiguous: hosted zones ${matches.map((z) => z.hostedZoneId).join(', ')} have that name (a public and a private one?); ` +
        'choose one with --hosted-zone-id',
    );
  }
  const known = all.length === 0 ? 'no set publishes to Route 53' : `zones with a publisher: ${all.map((z) => `${z.zone} (${z.hostedZoneId})`).join(', ')}`;
  throw new CliError(`no Route 53 publisher for zone ${zone}: no set publishes there (${known})`);
}

/** Prints the plan and what came of it; an error, conflicts or changes left undone are a failure. */
function reportReconcile(hostedZoneId: string, summary: ReconcileView): void {
  if (summary.error) {
    // The text only says the same ("reconcile failed: ..."): there is no plan to print.
    const { code, message, hint } = summary.error;
    throw new CliError(`reconcile of hosted zone ${hostedZoneId} failed: ${code}: ${message}`, hint ? [{ path: 'hint', message: hint }] : []);
  }
  if (summary.text) out(summary.text.trimEnd());
  out(reconcileOutcome(summary));
  const conflicts = summary.conflicts ?? [];
  if (conflicts.length > 0) {
    throw new CliError(
      `${conflicts.length} ${conflicts.length === 1 ? 'name is' : 'names are'} held by someone else in hosted zone ${hostedZoneId} (never overwritten)`,
      conflicts.map((c) => ({ path: `${c.name} ${c.type}`, message: `${c.reason} [set ${c.set}]` })),
    );
  }
  if (!summary.dryRun && summary.applied < summary.planned) {
    const left = summary.planned - summary.applied;
    throw new CliError(
      `${left} of the planned changes ${left === 1 ? 'was' : 'were'} not applied; ` +
        `"ordinal dns reconcile --hosted-zone-id ${hostedZoneId} --dry-run" shows what is left`,
    );
  }
}

// ---- rollout undo, pause, resume ----

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

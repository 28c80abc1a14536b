// The client commands: thin clients of the HTTP API (docs/api.md) for people and pipelines.
//   apply -f FILE|DIR|- ... [-R] [--prune --selector L=V] [--dry-run | --wait [--timeout D]] | get [NAME]
//   describe NAME | events [NAME]
//   scale NAME N | delete NAME | delete -f FILE|DIR|- ... [-R] | delete-instance NAME ORDINAL
//   cordon NAME ORDINAL | uncordon NAME ORDINAL
//   rollout status NAME | rollout history NAME | rollout undo NAME | rollout pause NAME | rollout resume NAME
//   dns zones | dns reconcile (--hosted-zone-id ID | --zone NAME) [--dry-run]
//   logs NAME ORDINAL [--tail N] | exec NAME ORDINAL [--] COMMAND...
// Exit codes: 0 success; 1 the request failed (the API rejected it, bad input, a wait timed out, the set
// went away, or the rollout failed); 2 the API could not be reached.
// This file registers them all, in the order help lists them, and holds the small ones (get, scale,
// delete, delete-instance, cordon, uncordon, logs, exec); apply, describe and events, rollout and dns have
// files of their own.
import { Command, Option } from 'commander';
import { UnreachableError, type ApiClient } from './api-client.js';
import { registerApplyCommand } from './apply-command.js';
import {
  CONNECTION_HELP,
  CliError,
  EXIT_CODES_HELP,
  api,
  clientCommand,
  collect,
  durationOption,
  nonNegativeInteger,
  option,
  out,
  parseNonNegativeInteger,
  report,
  run,
  type ConnectionOptions,
} from './command-kit.js';
import { registerDescribeCommands } from './describe-command.js';
import { registerDnsCommands } from './dns-commands.js';
import { ExecError, execTarget, runAttached } from './exec-command.js';
import { formatDuration, formatObject, formatSetDetail, formatSetList, parseOutputFormat, type OutputFormat } from './format.js';
import { FILENAME_HELP, readSetsOf } from './manifest-input.js';
import { getWatch } from './get-watch.js';
import { registerRolloutCommands } from './rollout-commands.js';
import { pollSet } from './set-polling.js';

export function registerClientCommands(program: Command): void {
  program.addHelpText('after', `${EXIT_CODES_HELP}\n${CONNECTION_HELP}`);

  registerApplyCommand(program);

  clientCommand(program.command('get'))
    .description('list the sets, or show one set and its instances')
    .argument('[name]', 'set name; without it, all sets')
    .addOption(
      new Option('-o, --output <format>', 'output format: table, wide (with DNS names), json or yaml (the API objects)')
        .default('table')
        .argParser(option((text) => parseOutputFormat(text))),
    )
    .option('-w, --watch', "after the first, print the set's line again each time it changes (the whole object with -o json|yaml), until interrupted or the set is deleted")
    .addHelpText(
      'after',
      '\nFor one set: its line, what needs attention (a rollout in progress, paused or stuck, a failing instance,\n' +
        'DNS trouble, the last automatic rollback), then its instances: PHASE, READY, AVAILABLE (Ready for\n' +
        'minReadySeconds), CORDONED (out of the service records), ADDRESS, RESTARTS, REVISION; -o wide adds\n' +
        'DNS names.',
    )
    .action(run(async (name: string | undefined, options: ConnectionOptions & { output: OutputFormat; watch?: boolean }) => {
      const client = api(options);
      if (options.watch) {
        await getWatch(client, name, options.output);
        return;
      }
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

  registerDescribeCommands(program);

  clientCommand(program.command('scale'))
    .description('set the number of replicas of a set (a JSON merge patch of spec.replicas)')
    .argument('<name>', 'set name')
    .argument('<replicas>', 'desired number of instances: a non-negative integer', nonNegativeInteger('replicas'))
    .action(run(async (name: string, replicas: number, options: ConnectionOptions) => {
      await api(options).patch(name, { spec: { replicas } });
      out(`set ${name} scaled to ${replicas}`);
    }));

  clientCommand(program.command('delete'))
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

  clientCommand(program.command('delete-instance'))
    .description('delete one instance: it is stopped and recreated under the same name (and DNS name)')
    .argument('<name>', 'set name')
    .argument('<ordinal>', 'the instance ordinal (1 for web-1)', nonNegativeInteger('ordinal'))
    .action(run(async (name: string, ordinal: number, options: ConnectionOptions) => {
      await api(options).deleteInstance(name, ordinal);
      out(`instance ${name}-${ordinal} deleted; it will be recreated under the same name`);
    }));

  clientCommand(program.command('cordon'))
    .description("cordon an instance: it leaves the service's DNS records (A and SRV) but keeps running and keeps its own name")
    .argument('<name>', 'set name')
    .argument('<ordinal>', 'the instance ordinal (1 for web-1)', nonNegativeInteger('ordinal'))
    .action(run(async (name: string, ordinal: number, options: ConnectionOptions) => {
      await api(options).cordon(name, ordinal, true);
      out(`instance ${name}-${ordinal} cordoned: out of the service records, still running`);
    }));

  clientCommand(program.command('uncordon'))
    .description("uncordon an instance: it is back in the service's DNS records while it is Ready")
    .argument('<name>', 'set name')
    .argument('<ordinal>', 'the instance ordinal (1 for web-1)', nonNegativeInteger('ordinal'))
    .action(run(async (name: string, ordinal: number, options: ConnectionOptions) => {
      await api(options).cordon(name, ordinal, false);
      out(`instance ${name}-${ordinal} uncordoned`);
    }));

  registerRolloutCommands(program);

  clientCommand(program.command('logs'))
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

  clientCommand(program.command('exec'))
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

  registerDnsCommands(program);
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

/** `delete --wait`: polls until GET answers 404, printing how many instances are left as it changes. */
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

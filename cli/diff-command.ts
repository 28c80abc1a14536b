// `ordinal diff -f FILE|-`: what applying a manifest would change, as `kubectl diff` shows it (a unified
// diff of the set's manifest, live against proposed), followed by the rollout the apply would start, from
// the API's preview (the planner the workflow runs). Exit codes as kubectl diff's: 0 no change, 1 a
// change, 2 an error (the usual client errors, the API unreachable among them).
import { Command, Option } from 'commander';
import { CONNECTION_HELP, CliError, api, connectionOptions, readManifest, report, type ConnectionOptions } from './client-commands.js';
import { DIFF_FORMATS, formatDiff, setDiff, type DiffFormat } from './diff-format.js';

export const EXIT_NO_CHANGE = 0;
export const EXIT_CHANGED = 1;
export const EXIT_DIFF_ERROR = 2;

const DIFF_HELP = `
Prints nothing (text) when the apply would change nothing. Otherwise the diff of the set's manifest
(with the API's defaults filled in, as GET shows it), then the rollout, numbered: which instances
would be created, replaced (revision a -> b) or removed, in the order the planner would take them
if every instance became Ready at once, the constraints that shape it (podManagementPolicy,
partition, maxUnavailable, paused, OnDelete, minReadySeconds), the instances kept on another
revision and the DNS names that would appear or go. -o markdown suits a pull-request comment.

Exit codes (as kubectl diff):
  0  no change
  1  the apply would change the set (or create it)
  2  an error: the manifest is invalid or refused, the API could not be reached, ...`;

export function registerDiffCommand(program: Command): void {
  // The shared connection options; its own exit codes (they differ from the other commands').
  connectionOptions(program.command('diff'))
    .description('show what applying a manifest would change: the manifest diff and the rollout preview, like kubectl diff')
    .requiredOption('-f, --filename <file>', 'manifest file, or - to read standard input')
    .addOption(new Option('-o, --output <format>', 'text, markdown or json').choices(DIFF_FORMATS).default('text'))
    .addHelpText('after', `${DIFF_HELP}\n${CONNECTION_HELP}`)
    // A usage error (a missing -f, an unknown option) must not read as "changed" (1).
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_DIFF_ERROR))
    .action(async (options: ConnectionOptions & { filename: string; output: DiffFormat }) => {
      try {
        process.exitCode = await diff(options);
      } catch (err) {
        process.exitCode = Math.max(EXIT_DIFF_ERROR, report(err));
      }
    });
}

async function diff(options: ConnectionOptions & { filename: string; output: DiffFormat }): Promise<number> {
  const manifest = await readManifest(options.filename);
  const connection = api(options);
  const live = await connection.find(manifest.name);
  const preview = await connection.previewRollout(manifest.name, manifest.text, manifest.contentType);
  if (preview.set?.metadata?.name !== manifest.name) throw new CliError(`the API at ${connection.baseUrl} did not answer a rollout preview (it may predate it)`);
  const result = setDiff(manifest.name, live, preview);
  process.stdout.write(formatDiff(result, options.output, live?.metadata.generation));
  return result.changed ? EXIT_CHANGED : EXIT_NO_CHANGE;
}

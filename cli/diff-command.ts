// `ordinal diff -f FILE|DIR|- ...`: what applying the manifests would change, as `kubectl diff` shows it
// (a unified diff of each set's manifest, live against proposed), each followed by the rollout the apply
// would start, from the API's preview (the planner the workflow runs). The input is read as apply reads
// it (every document validated before anything is previewed). Exit codes as kubectl diff's: 0 no change,
// 1 a change, 2 an error (the usual client errors, the API unreachable among them).
import { Command, Option } from 'commander';
import type { ApiClient } from './api-client.js';
import { CONNECTION_HELP, CliError, api, collect, connectionOptions, report, type ConnectionOptions } from './command-kit.js';
import { DIFF_FORMATS, anyChanged, formatDiffs, setDiff, type DiffFormat, type SetDiffEntry } from './diff-format.js';
import { readManifestInput, type ManifestFile } from './manifest-input.js';

export const EXIT_NO_CHANGE = 0;
export const EXIT_CHANGED = 1;
export const EXIT_DIFF_ERROR = 2;

const DIFF_HELP = `
-f takes what apply takes: files, directories (*.yaml, *.yml, *.json, by name; -R for subdirectories),
- for standard input, YAML files of several documents. Every document is validated first: one invalid
document and nothing is previewed (exit 2, every problem listed). Then each set in turn.

Prints nothing (text) when the apply would change nothing. Otherwise the diff of each set's manifest
(with the API's defaults filled in, as GET shows it), then the rollout, numbered: which instances
would be created, replaced (revision a -> b) or removed, in the order the planner would take them
if every instance became Ready at once, the constraints that shape it (podManagementPolicy,
partition, maxUnavailable, paused, OnDelete, minReadySeconds), the instances kept on another
revision and the DNS names that would appear or go. -o markdown (a section per set) suits a
pull-request comment; -o json prints the set's object, or an array of them for several sets.

Exit codes (as kubectl diff):
  0  no change
  1  the apply would change a set (or create one)
  2  an error: the manifest is invalid or refused, the API could not be reached, ...`;

export function registerDiffCommand(program: Command): void {
  // The shared connection options; its own exit codes (they differ from the other commands').
  connectionOptions(program.command('diff'))
    .description('show what applying a manifest would change: the manifest diff and the rollout preview, like kubectl diff')
    .requiredOption('-f, --filename <file>', 'a manifest file, a directory of them, or - for standard input; may be given several times', collect)
    .option('-R, --recursive', 'with a directory: read its subdirectories too')
    .addOption(new Option('-o, --output <format>', 'text, markdown or json').choices(DIFF_FORMATS).default('text'))
    .addHelpText('after', `${DIFF_HELP}\n${CONNECTION_HELP}`)
    // A usage error (a missing -f, an unknown option) must not read as "changed" (1).
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_DIFF_ERROR))
    .action(async (options: DiffOptions) => {
      try {
        process.exitCode = await diff(options);
      } catch (err) {
        process.exitCode = Math.max(EXIT_DIFF_ERROR, report(err));
      }
    });
}

interface DiffOptions extends ConnectionOptions {
  filename: string[];
  recursive?: boolean;
  output: DiffFormat;
}

/** Every set previewed in the input's order, then printed; a set the API refuses is reported after the others, exit 2. */
async function diff(options: DiffOptions): Promise<number> {
  const manifests = await readManifestInput(options.filename, options.recursive === true, 'diff');
  const connection = api(options);
  const entries: SetDiffEntry[] = [];
  const failures: { name: string; err: unknown }[] = [];
  for (const manifest of manifests) {
    try {
      entries.push(await diffOne(connection, manifest));
    } catch (err) {
      // One set alone: its error is the command's, as before.
      if (manifests.length === 1) throw err;
      failures.push({ name: manifest.name, err });
    }
  }
  process.stdout.write(formatDiffs(entries, options.output));
  if (failures.length > 0) {
    for (const { name, err } of failures) {
      process.stderr.write(`set ${name}: `);
      report(err);
    }
    throw new CliError(`${failures.length} of ${manifests.length} sets could not be previewed`);
  }
  return anyChanged(entries) ? EXIT_CHANGED : EXIT_NO_CHANGE;
}

async function diffOne(connection: ApiClient, manifest: ManifestFile): Promise<SetDiffEntry> {
  const live = await connection.find(manifest.name);
  const preview = await connection.previewRollout(manifest.name, manifest.text, manifest.contentType);
  if (preview.set?.metadata?.name !== manifest.name) throw new CliError(`the API at ${connection.baseUrl} did not answer a rollout preview (it may predate it)`);
  return { diff: setDiff(manifest.name, live, preview), liveGeneration: live?.metadata.generation };
}

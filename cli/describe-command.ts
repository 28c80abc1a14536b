// `ordinal describe SET` and `ordinal events [SET]`: what a set is and what happened to it, as
// `kubectl describe` and `kubectl get events` show it. These only call the API and print; the layout
// is describe-format.ts's.
import { Command, Option } from 'commander';
import { api, clientCommand, option, out, run, type ConnectionOptions } from './command-kit.js';
import { formatAllEventsTable, formatDescription, formatEventTable, type SetDescription } from './describe-format.js';
import { formatObject } from './format.js';

type TextOrObject = 'text' | 'json' | 'yaml';

function outputOption(objects: string): Option {
  return new Option('-o, --output <format>', `output format: text, json or yaml (${objects})`)
    .default('text')
    .argParser(option((text) => parseTextOutput(text)));
}

/** text (the default), json or yaml; table is taken for text, as `get` calls its text output table. */
export function parseTextOutput(text: string): TextOrObject {
  const format = text.toLowerCase();
  if (format === 'text' || format === 'table') return 'text';
  if (format === 'json' || format === 'yaml') return format;
  throw new Error(`unknown output format '${text}': use one of text, json, yaml`);
}

export function registerDescribeCommands(program: Command): void {
  clientCommand(program.command('describe'))
    .description("show a set in detail, like kubectl describe: its spec in short, status, conditions, instances, revisions and events")
    .argument('<name>', 'set name')
    .addOption(outputOption('{set, revisions, events}: the API objects of the set, its revisions and its events'))
    .addHelpText(
      'after',
      '\nInstances: PHASE, READY, ADDRESS, DNS NAME, INCARNATION (the process or task: 1, 2 ... as it is recreated),\n' +
        'RESTARTS, AGE (of the current incarnation), REVISION, LAST EXIT (its last Exited event, else its last error).\n' +
        'Events: LAST SEEN, TYPE (Normal or Warning), REASON, OBJECT (set/NAME or instance/NAME-N), MESSAGE;\n' +
        'a repeated event is counted: "12s (x3 over 5m)" last happened 12s ago, 3 times since 5m ago.\n' +
        'A set keeps its last 100 events.',
    )
    .action(run(async (name: string, options: ConnectionOptions & { output: TextOrObject }) => {
      const client = api(options);
      // The set first: a set that does not exist is one error (404), not three.
      const set = await client.get(name);
      const [revisions, events] = await Promise.all([client.revisions(name), client.events(name)]);
      const description: SetDescription = { set, revisions: revisions?.items ?? [], events };
      out(options.output === 'text' ? formatDescription(description, Date.now()) : formatObject(description, options.output), '');
    }));

  clientCommand(program.command('events'))
    .description("list events, like kubectl get events: a set's, or every set's (newest last)")
    .argument('[name]', 'set name; without it, every set')
    .addOption(outputOption('the API object'))
    .addHelpText(
      'after',
      '\nLAST SEEN, TYPE (Normal or Warning), REASON, OBJECT (set/NAME or instance/NAME-N), MESSAGE; every set\'s add a SET column.\n' +
        'A repeated event is counted: "12s (x3 over 5m)" last happened 12s ago, 3 times since 5m ago.\n' +
        'A set keeps its last 100 events; a deleted set\'s go with it.',
    )
    .action(run(async (name: string | undefined, options: ConnectionOptions & { output: TextOrObject }) => {
      const client = api(options);
      const now = Date.now();
      const answer = name === undefined ? await client.allEvents() : await client.events(name);
      if (options.output !== 'text') {
        out(formatObject(answer, options.output), '');
        return;
      }
      const items = answer.items ?? [];
      if (items.length === 0) process.stderr.write('No events found.\n');
      else if (name === undefined) {
        out(formatAllEventsTable(items as Parameters<typeof formatAllEventsTable>[0], now), '');
        if ('truncated' in answer && answer.truncated) process.stderr.write(`older events left out: these are the newest ${items.length}; name a set to see all of its own\n`);
      }
      else out(formatEventTable(items, name, now), '');
    }));
}

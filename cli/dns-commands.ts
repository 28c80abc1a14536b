// `ordinal dns zones` and `ordinal dns reconcile`: the Route 53 hosted zones sets publish to, and a
// reconcile of one now (drift repaired, or with --dry-run only planned), through the API.
import { Command, Option } from 'commander';
import type { ReconcileView } from '../api/zones.js';
import type { ApiClient } from './api-client.js';
import { CliError, api, clientCommand, option, out, run, type ConnectionOptions } from './command-kit.js';
import { formatObject, formatZoneList, parseOutputFormat, reconcileOutcome, type OutputFormat } from './format.js';

export function registerDnsCommands(program: Command): void {
  // `ordinal dns` itself runs the embedded DNS server (server-commands.ts); these are its client subcommands.
  const dns = program.commands.find((c) => c.name() === 'dns') ?? program.command('dns').description('Route 53 hosted zones');
  clientCommand(dns.command('zones'))
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

  clientCommand(dns.command('reconcile'))
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

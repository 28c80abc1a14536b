// `ordinal up` (the whole local system in one process tree) and `ordinal worker|api|dns` (one
// component each, against an existing Temporal server: the production shape). Their code is loaded
// when they run, so the client commands do not pay for the worker's start-up.
import type { Command } from 'commander';
import { loadConfig } from '../infra/config.js';

const system = () => import('./local-system.js');

const KNOWN_ERRORS = new Set(['DemoManifestError', 'InsecureBindError', 'TokenFileError', 'DnsBindError', 'PortConflictError', 'TemporalUnreachableError']);

/**
 * Errors a person fixes by configuration (the API beyond loopback without tokens, an unreadable token
 * file, ports that are taken or need privileges, a DNS listener that cannot bind, a Temporal server that
 * cannot be reached, a bad variable): printed as one line (ports: one block), exit 1, no stack trace.
 */
async function reported(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const name = (err as Error | undefined)?.name;
    const known = KNOWN_ERRORS.has(name ?? '');
    if (!known && !(err instanceof Error && /^ORDINAL_|^TEMPORAL_/.test(err.message))) throw err;
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

export function registerServerCommands(program: Command): void {
  program
    .command('up')
    .description('run the whole local system: Temporal dev server, worker, DNS server and API (Ctrl-C stops all)')
    .addHelpText(
      'after',
      '\nBefore starting anything it checks every port it needs (API, DNS host and pod listeners, the Temporal dev\n' +
        "server's gRPC and UI ports) and, when one is taken, says which, who holds it and which variable moves it.",
    )
    .option('--demo', 'also apply a manifest (--example) and print the dig commands to try')
    .option('--example <file>', 'manifest to apply with --demo (default: the repository\'s examples/web.yaml)')
    .action((options: { demo?: boolean; example?: string }) => reported(async () => (await system()).up(loadConfig(), options)));

  program
    .command('worker')
    .description('run the worker alone against TEMPORAL_ADDRESS; instances keep running when it stops')
    .action(() => reported(async () => (await system()).runWorker(loadConfig())));

  program
    .command('api')
    .description('run the HTTP API alone against TEMPORAL_ADDRESS')
    .option('--host <host>', 'address to bind (ORDINAL_API_HOST; default 127.0.0.1). Beyond loopback it needs tokens ("ordinal token create")')
    .option('--port <port>', 'port to bind (ORDINAL_API_PORT)')
    .addHelpText(
      'after',
      '\nOn loopback without tokens anyone on this host may call it. Once the token file (ORDINAL_TOKENS_FILE, else\n' +
        '<ORDINAL_DATA_DIR>/tokens.json) holds a token, or with ORDINAL_API_AUTH=required, every request but\n' +
        'GET /healthz and GET /openapi.json needs "Authorization: Bearer <token>". It refuses to listen beyond\n' +
        'loopback without that. It speaks plain HTTP: put a TLS reverse proxy in front when it is exposed.',
    )
    .action((options: { host?: string; port?: string }) =>
      reported(async () => {
        const env = { ...process.env };
        if (options.host) env.ORDINAL_API_HOST = options.host;
        if (options.port) env.ORDINAL_API_PORT = options.port;
        await (await system()).runApi(loadConfig(env));
      }),
    );

  program
    .command('dns')
    .description('run the embedded DNS server alone, answering from the data directory ("dns zones" and "dns reconcile": Route 53 zones)')
    .addHelpText(
      'after',
      '\nIt listens on ORDINAL_DNS_HOST:ORDINAL_DNS_PORT (authoritative only) and on the pod listener\n' +
        'ORDINAL_DNS_POD_ADDRESS:53 that instances resolve through (it forwards other names from this host to\n' +
        'ORDINAL_DNS_UPSTREAM). Port 53 needs root or cap_net_bind_service; ORDINAL_DNS_POD=disabled turns it off.',
    )
    .action(() => reported(async () => (await system()).runDns(loadConfig())));
}

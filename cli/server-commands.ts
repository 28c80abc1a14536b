// `ordinal up` (the whole local system in one process tree) and `ordinal worker|api|dns` (one
// component each, against an existing Temporal server: the production shape). Their code is loaded
// when they run, so the client commands do not pay for the worker's start-up.
import type { Command } from 'commander';
import { loadConfig } from '../infra/config.js';

const system = () => import('./local-system.js');

export function registerServerCommands(program: Command): void {
  program
    .command('up')
    .description('run the whole local system: Temporal dev server, worker, DNS server and API (Ctrl-C stops all)')
    .option('--demo', 'also apply a manifest (--example) and print the dig commands to try')
    .option('--example <file>', 'manifest to apply with --demo', 'examples/web.yaml')
    .action(async (options: { demo?: boolean; example: string }) => {
      await (await system()).up(loadConfig(), options);
    });

  program
    .command('worker')
    .description('run the worker alone against TEMPORAL_ADDRESS; instances keep running when it stops')
    .action(async () => {
      await (await system()).runWorker(loadConfig());
    });

  program
    .command('api')
    .description('run the HTTP API alone against TEMPORAL_ADDRESS')
    .option('--host <host>', 'address to bind (ORDINAL_API_HOST)')
    .option('--port <port>', 'port to bind (ORDINAL_API_PORT)')
    .action(async (options: { host?: string; port?: string }) => {
      const env = { ...process.env };
      if (options.host) env.ORDINAL_API_HOST = options.host;
      if (options.port) env.ORDINAL_API_PORT = options.port;
      await (await system()).runApi(loadConfig(env));
    });

  program
    .command('dns')
    .description('run the embedded DNS server alone, answering from the data directory ("dns zones" and "dns reconcile": Route 53 zones)')
    .action(async () => {
      await (await system()).runDns(loadConfig());
    });
}

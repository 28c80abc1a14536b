// The `ordinal` command line: `up` runs the whole local system; `worker`, `api` and `dns` run one
// component each; the other commands are thin clients of the HTTP API for people and pipelines.
import { Command } from 'commander';
import { registerClientCommands } from './client-commands.js';
import { registerDiffCommand } from './diff-command.js';
import { registerServerCommands } from './server-commands.js';
import { registerTokenCommands } from './token-commands.js';

export function buildProgram(): Command {
  const program = new Command('ordinal')
    .description('Kubernetes StatefulSets without Kubernetes: ordered, named, self-healing instance sets on Temporal')
    .showHelpAfterError()
    .enablePositionalOptions()
    .configureHelp({ sortSubcommands: false });
  registerServerCommands(program);
  registerClientCommands(program);
  registerDiffCommand(program);
  registerTokenCommands(program);
  return program;
}

await buildProgram().parseAsync(process.argv);

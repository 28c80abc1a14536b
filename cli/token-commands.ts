// `ordinal token create|list|revoke`: the API's bearer tokens, edited in the token file on the API's
// host (ORDINAL_TOKENS_FILE, else <ORDINAL_DATA_DIR>/tokens.json), not through the API: they are admin
// commands for whoever runs it. A token is printed once, at creation; the file keeps only its hash.
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '../infra/config.js';
import { SCOPES, TokenFileError, createToken, readTokenFile, revokeToken, type Scope } from '../infra/tokens.js';
import { formatObject } from './format.js';

const TOKENS_HELP = `
The token file is ORDINAL_TOKENS_FILE, else <ORDINAL_DATA_DIR>/tokens.json (default .ordinal/tokens.json):
the one the API reads on this host. It holds names, scopes and SHA-256 hashes, never tokens. The API
rereads it when it changes: a new token works at once, a revoked one stops at once. Once it holds a
token, the API needs one on every request but GET /healthz and GET /openapi.json.`;

interface TokenFileOptions {
  tokensFile?: string;
}

export function registerTokenCommands(program: Command): void {
  const token = program
    .command('token')
    .description("manage the API's bearer tokens in the token file on this host (create, list, revoke)")
    .addHelpText('after', TOKENS_HELP);

  withFile(token.command('create'))
    .description('create a token and print it, once (only its hash is stored); its name is recorded as who made each change')
    .argument('<name>', "the token's name, e.g. ci or alice: letters, digits, '.', '_', '@', '-'")
    .addOption(
      new Option('--scope <scope>', 'read: GET only; write: also PUT, PATCH, DELETE and POST')
        .default('read')
        .argParser((value: string) => {
          if (!(SCOPES as readonly string[]).includes(value)) throw new InvalidArgumentError('must be read or write');
          return value;
        }),
    )
    .addHelpText('after', '\nPrints only the token on stdout, so that TOKEN=$(ordinal token create ci --scope write) works.')
    .action(
      run((name: string, options: TokenFileOptions & { scope: Scope }) => {
        const file = tokensFile(options);
        const { token: secret, record } = createToken(file, name, options.scope);
        process.stdout.write(`${secret}\n`);
        process.stderr.write(
          `token '${record.name}' created with scope ${record.scopes.join(' and ')} (its hash is in ${file}).\n` +
            'It is shown only this once: give it to its user, who sets ORDINAL_TOKEN or "token" in ~/.config/ordinal/config.json (chmod 600).\n',
        );
      }),
    );

  withFile(token.command('list'))
    .description('list the tokens: name, scopes, creation time (never the tokens themselves)')
    .addOption(new Option('-o, --output <format>', 'table, json or yaml').choices(['table', 'json', 'yaml']).default('table'))
    .action(
      run((options: TokenFileOptions & { output: 'table' | 'json' | 'yaml' }) => {
        const file = tokensFile(options);
        const records = readTokenFile(file).map(({ name, scopes, createdAt }) => ({ name, scopes, createdAt }));
        if (options.output !== 'table') {
          process.stdout.write(formatObject({ items: records }, options.output));
          return;
        }
        if (records.length === 0) {
          process.stderr.write(`No tokens in ${file}: the API needs none on loopback ("ordinal token create NAME" makes one).\n`);
          return;
        }
        const rows = [['NAME', 'SCOPES', 'CREATED'], ...records.map((r) => [r.name, r.scopes.join(','), r.createdAt])];
        const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
        for (const row of rows) process.stdout.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('   ')}\n`);
      }),
    );

  withFile(token.command('revoke'))
    .description('revoke a token: the API refuses it from its next request on')
    .argument('<name>', "the token's name, as \"ordinal token list\" shows it")
    .action(
      run((name: string, options: TokenFileOptions) => {
        const file = tokensFile(options);
        if (!revokeToken(file, name)) throw new TokenFileError(`no token named '${name}' in ${file}`);
        process.stdout.write(`token '${name}' revoked\n`);
      }),
    );
}

function withFile(command: Command): Command {
  return command.option('--tokens-file <file>', 'the token file (default: ORDINAL_TOKENS_FILE, else <ORDINAL_DATA_DIR>/tokens.json)').addHelpText('after', TOKENS_HELP);
}

function tokensFile(options: TokenFileOptions): string {
  return options.tokensFile ?? loadConfig().auth.tokensFile;
}

/** Runs an action; a failure is printed as `error: ...` with exit code 1. */
function run<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  };
}

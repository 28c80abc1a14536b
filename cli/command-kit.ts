// What every client command shares: the exit codes and their help, the connection options (--api-url,
// --token) and the API client they make, CliError, and running an action: its failure printed as
// `error: ...` with its exit code. Also the option parsers (durations, counts, repeated -f).
import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiClient, ApiError, DEFAULT_API_URL, UnreachableError } from './api-client.js';
import { ClientConfigError, configPath, resolveConnection, type Connection } from './client-config.js';
import { formatError, parseDuration, type ErrorDetail } from './format.js';

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

/** The options and help every client command shares. */
export function clientCommand(command: Command): Command {
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

export function out(text: string, end = '\n'): void {
  process.stdout.write(text + end);
}

/** Runs an action; failures are printed as `error: ...` (and field lines) with their exit code. */
export function run<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
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

// ---- option parsers ----

/** Adapts a parser that throws Error to commander's InvalidArgumentError. */
export function option<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

export function durationOption(flags: string, description: string, fallback: string, positive = false): Option {
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

export function nonNegativeInteger(what: string): (text: string) => number {
  return option((text) => parseNonNegativeInteger(text, what));
}

/** An option given several times (-f a -f b): every value, in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

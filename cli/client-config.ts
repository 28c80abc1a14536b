// Where the client commands find the API and their token: --api-url / ORDINAL_API_URL /
// ORDINAL_API_HOST+PORT / the config file's apiUrl / the default; --token / ORDINAL_TOKEN / the config
// file's token. The config file is $ORDINAL_CONFIG, else $XDG_CONFIG_HOME/ordinal/config.json, else
// ~/.config/ordinal/config.json: {"apiUrl": "...", "token": "..."}. A config file holding a token must
// be private to its owner (chmod 600), or it is refused.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_API_URL, defaultApiUrl } from './api-client.js';

export interface ClientConfigFile {
  apiUrl?: string;
  token?: string;
}

export interface Connection {
  apiUrl: string;
  token?: string;
  /** Where the token came from, for hints: '--token', 'ORDINAL_TOKEN' or the config file's path. */
  tokenSource?: string;
  /** The config file looked at (whether or not it exists), for hints. */
  configPath: string;
}

export class ClientConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientConfigError';
  }
}

/** The config file's path: ORDINAL_CONFIG, else $XDG_CONFIG_HOME/ordinal/config.json, else ~/.config/ordinal/config.json. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ORDINAL_CONFIG) return path.resolve(env.ORDINAL_CONFIG);
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'ordinal', 'config.json');
}

/**
 * Reads the config file; a missing default file is an empty config, a missing ORDINAL_CONFIG an error.
 * A file that holds a token and that others may read (mode & 0o077) is refused.
 */
export function readClientConfig(file: string, explicit: boolean): ClientConfigFile {
  let text: string;
  let mode: number;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      mode = fs.fstatSync(fd).mode;
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return {};
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new ClientConfigError(`cannot read the config file ${file} (ORDINAL_CONFIG): ${reason}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ClientConfigError(`the config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ClientConfigError(`the config file ${file} must hold a JSON object, e.g. {"apiUrl": "https://ordinal.example:7443", "token": "ord_..."}`);
  }
  const { apiUrl, token, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new ClientConfigError(`the config file ${file} has unknown field ${unknown.map((k) => `'${k}'`).join(', ')}: it takes apiUrl and token`);
  }
  if (apiUrl !== undefined && (typeof apiUrl !== 'string' || apiUrl === '')) throw new ClientConfigError(`the config file ${file}: apiUrl must be a URL string`);
  if (token !== undefined && (typeof token !== 'string' || token === '')) throw new ClientConfigError(`the config file ${file}: token must be a string`);
  if (token !== undefined && (mode & 0o077) !== 0) {
    throw new ClientConfigError(
      `the config file ${file} holds an API token but is open to other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); ` +
        `run "chmod 600 ${file}" (nothing was sent)`,
    );
  }
  return { apiUrl, token };
}

/** Resolves the API URL and token from the flags, the environment and (only when needed) the config file. */
export function resolveConnection(flags: { apiUrl?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): Connection {
  const file = configPath(env);
  const fromEnvHost = Boolean(env.ORDINAL_API_HOST || env.ORDINAL_API_PORT);
  // commander fills apiUrl from ORDINAL_API_URL when --api-url is absent.
  const apiUrlGiven = Boolean(flags.apiUrl || env.ORDINAL_API_URL || fromEnvHost);
  const tokenGiven = Boolean(flags.token || env.ORDINAL_TOKEN);
  const config = apiUrlGiven && tokenGiven ? {} : readClientConfig(file, Boolean(env.ORDINAL_CONFIG));
  const apiUrl = flags.apiUrl || env.ORDINAL_API_URL || (fromEnvHost ? defaultApiUrl(env) : config.apiUrl) || DEFAULT_API_URL;
  if (flags.token) return { apiUrl, token: flags.token, tokenSource: '--token', configPath: file };
  if (env.ORDINAL_TOKEN) return { apiUrl, token: env.ORDINAL_TOKEN, tokenSource: 'ORDINAL_TOKEN', configPath: file };
  if (config.token) return { apiUrl, token: config.token, tokenSource: file, configPath: file };
  return { apiUrl, configPath: file };
}

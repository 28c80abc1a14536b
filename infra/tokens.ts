// API bearer tokens: a token file (<data dir>/tokens.json, or ORDINAL_TOKENS_FILE) holding, per token,
// its name, its scopes and a SHA-256 hash of it, never the token itself. `ordinal token create|list|revoke`
// edit the file on the API's host; the API reads it (again whenever it changes, so a revocation takes
// effect at once) and checks each request's token against it.
//
// Tokens are 32 random bytes (base64url) behind a recognizable prefix (`ord_`), so a plain SHA-256 is
// enough: a slow hash (scrypt) protects guessable passwords, and there is nothing to guess in 256 bits.
// Verification hashes the presented token and compares it with every stored hash in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const TOKEN_PREFIX = 'ord_';
export const SCOPES = ['read', 'write'] as const;
export type Scope = (typeof SCOPES)[number];

/** The token file's file name inside the data directory. */
export const TOKENS_FILE_NAME = 'tokens.json';

/** A token's name: it becomes `requestedBy` in every change the token makes, so it is kept plain. */
export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$/;

/**
 * Names a token cannot have: `api` is what changes made without authentication are recorded as, and
 * the others are what Ordinal itself records, so a token could not pass for them.
 */
const RESERVED_NAMES = new Set(['api', 'ordinal']);

export interface TokenRecord {
  name: string;
  /** ['read'] or ['read', 'write']: write implies read. */
  scopes: Scope[];
  /** `sha256:<64 hex digits>` of the whole token, prefix included. */
  hash: string;
  /** ISO time. */
  createdAt: string;
}

export class TokenFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenFileError';
  }
}

/** A new random token: `ord_` and 43 base64url characters (32 bytes). */
export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** ['read'] for read, ['read', 'write'] for write. */
export function scopesFor(scope: Scope): Scope[] {
  return scope === 'write' ? ['read', 'write'] : ['read'];
}

export function checkTokenName(name: string): void {
  if (!TOKEN_NAME.test(name)) {
    throw new TokenFileError(
      `invalid token name '${name}': 1 to 63 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`,
    );
  }
  if (RESERVED_NAMES.has(name.toLowerCase())) {
    throw new TokenFileError(`the token name '${name}' is reserved (changes made without a token are recorded as 'api'); choose another`);
  }
}

// ---- the file ----

const HASH = /^sha256:[0-9a-f]{64}$/;

/** Reads and checks the token file; a missing file holds no tokens. */
export function readTokenFile(file: string): TokenRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new TokenFileError(`cannot read the token file ${file}: ${(err as Error).message}`);
  }
  return parseTokenFile(text, file);
}

export function parseTokenFile(text: string, file: string): TokenRecord[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TokenFileError(`the token file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(value)) throw new TokenFileError(`the token file ${file} must hold a JSON array of tokens`);
  const names = new Set<string>();
  return value.map((entry, index) => {
    const where = `the token file ${file}, entry ${index}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new TokenFileError(`${where}: must be an object`);
    const { name, scopes, hash, createdAt, ...rest } = entry as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) throw new TokenFileError(`${where}: unknown field ${unknown.map((k) => `'${k}'`).join(', ')}`);
    if (typeof name !== 'string' || !TOKEN_NAME.test(name)) throw new TokenFileError(`${where}: 'name' must be a token name`);
    if (names.has(name)) throw new TokenFileError(`${where}: the name '${name}' is there twice`);
    names.add(name);
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => (SCOPES as readonly unknown[]).includes(s))) {
      throw new TokenFileError(`${where}: 'scopes' must be ["read"] or ["read", "write"]`);
    }
    if (typeof hash !== 'string' || !HASH.test(hash)) throw new TokenFileError(`${where}: 'hash' must be "sha256:<64 hex digits>"`);
    if (typeof createdAt !== 'string') throw new TokenFileError(`${where}: 'createdAt' must be an ISO time`);
    return { name, scopes: [...new Set(scopes as Scope[])], hash, createdAt };
  });
}

/**
 * Writes the token file atomically (a temporary file in the same folder, renamed over it), readable and
 * writable by its owner only (0600).
 */
export function writeTokenFile(file: string, records: TokenRecord[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(temporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    fs.writeSync(fd, `${JSON.stringify(records, null, 2)}\n`);
    fs.fchmodSync(fd, 0o600); // whatever the umask
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(temporary, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(temporary, file);
  } catch (err) {
    fs.rmSync(temporary, { force: true });
    throw err;
  }
}

/** Creates a token; returns it (the only time it is ever seen) and its record. */
export function createToken(file: string, name: string, scope: Scope, now = new Date()): { token: string; record: TokenRecord } {
  checkTokenName(name);
  const records = readTokenFile(file);
  if (records.some((r) => r.name === name)) {
    throw new TokenFileError(`a token named '${name}' exists already; revoke it first ("ordinal token revoke ${name}") or choose another name`);
  }
  const token = generateToken();
  const record: TokenRecord = { name, scopes: scopesFor(scope), hash: hashToken(token), createdAt: now.toISOString() };
  writeTokenFile(file, [...records, record]);
  return { token, record };
}

/** Removes a token; false when there is none of that name. */
export function revokeToken(file: string, name: string): boolean {
  const records = readTokenFile(file);
  const left = records.filter((r) => r.name !== name);
  if (left.length === records.length) return false;
  writeTokenFile(file, left);
  return true;
}

// ---- verification ----

export interface Principal {
  /** The token's name: recorded as `requestedBy` of every change it makes. */
  name: string;
  scopes: Scope[];
}

/** The stored hash that equals the presented token's, compared with every record in constant time. */
export function findToken(records: readonly TokenRecord[], presented: string): TokenRecord | undefined {
  const digest = Buffer.from(hashToken(presented), 'utf8');
  let found: TokenRecord | undefined;
  // No early exit: the time taken does not depend on which record (if any) matched.
  for (const record of records) {
    const stored = Buffer.from(record.hash, 'utf8');
    if (stored.length === digest.length && timingSafeEqual(stored, digest) && found === undefined) found = record;
  }
  return found;
}

/** How the API decides whether requests need a token. */
export interface AuthSettings {
  tokensFile: string;
  /** ORDINAL_API_AUTH=required: tokens are needed even with an empty (or no) token file. */
  required: boolean;
}

/**
 * The API's view of the token file, reread whenever it changes (checked with a stat per request), so
 * `ordinal token create` and `revoke` take effect on a running API.
 *
 * Authentication is enabled when ORDINAL_API_AUTH=required or the file holds a token; once enabled it
 * stays enabled for the life of the process, so revoking the last token locks the API rather than
 * opening it. A token file that cannot be read or parsed fails closed: `state()` throws.
 */
export class TokenStore {
  private records: TokenRecord[] = [];
  private stamp = '';
  private enabledOnce: boolean;

  constructor(readonly settings: AuthSettings) {
    this.enabledOnce = settings.required;
    this.refresh();
  }

  /** Whether requests need a token. Throws a TokenFileError when the file is unreadable. */
  get enabled(): boolean {
    this.refresh();
    return this.enabledOnce;
  }

  /** The token's principal, or undefined for a token that is not (or no longer) in the file. */
  verify(presented: string): Principal | undefined {
    this.refresh();
    const record = findToken(this.records, presented);
    return record ? { name: record.name, scopes: record.scopes } : undefined;
  }

  /** How many tokens the file holds now. */
  get count(): number {
    this.refresh();
    return this.records.length;
  }

  private refresh(): void {
    let stamp: string;
    try {
      const stat = fs.statSync(this.settings.tokensFile);
      stamp = `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
      if ((stat.mode & 0o022) !== 0) {
        throw new TokenFileError(
          `the token file ${this.settings.tokensFile} is writable by others (mode ${(stat.mode & 0o777).toString(8)}): anyone who can write it can add a token; ` +
            `run chmod 600 ${this.settings.tokensFile}`,
        );
      }
    } catch (err) {
      if (err instanceof TokenFileError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new TokenFileError(`cannot read the token file ${this.settings.tokensFile}: ${(err as Error).message}`);
      }
      stamp = 'missing';
    }
    if (stamp === this.stamp) return;
    this.records = readTokenFile(this.settings.tokensFile);
    this.stamp = stamp;
    if (this.records.length > 0) this.enabledOnce = true;
  }
}

// ---- where the API listens ----

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.trim().replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice('::ffff:'.length) : bare;
  const octets = v4.split('.');
  return octets.length === 4 && octets.every((o) => /^(0|[1-9][0-9]{0,2})$/.test(o) && Number(o) <= 255) && octets[0] === '127';
}

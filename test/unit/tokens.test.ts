// The token file and its checks (infra/tokens.ts): tokens are random and prefixed, only hashes are
// stored, the file is written 0600 atomically, verification compares in constant time, the API's view
// follows the file (and fails closed), and what counts as loopback.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  TOKEN_PREFIX,
  TokenFileError,
  TokenStore,
  createToken,
  findToken,
  generateToken,
  hashToken,
  isLoopbackHost,
  readTokenFile,
  revokeToken,
  writeTokenFile,
} from '../../infra/tokens.js';

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  const timingSafeEqual = vi.fn(actual.timingSafeEqual);
  return { ...actual, timingSafeEqual, default: { ...actual, timingSafeEqual } };
});

let dir: string;
let file: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-tokens-'));
  file = path.join(dir, 'data', 'tokens.json');
  vi.mocked(crypto.timingSafeEqual).mockClear();
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('tokens', () => {
  it('are ord_ and 43 base64url characters (32 random bytes), never twice the same', () => {
    const tokens = new Set(Array.from({ length: 200 }, generateToken));
    expect(tokens.size).toBe(200);
    for (const token of tokens) {
      expect(token).toMatch(/^ord_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url')).toHaveLength(32);
    }
  });

  it('are stored as a SHA-256 hash only, with name, scopes and creation time, in a 0600 file', () => {
    const { token, record } = createToken(file, 'ci', 'write', new Date('2025-01-01T00:00:00Z'));
    expect(record).toEqual({ name: 'ci', scopes: ['read', 'write'], hash: hashToken(token), createdAt: '2025-01-01T00:00:00.000Z' });
    expect(record.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(record.hash).toBe(`sha256:${crypto.createHash('sha256').update(token).digest('hex')}`);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(TOKEN_PREFIX.length));
    expect(JSON.parse(text)).toEqual([record]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(readTokenFile(file)).toEqual([record]);
    // A read token has the read scope only.
    expect(createToken(file, 'dashboard', 'read').record.scopes).toEqual(['read']);
  });

  it('keeps the file 0600 whatever the umask, and writes it by rename (no temporary file left behind)', () => {
    const old = process.umask(0o000);
    try {
      createToken(file, 'a', 'read');
      createToken(file, 'b', 'read');
    } finally {
      process.umask(old);
    }
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['tokens.json']);
    const inode = fs.statSync(file).ino;
    revokeToken(file, 'a');
    // A new file renamed over the old one: readers see the old or the new file, never half of one.
    expect(fs.statSync(file).ino).not.toBe(inode);
    expect(readTokenFile(file).map((r) => r.name)).toEqual(['b']);
  });

  it('refuses a duplicate name, an invalid name and the reserved ones, changing nothing', () => {
    createToken(file, 'ci', 'read');
    const before = fs.readFileSync(file, 'utf8');
    expect(() => createToken(file, 'ci', 'write')).toThrow(/exists already/);
    for (const name of ['', 'has space', '../x', 'a/b', '-dash', 'x'.repeat(64), 'api', 'API', 'ordinal']) {
      expect(() => createToken(file, name, 'read'), name).toThrow(TokenFileError);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
  });

  it('revoke removes one token and says whether there was one', () => {
    createToken(file, 'a', 'read');
    createToken(file, 'b', 'write');
    expect(revokeToken(file, 'a')).toBe(true);
    expect(revokeToken(file, 'a')).toBe(false);
    expect(revokeToken(path.join(dir, 'none.json'), 'a')).toBe(false);
    expect(readTokenFile(file).map((r) => r.name)).toEqual(['b']);
  });

  it('a missing file holds no tokens; a malformed one is an error naming what is wrong', () => {
    expect(readTokenFile(path.join(dir, 'missing.json'))).toEqual([]);
    const good = { name: 'a', scopes: ['read'], hash: `sha256:${'0'.repeat(64)}`, createdAt: '2025-01-01T00:00:00Z' };
    for (const [content, message] of [
      ['{', /not valid JSON/],
      ['{}', /JSON array/],
      [JSON.stringify([{ ...good, token: 'ord_x' }]), /unknown field 'token'/],
      [JSON.stringify([{ ...good, scopes: ['admin'] }]), /scopes/],
      [JSON.stringify([{ ...good, scopes: [] }]), /scopes/],
      [JSON.stringify([{ ...good, hash: 'ord_plaintext' }]), /hash/],
      [JSON.stringify([good, good]), /twice/],
    ] as const) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content, { mode: 0o600 });
      expect(() => readTokenFile(file), content).toThrow(message);
    }
  });
});

describe('verification', () => {
  it('finds the token by its hash, comparing with every record in constant time (timingSafeEqual)', () => {
    const records = ['a', 'b', 'c'].map((name) => createToken(file, name, 'read'));
    const stored = readTokenFile(file);
    vi.mocked(crypto.timingSafeEqual).mockClear();
    expect(findToken(stored, records[0].token)?.name).toBe('a');
    // Every record is compared, even after the match: the time does not tell which one matched.
    expect(crypto.timingSafeEqual).toHaveBeenCalledTimes(3);
    vi.mocked(crypto.timingSafeEqual).mockClear();
    expect(findToken(stored, records[2].token)?.name).toBe('c');
    expect(findToken(stored, 'ord_wrong')).toBeUndefined();
    expect(findToken(stored, records[1].token.slice(0, -1))).toBeUndefined();
    expect(findToken(stored, '')).toBeUndefined();
    expect(crypto.timingSafeEqual).toHaveBeenCalledTimes(12);
  });

  it('the API view is off without tokens, on once the file has one, and follows revocations at once', () => {
    const store = new TokenStore({ tokensFile: file, required: false });
    expect(store.enabled).toBe(false);
    const { token } = createToken(file, 'ci', 'write');
    expect(store.enabled).toBe(true);
    expect(store.verify(token)).toEqual({ name: 'ci', scopes: ['read', 'write'] });
    revokeToken(file, 'ci');
    expect(store.verify(token)).toBeUndefined();
    // Revoking the last token locks the API; it does not open it again.
    expect(store.enabled).toBe(true);
    expect(store.count).toBe(0);
  });

  it('ORDINAL_API_AUTH=required turns it on without any token', () => {
    const store = new TokenStore({ tokensFile: file, required: true });
    expect(store.enabled).toBe(true);
    expect(store.verify('ord_anything')).toBeUndefined();
  });

  it('fails closed on a token file that becomes malformed, or writable by others', () => {
    const { token } = createToken(file, 'ci', 'write');
    const store = new TokenStore({ tokensFile: file, required: false });
    expect(store.verify(token)?.name).toBe('ci');
    fs.writeFileSync(file, '[{"name": ', { mode: 0o600 });
    expect(() => store.verify(token)).toThrow(TokenFileError);
    expect(() => store.enabled).toThrow(TokenFileError);
    writeTokenFile(file, readTokenFileOf(token));
    expect(store.verify(token)?.name).toBe('ci');
    fs.chmodSync(file, 0o666);
    expect(() => store.verify(token)).toThrow(/writable by others/);
    // And refuses to start from such a file at all.
    expect(() => new TokenStore({ tokensFile: file, required: false })).toThrow(/chmod 600/);
  });
});

function readTokenFileOf(token: string) {
  return [{ name: 'ci', scopes: ['read' as const, 'write' as const], hash: hashToken(token), createdAt: '2025-01-01T00:00:00.000Z' }];
}

describe('loopback', () => {
  it.each(['127.0.0.1', '127.0.0.2', '127.255.255.254', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each(['0.0.0.0', '::', '[::]', '', '10.0.0.1', '192.168.1.2', '128.0.0.1', '127.0.0.256', '127.1', 'localhost.example.com', 'example.com', '::ffff:10.0.0.1', '1.127.0.0'])(
    '%s is not',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );
});

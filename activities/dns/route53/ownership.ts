// Ownership records: beside every record set Ordinal writes, a TXT record that says who wrote it,
// created and deleted in the same atomic change batch. A record set without one (or with another
// owner's) is never updated or deleted, whatever its name.
//
// Scheme: the TXT lives at `_ordinal-<type>.<name>`, e.g. `_ordinal-a.web-0.web.example.internal` and
// `_ordinal-srv._http._tcp.web.example.internal`. Why:
// - a new leftmost label, not a prefix glued onto the first label (external-dns's `txtPrefix`): the
//   record's own labels stay intact, so no label grows past 63 characters (a known external-dns
//   complaint) and SRV names that already start with `_` need no special case;
// - an underscore label is an "attribute leaf" (RFC 8552, like `_dmarc`): no host name can take it,
//   so it never clashes with an instance or service name, and a CNAME at the record's name (someone
//   else's) does not forbid it;
// - one TXT per name *and type* (the type sits in the label, as in external-dns's newer format), so A
//   and AAAA at one name can have separate owners later;
// - the name grows by at most 14 characters (`_ordinal-aaaa.`), so published names must stay within
//   253 - 14 = 239 characters.
import type { RecordSet } from '../../../core/dns-records.js';

export const HERITAGE = 'ordinal';
/** Owner id used when an installation sets none. Two installations sharing a zone need distinct ids. */
export const DEFAULT_OWNER_ID = 'ordinal';
export const OWNERSHIP_LABEL_PREFIX = '_ordinal-';
/** The longest ownership label plus its dot: how much longer than its record an ownership name is. */
export const OWNERSHIP_NAME_OVERHEAD = `${OWNERSHIP_LABEL_PREFIX}aaaa.`.length;

export interface Ownership {
  /** The Ordinal installation (its configured owner id). */
  owner: string;
  /** The set whose records these are. */
  set: string;
}

/** Owner ids and set names go into the TXT value unquoted: keep them to a safe alphabet. */
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function isValidOwnerId(ownerId: string): boolean {
  return TOKEN.test(ownerId);
}

/** Where the ownership TXT of the record set (`name`, `type`) lives; `name` without a trailing dot. */
export function ownershipName(name: string, type: string): string {
  return `${OWNERSHIP_LABEL_PREFIX}${type.toLowerCase()}.${name}`;
}

/** The record set an ownership TXT name stands for, or undefined when it is not one. */
export function ownedRecordOf(txtName: string): { name: string; type: string } | undefined {
  const match = /^_ordinal-([a-z0-9]+)\.(.+)$/i.exec(txtName);
  if (!match) return undefined;
  return { name: match[2], type: match[1].toUpperCase() };
}

/** The TXT value, quoted as Route 53 wants it: `"heritage=ordinal,owner=<ownerId>,set=<set>"`. */
export function formatOwnership(ownership: Ownership): string {
  if (!TOKEN.test(ownership.owner)) throw new Error(`invalid owner id '${ownership.owner}': letters, digits, '.', '_', '-', at most 63`);
  if (!TOKEN.test(ownership.set)) throw new Error(`invalid set name '${ownership.set}'`);
  return `"heritage=${HERITAGE},owner=${ownership.owner},set=${ownership.set}"`;
}

/** The ownership TXT record set for `record`, written by `ownerId` for `set`. */
export function ownershipRecord(record: Pick<RecordSet, 'name' | 'type' | 'ttl'>, ownership: Ownership): {
  name: string;
  type: 'TXT';
  ttl: number;
  values: string[];
} {
  return { name: ownershipName(record.name, record.type), type: 'TXT', ttl: record.ttl, values: [formatOwnership(ownership)] };
}

/**
 * Reads the ownership from the values of a TXT record set as Route 53 returns them (each a sequence
 * of quoted strings, with `\"`, `\\` and `\DDD` escapes). Undefined unless one value says
 * `heritage=ordinal` with an owner and a set; key order and unknown keys do not matter.
 */
export function parseOwnership(values: ReadonlyArray<string>): Ownership | undefined {
  for (const value of values) {
    const fields = new Map<string, string>();
    for (const pair of txtText(value).split(',')) {
      const eq = pair.indexOf('=');
      if (eq > 0) fields.set(pair.slice(0, eq).trim().toLowerCase(), pair.slice(eq + 1).trim());
    }
    const owner = fields.get('owner');
    const set = fields.get('set');
    if (fields.get('heritage') === HERITAGE && owner && set) return { owner, set };
  }
  return undefined;
}

/** The text of one TXT value: its character-strings unquoted, unescaped and joined. */
export function txtText(value: string): string {
  const s = value.trim();
  if (!s.startsWith('"')) return unescape(s);
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s[i] !== '"') {
      i++; // whitespace between strings
      continue;
    }
    i++;
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < s.length) {
        const octal = /^[0-7]{3}/.exec(s.slice(i + 1, i + 4));
        if (octal) {
          out += String.fromCharCode(parseInt(octal[0], 8));
          i += 4;
        } else {
          out += s[i + 1];
          i += 2;
        }
      } else {
        out += s[i++];
      }
    }
    i++; // closing quote
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3}|.)/g, (_, e: string) => (e.length === 3 ? String.fromCharCode(parseInt(e, 8)) : e));
}

// Revisions name a template by a hash of its content, as Kubernetes' ControllerRevisions do, so the
// same template always gets the same revision (applying an older template is a rollback).

/** JSON with object keys sorted, so equal values always serialize (and hash) the same. */
export function canonicalJson(value: unknown): string {
  // As JSON.stringify: undefined in an array is null; undefined alone is the text null.
  if (value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** 64-bit FNV-1a over the UTF-16 code units, as 16 hex digits. Deterministic and dependency-free. */
export function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * prime) & mask;
  }
  return hash.toString(16).padStart(16, '0');
}

/** The revision name of a template for a set, e.g. "web-5f1c2e9a0b". */
export function revisionName(set: string, template: unknown): string {
  return `${set}-${fnv1a64(canonicalJson(template)).slice(0, 10)}`;
}

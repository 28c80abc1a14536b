// Kubernetes' `$(VAR)` expansion of container env values, command and args, with Kubernetes' rules
// (k8s.io/kubernetes third_party/forked/golang/expansion, Expand):
//   - `$(NAME)` becomes NAME's value when NAME is known; an unknown reference stays as written;
//   - `$$` is an escaped `$`: `$$(NAME)` gives the text `$(NAME)`;
//   - `$` followed by anything else, or at the end, stays as written (`$NAME`, `${NAME}`, `$?`);
//   - `$(` without a closing `)` stays as written;
//   - the name is everything up to the first `)`, so `$(A$(B))` looks up the name `A$(B` and, being
//     unknown, stays; `$()` looks up the empty name, which is never known;
//   - an inserted value is not expanded again.
// Pure: no imports.

const OPERATOR = '$';
const OPENER = '(';
const CLOSER = ')';

/**
 * Expands the `$(NAME)` references in `input`; `lookup` gives a name's value, or undefined for an
 * unknown name (whose reference then stays as written).
 */
export function expandReferences(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== OPERATOR || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    if (next === OPERATOR) {
      // `$$`: an escaped operator.
      out += OPERATOR;
      cursor += 1;
    } else if (next === OPENER) {
      const close = input.indexOf(CLOSER, cursor + 2);
      if (close === -1) {
        // Incomplete reference: keep `$(` and go on scanning after it (Kubernetes does the same).
        out += OPERATOR + OPENER;
        cursor += 1;
      } else {
        const name = input.slice(cursor + 2, close);
        out += lookup(name) ?? `${OPERATOR}${OPENER}${name}${CLOSER}`;
        cursor = close;
      }
    } else {
      // An operator that does not begin a reference: keep it and the character after it. (Kubernetes
      // works on bytes here and mangles a multi-byte character; a UTF-16 code unit is copied intact.)
      out += OPERATOR + next;
      cursor += 1;
    }
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** A lookup in a record's own properties (so `$(toString)` is not Object.prototype's). */
function ownLookup(vars: Readonly<Record<string, string>>): (name: string) => string | undefined {
  return (name) => (Object.hasOwn(vars, name) ? vars[name] : undefined);
}

/**
 * Expands a template's env as Kubernetes expands a container's env: entries in their order, each
 * value seeing the entries before it (already expanded) and then `base` (the instance's ORDINAL_*
 * variables); a later entry is not visible. A name in both resolves to `base` until the env entry
 * defines it. Returns the env entries only, in their order.
 */
export function expandEnv(env: Readonly<Record<string, string>>, base: Readonly<Record<string, string>>): Record<string, string> {
  const defined = new Map<string, string>();
  const fromBase = ownLookup(base);
  const lookup = (name: string) => (defined.has(name) ? defined.get(name) : fromBase(name));
  for (const [name, value] of Object.entries(env)) {
    defined.set(name, value === '' ? value : expandReferences(value, lookup));
  }
  // Object.fromEntries defines own properties, so a name such as __proto__ stays a plain entry.
  return Object.fromEntries(defined);
}

/** Expands each argv element against `vars`: in Kubernetes, command and args see the container's final env. */
export function expandCommand(argv: readonly string[], vars: Readonly<Record<string, string>>): string[] {
  const lookup = ownLookup(vars);
  return argv.map((arg) => expandReferences(arg, lookup));
}

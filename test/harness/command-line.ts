// The command lines of the scripts that are not tests (the bench, the fault suite, the tools installer):
// flags are read with node:util's parseArgs by the script's own parser; this turns its outcome into
// what the script does: --help prints the usage (exit 0), a bad flag prints what is wrong and the usage
// (exit 2: the usage error of command-line tools), anything else runs.

/** Exit code of a command line that cannot be run as given. */
export const USAGE_EXIT_CODE = 2;

/**
 * `parse(argv)` (it throws, naming the flag and the rule, on a bad one), or the exit code the script
 * ends with when it was asked for help or given a bad flag.
 */
export function readCommandLine<T>(argv: string[], usage: string, parse: (argv: string[]) => T | 'help'): { options: T } | { exitCode: number } {
  let parsed: T | 'help';
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}`);
    return { exitCode: USAGE_EXIT_CODE };
  }
  if (parsed === 'help') {
    process.stdout.write(usage);
    return { exitCode: 0 };
  }
  return { options: parsed };
}

/** A flag's whole number, at least `min`; `fallback` when the flag is not given. */
export function integerFlag(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) throw new Error(`--${flag} must be an integer >= ${min}, got '${value}'`);
  return n;
}

/** A comma-separated list of names from `known`: every unknown one is named in the error. */
export function listFlag<T extends string>(flag: string, value: string, known: readonly T[], what: string): T[] {
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) throw new Error(`--${flag} needs at least one ${what} (known: ${known.join(', ')})`);
  const unknown = names.filter((name) => !(known as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`--${flag}: unknown ${what} ${unknown.map((name) => `'${name}'`).join(', ')} (known: ${known.join(', ')})`);
  return names as T[];
}

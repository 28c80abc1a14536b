// Reading a JSON-lines file: the event timelines that test and bench programs append to, one JSON
// object a line (test/fixtures/instance.mjs, bench/programs/instant.mjs).
import fs from 'node:fs';

/** Every line of `file` parsed as a T, blank lines skipped; [] while the file does not exist yet. */
export function readJsonLines<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readJsonLines } from '../harness/json-lines.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-json-lines-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('readJsonLines', () => {
  it('is empty while the file does not exist', () => {
    expect(readJsonLines(path.join(dir, 'missing.jsonl'))).toEqual([]);
  });

  it('parses one object a line, in order, skipping blank lines', () => {
    const file = path.join(dir, 'events.jsonl');
    fs.writeFileSync(file, '{"event":"start","n":1}\n\n{"event":"exit","n":1}\n  \n');
    expect(readJsonLines<{ event: string; n: number }>(file)).toEqual([
      { event: 'start', n: 1 },
      { event: 'exit', n: 1 },
    ]);
  });
});

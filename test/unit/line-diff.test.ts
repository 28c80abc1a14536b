// The CLI's unified line diff: hunks, context, line numbers and counts as `diff -u` prints them.
import { describe, expect, it } from 'vitest';
import { lineEdits, unifiedDiff } from '../../cli/line-diff.js';

const lines = (...l: string[]) => l.map((x) => `${x}\n`).join('');
const names = { from: 'a', to: 'b' };

describe('unifiedDiff', () => {
  it('equal texts: no diff', () => {
    expect(unifiedDiff(lines('x', 'y'), lines('x', 'y'), names)).toBe('');
    expect(unifiedDiff('', '', names)).toBe('');
  });

  it('one changed line, with three lines of context', () => {
    const a = lines('1', '2', '3', '4', '5', '6', '7', '8', '9');
    const b = lines('1', '2', '3', '4', 'five', '6', '7', '8', '9');
    expect(unifiedDiff(a, b, names)).toBe(['--- a', '+++ b', '@@ -2,7 +2,7 @@', ' 2', ' 3', ' 4', '-5', '+five', ' 6', ' 7', ' 8', ''].join('\n'));
  });

  it('two distant changes are two hunks; close ones merge', () => {
    const a = lines('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l');
    const far = unifiedDiff(a, lines('A', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'L'), { ...names, context: 1 });
    expect(far).toBe(['--- a', '+++ b', '@@ -1,2 +1,2 @@', '-a', '+A', ' b', '@@ -11,2 +11,2 @@', ' k', '-l', '+L', ''].join('\n'));
    const near = unifiedDiff(a, lines('A', 'b', 'C', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'), { ...names, context: 1 });
    expect(near).toBe(['--- a', '+++ b', '@@ -1,4 +1,4 @@', '-a', '+A', ' b', '-c', '+C', ' d', ''].join('\n'));
  });

  it('from nothing: every line added, the old range empty at 0', () => {
    expect(unifiedDiff('', lines('x', 'y'), names)).toBe(['--- a', '+++ b', '@@ -0,0 +1,2 @@', '+x', '+y', ''].join('\n'));
  });

  it('an insertion names the line before it in the old text', () => {
    expect(unifiedDiff(lines('a', 'b'), lines('a', 'b', 'c'), { ...names, context: 0 })).toBe(['--- a', '+++ b', '@@ -2,0 +3 @@', '+c', ''].join('\n'));
  });

  it('the edit script keeps the longest common subsequence', () => {
    const edits = lineEdits(['a', 'b', 'c', 'd'], ['b', 'x', 'd']);
    expect(edits.map((e) => `${e.kind}${e.line}`)).toEqual(['-a', ' b', '-c', '+x', ' d']);
  });
});

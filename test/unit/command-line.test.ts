// The scripts' flag rules (test/harness/command-line.ts) and the bench's command line built on them:
// a bad flag is refused with a message naming the flag and the rule, and exit code 2.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseOptions, SCENARIOS } from '../../bench/lib/options.js';
import { integerFlag, listFlag, readCommandLine, USAGE_EXIT_CODE } from '../harness/command-line.js';

describe('integerFlag', () => {
  it('takes a whole number at or above the minimum, and the fallback when the flag is absent', () => {
    expect(integerFlag('trials', '3', 20, 1)).toBe(3);
    expect(integerFlag('seed', '0', 1, 0)).toBe(0);
    expect(integerFlag('trials', undefined, 20, 1)).toBe(20);
  });

  it.each(['0', '1.5', 'x', '', ' '])('refuses %j, naming the flag and the rule', (value) => {
    expect(() => integerFlag('trials', value, 20, 1)).toThrow(`--trials must be an integer >= 1, got '${value}'`);
  });
});

describe('listFlag', () => {
  const known = ['a', 'b', 'c'] as const;

  it('takes comma-separated known names', () => {
    expect(listFlag('only', 'a, c', known, 'kind')).toEqual(['a', 'c']);
  });

  it('names every unknown one and lists the known ones', () => {
    expect(() => listFlag('only', 'a,x,y', known, 'kind')).toThrow("--only: unknown kind 'x', 'y' (known: a, b, c)");
  });

  it('refuses an empty list', () => {
    expect(() => listFlag('only', ' , ', known, 'kind')).toThrow('--only needs at least one kind (known: a, b, c)');
  });
});

describe('readCommandLine', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints the error and the usage on a bad flag, for exit code 2', () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockReturnValue(true);
    const result = readCommandLine(['--nope'], 'usage: x\n', parseOptions);
    expect(result).toEqual({ exitCode: USAGE_EXIT_CODE });
    expect(USAGE_EXIT_CODE).toBe(2);
    expect(stderr).toHaveBeenCalledWith("Unknown option '--nope'\n\nusage: x\n");
  });

  it('prints the usage on --help, for exit code 0', () => {
    const stdout = vi.spyOn(process.stdout, 'write').mockReturnValue(true);
    expect(readCommandLine(['-h'], 'usage: x\n', parseOptions)).toEqual({ exitCode: 0 });
    expect(stdout).toHaveBeenCalledWith('usage: x\n');
  });

  it('returns the options otherwise', () => {
    const result = readCommandLine(['--quick', '--only', 'floor'], 'usage: x\n', parseOptions);
    expect(result).toMatchObject({ options: { quick: true, only: ['floor'], repeats: 1 } });
  });
});

describe("the bench's flags", () => {
  it('defaults to every scenario, full sizes', () => {
    expect(parseOptions([])).toMatchObject({ quick: false, only: [...SCENARIOS], repeats: 3, out: 'bench/results/latest.json' });
  });

  it.each([
    [['--scaleup-replicas', '1'], "--scaleup-replicas must be an integer >= 2, got '1'"],
    [['--only', 'floor,zzz'], "--only: unknown scenario 'zzz'"],
    [['--repeats'], "Option '--repeats <value>' argument missing"],
    [['--quick=yes'], "Option '--quick' does not take an argument"],
  ])('refuses %j: %s', (argv, message) => {
    expect(() => parseOptions(argv)).toThrow(message);
  });
});

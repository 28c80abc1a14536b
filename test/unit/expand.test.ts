import { describe, expect, it } from 'vitest';
import { expandCommand, expandEnv, expandReferences } from '../../core/expand.js';

// The table of Kubernetes' own expansion test (third_party/forked/golang/expansion/expand_test.go,
// doExpansionTest), with its context, then Ordinal's additions.
const context: Record<string, string> = {
  VAR_A: 'A',
  VAR_B: 'B',
  VAR_C: 'C',
  VAR_REF: '$(VAR_A)',
  VAR_EMPTY: '',
};
const lookup = (name: string) => (Object.hasOwn(context, name) ? context[name] : undefined);

describe('expandReferences: the Kubernetes expansion table', () => {
  it.each([
    ['whole string', '$(VAR_A)', 'A'],
    ['repeat', '$(VAR_A)-$(VAR_A)', 'A-A'],
    ['beginning', '$(VAR_A)-1', 'A-1'],
    ['middle', '___$(VAR_B)___', '___B___'],
    ['end', '___$(VAR_C)', '___C'],
    ['compound', '$(VAR_A)_$(VAR_B)_$(VAR_C)', 'A_B_C'],
    ['escape & expand', '$$(VAR_B)_$(VAR_A)', '$(VAR_B)_A'],
    ['compound escape', '$$(VAR_A)_$$(VAR_B)', '$(VAR_A)_$(VAR_B)'],
    ['mixed in escapes', 'f000-$$VAR_A', 'f000-$VAR_A'],
    ['backslash escape ignored', 'foo\\$(VAR_C)bar', 'foo\\Cbar'],
    ['two backslashes ignored', 'foo\\\\$(VAR_C)bar', 'foo\\\\Cbar'],
    ['lots of backslashes', 'foo\\\\\\\\$(VAR_A)bar', 'foo\\\\\\\\Abar'],
    ['nested var references', '$(VAR_A$(VAR_B))', '$(VAR_A$(VAR_B))'],
    ['nested var references second type', '$(VAR_A$(VAR_B)', '$(VAR_A$(VAR_B)'],
    ['value is a reference', '$(VAR_REF)', '$(VAR_A)'],
    ['value is a reference x 2', '%%$(VAR_REF)--$(VAR_REF)%%', '%%$(VAR_A)--$(VAR_A)%%'],
    ['empty var', 'foo$(VAR_EMPTY)bar', 'foobar'],
    ['unterminated expression', 'foo$(VAR_Awhoops!', 'foo$(VAR_Awhoops!'],
    ['expression without operator', 'f00__(VAR_A)__', 'f00__(VAR_A)__'],
    ['shell special vars pass through', '$?_boo_$!', '$?_boo_$!'],
    ['bare operators are ignored', '$VAR_A', '$VAR_A'],
    ['undefined vars are passed through', '$(VAR_DNE)', '$(VAR_DNE)'],
    ['multiple (even) operators, var undefined', '$$$$$$(BIG_MONEY)', '$$$(BIG_MONEY)'],
    ['multiple (even) operators, var defined', '$$$$$$(VAR_A)', '$$$(VAR_A)'],
    ['multiple (odd) operators, var undefined', '$$$$$$$(GOOD_ODDS)', '$$$$(GOOD_ODDS)'],
    ['multiple (odd) operators, var defined', '$$$$$$$(VAR_A)', '$$$A'],
    ['missing open expression', '$VAR_A)', '$VAR_A)'],
    ['shell syntax ignored', '${VAR_A}', '${VAR_A}'],
    ['trailing incomplete expression not consumed', '$(VAR_B)_______$(A', 'B_______$(A'],
    ['trailing incomplete expression, no content, is not consumed', '$(VAR_C)_______$(', 'C_______$('],
    ['operator at end of input string is preserved', '$(VAR_A)foobarzab$', 'Afoobarzab$'],
    ['shell escaped incomplete expr', 'foo-\\$(VAR_A', 'foo-\\$(VAR_A'],
    ['lots of $( in middle', '--$($($($($--', '--$($($($($--'],
    ['lots of $( in beginning', '$($($($($--foo$(', '$($($($($--foo$('],
    ['lots of $( at end', 'foo0--$($($($(', 'foo0--$($($($('],
    ['escaped operators in variable names are not escaped', '$(foo$$var)', '$(foo$$var)'],
    ['newline not expanded', '\n', '\n'],
  ])('%s: %j -> %j', (_name, input, expected) => {
    expect(expandReferences(input, lookup)).toBe(expected);
  });
});

describe('expandReferences: more cases', () => {
  it.each([
    ['empty input', '', ''],
    ['no operator at all', 'plain text', 'plain text'],
    ['a lone $', '$', '$'],
    ['$$ alone', '$$', '$'],
    ['$$$$', '$$$$', '$$'],
    ['$$$ (the last one trailing)', '$$$', '$$'],
    ['trailing $ after text', 'cost: 5$', 'cost: 5$'],
    ['empty reference $() stays', '$()', '$()'],
    ['empty reference among others', '$(VAR_A)$()$(VAR_B)', 'A$()B'],
    ['unterminated $(VAR', '$(VAR_A', '$(VAR_A'],
    ['unterminated, then a complete reference', '$($(VAR_A)', '$($(VAR_A)'],
    ['nested, inner name first: $(VAR_$(OTHER))', '$(VAR_$(VAR_B))', '$(VAR_$(VAR_B))'],
    ['a closing paren before the reference', ')$(VAR_A)(', ')A('],
    ['adjacent references', '$(VAR_A)$(VAR_B)$(VAR_C)', 'ABC'],
    ['a name with spaces is looked up as written', '$( VAR_A )', '$( VAR_A )'],
    ['names are case-sensitive', '$(var_a)', '$(var_a)'],
    ['a value containing $(X) is not expanded again', 'x=$(VAR_REF)', 'x=$(VAR_A)'],
    ['an escaped reference to a known name', '$$(VAR_A)', '$(VAR_A)'],
    ['$ before a non-ASCII character', '$é $😀 $(VAR_A)', '$é $😀 A'],
    ['a surrogate pair inside a reference', '$(😀)', '$(😀)'],
    ['Object.prototype names are unknown', '$(toString)$(__proto__)', '$(toString)$(__proto__)'],
  ])('%s: %j -> %j', (_name, input, expected) => {
    expect(expandReferences(input, lookup)).toBe(expected);
  });

  it('looks each reference up once, by its exact name, and the empty name too', () => {
    const asked: string[] = [];
    expandReferences('$(A)$(B)$$(C)$(A$(D)$()', (name) => {
      asked.push(name);
      return undefined;
    });
    expect(asked).toEqual(['A', 'B', 'A$(D', '']);
  });

  it('a lookup that knows the empty name replaces $() (as Kubernetes: the mapping decides)', () => {
    expect(expandReferences('[$()]', (name) => (name === '' ? 'empty' : undefined))).toBe('[empty]');
  });

  it('an inserted value is never scanned (even if the lookup returns references or escapes)', () => {
    expect(expandReferences('$(A)', () => '$(A)$$')).toBe('$(A)$$');
  });
});

describe('expandEnv: container env, in order', () => {
  const base = { ORDINAL_NAME: 'web-2', ORDINAL_INDEX: '2', ORDINAL_DNS_NAME: 'web-2.web.ordinal.internal' };

  it.each<[string, Record<string, string>, Record<string, string>]>([
    ['no env', {}, {}],
    ['plain values', { A: 'a', B: 'b' }, { A: 'a', B: 'b' }],
    ['a base variable', { ID: 'node-$(ORDINAL_INDEX)' }, { ID: 'node-2' }],
    ['several base variables', { URL: 'http://$(ORDINAL_DNS_NAME):80/$(ORDINAL_NAME)' }, { URL: 'http://web-2.web.ordinal.internal:80/web-2' }],
    ['an earlier entry is visible, expanded', { A: '$(ORDINAL_INDEX)', B: '$(A)-b', C: '$(B)-c' }, { A: '2', B: '2-b', C: '2-b-c' }],
    ['a later entry is not visible', { A: '$(B)', B: 'b' }, { A: '$(B)', B: 'b' }],
    ['an entry does not see itself', { A: 'x$(A)' }, { A: 'x$(A)' }],
    ['an unknown reference stays', { A: '$(NOPE)' }, { A: '$(NOPE)' }],
    ['escapes', { A: '$$(ORDINAL_INDEX)', B: '$$$$' }, { A: '$(ORDINAL_INDEX)', B: '$$' }],
    ['an empty value', { EMPTY: '', A: '[$(EMPTY)]' }, { EMPTY: '', A: '[]' }],
    [
      'an earlier value holding $(X) text is inserted as is, not expanded again',
      { A: '$$(ORDINAL_INDEX)', B: '$(A)' },
      { A: '$(ORDINAL_INDEX)', B: '$(ORDINAL_INDEX)' },
    ],
    ['a base value holding $(X) text is not expanded', { A: '$(ORDINAL_NAME)' }, { A: 'web-2' }],
  ])('%s', (_name, env, expected) => {
    const result = expandEnv(env, base);
    expect(result).toEqual(expected);
    expect(Object.keys(result)).toEqual(Object.keys(env));
  });

  it('a name in both env and base resolves to base until the env entry defines it', () => {
    expect(expandEnv({ BEFORE: '$(X)', X: 'mine', AFTER: '$(X)' }, { X: 'base' })).toEqual({ BEFORE: 'base', X: 'mine', AFTER: 'mine' });
  });

  it('returns the env entries only, not base', () => {
    expect(expandEnv({ A: '1' }, base)).toEqual({ A: '1' });
  });

  it('keeps the order of the env entries', () => {
    expect(Object.keys(expandEnv({ Z: '', M: '', A: '' }, {}))).toEqual(['Z', 'M', 'A']);
  });

  it('does not resolve Object.prototype names, and keeps __proto__ as a plain entry', () => {
    const env = JSON.parse('{"__proto__": "p", "A": "$(__proto__)-$(toString)"}') as Record<string, string>;
    const result = expandEnv(env, {});
    expect(Object.hasOwn(result, '__proto__')).toBe(true);
    expect(result.A).toBe('p-$(toString)');
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
  });

  it('modifies neither argument', () => {
    const env = { A: '$(ORDINAL_INDEX)' };
    const b = { ...base };
    expandEnv(env, b);
    expect(env).toEqual({ A: '$(ORDINAL_INDEX)' });
    expect(b).toEqual(base);
  });
});

describe('expandCommand', () => {
  const vars = { ORDINAL_INDEX: '3', DATA: '/data/web-3', REF: '$(DATA)' };

  it.each<[string, string[], string[]]>([
    ['no references', ['node', 'server.mjs'], ['node', 'server.mjs']],
    ['each element is expanded', ['redis-server', '--port', '637$(ORDINAL_INDEX)', '--dir', '$(DATA)'], ['redis-server', '--port', '6373', '--dir', '/data/web-3']],
    ['an unknown reference stays', ['echo', '$(MISSING)'], ['echo', '$(MISSING)']],
    ['escapes give literal $(...) for a shell', ['sh', '-c', 'echo $$(hostname) $$HOME $(ORDINAL_INDEX)'], ['sh', '-c', 'echo $(hostname) $HOME 3']],
    ['shell syntax stays', ['sh', '-c', 'echo ${HOME} $HOME $?'], ['sh', '-c', 'echo ${HOME} $HOME $?']],
    ['a value is not expanded again', ['echo', '$(REF)'], ['echo', '$(DATA)']],
  ])('%s', (_name, argv, expected) => {
    expect(expandCommand(argv, vars)).toEqual(expected);
  });

  it('an empty value gives an empty argument, not a dropped one', () => {
    expect(expandCommand(['a', '$(E)', 'b'], { E: '' })).toEqual(['a', '', 'b']);
  });

  it('returns a new array', () => {
    const argv = ['x'];
    const result = expandCommand(argv, {});
    expect(result).toEqual(['x']);
    expect(result).not.toBe(argv);
  });

  it('composes with expandEnv as Kubernetes does: command sees the final env', () => {
    const base = { ORDINAL_NAME: 'db-1' };
    const env = expandEnv({ DIR: '/var/lib/$(ORDINAL_NAME)' }, base);
    expect(expandCommand(['postgres', '-D', '$(DIR)', '--name=$(ORDINAL_NAME)'], { ...base, ...env })).toEqual(['postgres', '-D', '/var/lib/db-1', '--name=db-1']);
  });
});

import { describe, expect, it } from 'vitest';
import { applyMergePatch } from '../../core/merge-patch.js';

describe('applyMergePatch', () => {
  // RFC 7386, Appendix A: every example, in order.
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('RFC 7386 example: %j patched with %j is %j', (target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  it('is the RFC section 3 example', () => {
    const target = {
      title: 'Goodbye!',
      author: { givenName: 'John', familyName: 'Doe' },
      tags: ['example', 'sample'],
      content: 'This will be unchanged',
    };
    const patch = { title: 'Hello!', phoneNumber: '+01-123-456-7890', author: { familyName: null }, tags: ['example'] };
    expect(applyMergePatch(target, patch)).toEqual({
      title: 'Hello!',
      author: { givenName: 'John' },
      tags: ['example'],
      content: 'This will be unchanged',
      phoneNumber: '+01-123-456-7890',
    });
  });

  it('modifies neither argument', () => {
    const target = { a: { b: 1, c: 2 }, d: [1] };
    const patch = { a: { b: null, e: 3 }, d: null };
    const before = structuredClone({ target, patch });
    applyMergePatch(target, patch);
    expect({ target, patch }).toEqual(before);
  });

  it('removing a key that is not there changes nothing', () => {
    expect(applyMergePatch({ a: 1 }, { b: null })).toEqual({ a: 1 });
  });

  it('an empty patch object returns a copy of an object target', () => {
    const target = { a: 1 };
    const result = applyMergePatch(target, {});
    expect(result).toEqual(target);
    expect(result).not.toBe(target);
  });

  it('merges a manifest the way PATCH uses it', () => {
    const manifest = {
      apiVersion: 'ordinal.dev/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', labels: { team: 'a', tier: 'front' } },
      spec: { replicas: 3, template: { process: { command: ['node', 'a.mjs'], env: { A: '1', B: '2' } } } },
    };
    const patched = applyMergePatch(manifest, {
      metadata: { labels: { tier: null } },
      spec: { replicas: 5, template: { process: { env: { B: null, C: '3' } } } },
    });
    expect(patched).toEqual({
      apiVersion: 'ordinal.dev/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web', labels: { team: 'a' } },
      spec: { replicas: 5, template: { process: { command: ['node', 'a.mjs'], env: { A: '1', C: '3' } } } },
    });
  });

  it('treats a "__proto__" key as data, never as the prototype', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "a": {"__proto__": {"x": 1}}}') as unknown;
    const result = applyMergePatch({ a: {} }, patch) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.keys(result).sort()).toEqual(['__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(result, '__proto__')?.value).toEqual({ polluted: true });
    expect((result as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const a = result.a as Record<string, unknown>;
    expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
    expect(Object.keys(a)).toEqual(['__proto__']);
  });
});

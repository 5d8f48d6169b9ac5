import { describe, expect, it } from 'vitest';
import { applyMergePatch, createMergePatch, jsonEqual } from './merge-patch.js';

describe('applyMergePatch', () => {
  // The examples of RFC 7386, appendix A.
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('%j + %j = %j', (target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  it('does not modify its inputs or alias the patch', () => {
    const target = { a: { b: 1 }, list: [1] };
    const patch = { a: { c: 2 }, n: { deep: [1] } };
    const out = applyMergePatch(target, patch) as { n: { deep: number[] } };
    expect(target).toEqual({ a: { b: 1 }, list: [1] });
    out.n.deep.push(2);
    expect(patch.n.deep).toEqual([1]);
  });

  it('never touches the prototype', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    const out = applyMergePatch({}, patch) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(out, '__proto__')).toBe(true);
  });
});

describe('createMergePatch', () => {
  it('produces a patch that reproduces the modified object', () => {
    const original = { a: 1, b: { c: 2, d: [1, 2] }, gone: 'x', same: { k: 'v' } };
    const modified = { a: 2, b: { c: 2, d: [1, 3], e: true }, same: { k: 'v' }, added: { x: 1 } };
    const patch = createMergePatch(original, modified);
    expect(patch).toEqual({ a: 2, b: { d: [1, 3], e: true }, gone: null, added: { x: 1 } });
    expect(applyMergePatch(original, patch)).toEqual(modified);
  });

  it('is empty for equal objects', () => {
    expect(createMergePatch({ a: { b: [1] } }, { a: { b: [1] } })).toEqual({});
  });
});

describe('jsonEqual', () => {
  it('ignores key order', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEqual([1], { 0: 1 })).toBe(false);
  });
});

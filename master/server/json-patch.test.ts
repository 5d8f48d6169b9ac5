import { describe, expect, it } from 'vitest';
import { applyJsonPatch, JsonPatchError } from './json-patch.js';

describe('applyJsonPatch (RFC 6902)', () => {
  const doc = { a: { b: [1, 2, 3] }, 'x/y': 1, 't~': 2 };

  it('applies every op', () => {
    expect(
      applyJsonPatch(doc, [
        { op: 'add', path: '/a/b/1', value: 9 },
        { op: 'add', path: '/a/b/-', value: 4 },
        { op: 'remove', path: '/a/b/0' },
        { op: 'replace', path: '/x~1y', value: 'r' },
        { op: 'copy', from: '/a/b', path: '/c' },
        { op: 'move', from: '/t~0', path: '/m' },
        { op: 'test', path: '/m', value: 2 },
      ]),
    ).toEqual({ a: { b: [9, 2, 3, 4] }, 'x/y': 'r', c: [9, 2, 3, 4], m: 2 });
    expect(doc).toEqual({ a: { b: [1, 2, 3] }, 'x/y': 1, 't~': 2 });
  });

  it.each([
    [[{ op: 'test', path: '/a/b/0', value: 2 }], 'test failed'],
    [[{ op: 'remove', path: '/nope' }], 'does not exist'],
    [[{ op: 'replace', path: '/a/c', value: 1 }], 'does not exist'],
    [[{ op: 'add', path: '/a/b/9', value: 1 }], 'out of range'],
    [[{ op: 'add', path: 'a', value: 1 }], 'JSON pointer'],
    [[{ op: 'add', path: '/a' }], 'needs a "value"'],
    [[{ op: 'move', from: '/a', path: '/a/b/x' }], 'into itself'],
    [[{ op: 'frob', path: '/a' }], 'unknown op'],
    [{ op: 'add' }, 'array'],
  ])('refuses %j', (patch, message) => {
    expect(() => applyJsonPatch(doc, patch)).toThrow(JsonPatchError);
    expect(() => applyJsonPatch(doc, patch)).toThrow(message);
  });
});

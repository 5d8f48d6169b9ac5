import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/errors.js';
import { decodeObjectBody, decodePatchBody, jsonErrorOffset } from './body.js';

function fails(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected an error');
}

describe('body decoding', () => {
  it.each([
    ['{"a": }', 6],
    ['{"a": 1,}', 8],
    ['{"a" 1}', 5],
    ['[1, 2', 5],
    ['{"a": tru}', 9],
    ['{"a": "x\\q"}', 9],
    ['{} x', 3],
    ['', 0],
    ['{"a": -}', 6],
  ])('finds where %j stops being JSON (%i)', (text, offset) => {
    expect(jsonErrorOffset(text)).toBe(offset);
  });

  it('decodes JSON and YAML objects', () => {
    expect(decodeObjectBody(Buffer.from('{"a":1}'), 'application/json')).toEqual({ a: 1 });
    expect(decodeObjectBody(Buffer.from('{"a":1}'), undefined)).toEqual({ a: 1 });
    expect(
      decodeObjectBody(Buffer.from('a: 1\nb: [x, "y"]\nc: yes\n'), 'application/yaml'),
    ).toEqual({
      a: 1,
      b: ['x', 'y'],
      c: 'yes',
    });
    expect(
      fails(() => decodeObjectBody(Buffer.from('{"a":'), 'application/json')).message,
    ).toContain('line 1, column 6');
    expect(fails(() => decodeObjectBody(Buffer.from('a: [1'), 'application/yaml')).reason).toBe(
      'BadRequest',
    );
    expect(fails(() => decodeObjectBody(Buffer.from('x'), 'text/plain')).reason).toBe(
      'UnsupportedMediaType',
    );
  });

  it('maps patch content types', () => {
    expect(decodePatchBody(Buffer.from('{"a":1}'), 'application/merge-patch+json').type).toBe(
      'merge',
    );
    expect(
      decodePatchBody(Buffer.from('{"a":1}'), 'application/strategic-merge-patch+json').type,
    ).toBe('strategic');
    expect(decodePatchBody(Buffer.from('[]'), 'application/json-patch+json').type).toBe('json');
    expect(
      fails(() => decodePatchBody(Buffer.from('{}'), 'application/apply-patch+yaml')).reason,
    ).toBe('UnsupportedMediaType');
  });
});

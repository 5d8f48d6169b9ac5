import { describe, expect, it } from 'vitest';
import { generateFromExpression, parseExpression } from './template-expression.js';

describe('template expressions', () => {
  it('generates from classes, ranges and shorthands', () => {
    expect(generateFromExpression('[a-zA-Z0-9]{16}')).toMatch(/^[a-zA-Z0-9]{16}$/);
    expect(generateFromExpression('[\\w]{8}')).toMatch(/^\w{8}$/);
    expect(generateFromExpression('[a-f0-9]{32}')).toMatch(/^[a-f0-9]{32}$/);
    expect(generateFromExpression('[A-Z]{4}')).toMatch(/^[A-Z]{4}$/);
    expect(generateFromExpression('[\\d]{6}')).toMatch(/^\d{6}$/);
    expect(generateFromExpression('[\\a]{5}')).toMatch(/^[a-zA-Z0-9]{5}$/);
    expect(generateFromExpression('[\\A]{5}')).toMatch(/^[^a-zA-Z0-9\s]{5}$/);
    expect(generateFromExpression('user-[a-z]{3}x.y')).toMatch(/^user-[a-z]{3}x\.y$/);
    expect(generateFromExpression('plain')).toBe('plain');
  });

  it('includes both ends of a range and draws from the random source', () => {
    expect(parseExpression('[a-c]{2}')).toEqual([{ alphabet: 'abc', count: 2 }]);
    expect(parseExpression('[0-9a]{1}')).toEqual([{ alphabet: '0123456789a', count: 1 }]);
    const picks: number[] = [];
    const out = generateFromExpression('x[a-c]{3}', (max) => {
      picks.push(max);
      return max - 1;
    });
    expect(out).toBe('xccc');
    expect(picks).toEqual([3, 3, 3]);
  });

  it('is random', () => {
    const values = new Set(Array.from({ length: 20 }, () => generateFromExpression('[\\w]{16}')));
    expect(values.size).toBe(20);
  });

  it.each([
    ['[a-z]+', /\[a-z\] must be followed by a count in braces/],
    ['[a-z]{3}+', /"\+" is not supported outside a class/],
    ['[a-z]', /must be followed by a count in braces/],
    ['\\w{8}', /character classes go in brackets/],
    ['[^a-z]{3}', /unsupported character "\^"/],
    ['[a-z_]{3}', /unsupported character "_"/],
    ['[\\s]{3}', /unsupported escape "\\s"/],
    ['[z-a]{3}', /invalid range z-a/],
    ['[a-Z]{3}', /invalid range a-Z/],
    ['[a-z]{0}', /count 0 must be between 1 and 255/],
    ['[a-z]{256}', /count 256 must be between 1 and 255/],
    ['[]{3}', /empty character class/],
    ['[a-z{3}', /unclosed \[|must be followed/],
    ['(ab){2}', /"\(" is not supported/],
  ])('refuses %s', (expression, message) => {
    expect(() => generateFromExpression(expression)).toThrow(message);
    expect(() => generateFromExpression(expression)).toThrow(
      `malformed expression "${expression}"`,
    );
  });
});

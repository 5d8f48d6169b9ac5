/**
 * OpenShift's `generate: expression` values: literal text with character classes and counts,
 * `[a-zA-Z0-9]{16}`, `[\w]{8}`, `pass-[a-f0-9]{32}`. Only that syntax: a bracketed class of
 * letters, digits, ranges (`a-z`, `A-F`, `0-9`) and the shorthands `\w` (letters, digits, `_`),
 * `\d` (digits), `\a` (letters and digits), `\A` (symbols), followed by a count `{1..255}`.
 * Anything that looks like a wider regular expression is refused rather than left as text.
 * Characters come from the crypto RNG.
 */
import { randomInt } from 'node:crypto';

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
/** OpenShift's symbol set for `\A`. */
const SYMBOLS = '~!@#$%^&*()-_+={}[]\\|<,>.?/"\';:`';

const SHORTHANDS: Readonly<Record<string, string>> = {
  w: LOWER + UPPER + DIGITS + '_',
  d: DIGITS,
  a: LOWER + UPPER + DIGITS,
  A: SYMBOLS,
};

/** The most characters one `{n}` may ask for, as OpenShift. */
export const EXPRESSION_COUNT_MAX = 255;

/** Characters that mean something in a regular expression and nothing here. */
const REGEX_METACHARACTERS = new Set([
  '[',
  ']',
  '{',
  '}',
  '(',
  ')',
  '*',
  '+',
  '?',
  '|',
  '^',
  '$',
  '\\',
]);

export type ExpressionPart = { literal: string } | { alphabet: string; count: number };

/** A random integer in [0, max). */
export type RandomInt = (max: number) => number;

function classOf(c: string): string | undefined {
  if (LOWER.includes(c)) return LOWER;
  if (UPPER.includes(c)) return UPPER;
  if (DIGITS.includes(c)) return DIGITS;
  return undefined;
}

function fail(expression: string, why: string): never {
  throw new Error(`malformed expression "${expression}": ${why}`);
}

/** The characters of one bracketed class, e.g. `a-zA-Z0-9` or `\w`; sorted, no duplicates. */
function parseClass(expression: string, body: string): string {
  if (body === '') fail(expression, 'empty character class []');
  let chars = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      const set = SHORTHANDS[body[i + 1] ?? ''];
      if (!set) {
        fail(
          expression,
          `unsupported escape "\\${body[i + 1] ?? ''}" in [${body}]: use \\w, \\d, \\a or \\A`,
        );
      }
      chars += set;
      i++;
      continue;
    }
    const cls = classOf(c);
    if (!cls) {
      fail(
        expression,
        `unsupported character "${c}" in [${body}]: a class holds letters, digits, ranges such as a-z, and \\w \\d \\a \\A`,
      );
    }
    if (body[i + 1] === '-' && i + 2 < body.length) {
      const to = body[i + 2]!;
      if (classOf(to) !== cls || cls.indexOf(to) < cls.indexOf(c))
        fail(expression, `invalid range ${c}-${to}`);
      chars += cls.slice(cls.indexOf(c), cls.indexOf(to) + 1);
      i += 2;
      continue;
    }
    chars += c;
  }
  return [...new Set(chars)].sort().join('');
}

/** Splits an expression into literal text and generated runs; throws on anything else. */
export function parseExpression(expression: string): ExpressionPart[] {
  const parts: ExpressionPart[] = [];
  let literal = '';
  let i = 0;
  while (i < expression.length) {
    const c = expression[i]!;
    if (c !== '[') {
      if (REGEX_METACHARACTERS.has(c)) {
        const hint = c === '\\' ? ': character classes go in brackets, e.g. [\\w]{8}' : '';
        fail(expression, `"${c}" is not supported outside a class [...]{n}${hint}`);
      }
      literal += c;
      i++;
      continue;
    }
    const close = expression.indexOf(']', i + 1);
    if (close < 0) fail(expression, 'unclosed [');
    const body = expression.slice(i + 1, close);
    const count = /^\{(\d+)\}/.exec(expression.slice(close + 1));
    if (!count)
      fail(expression, `[${body}] must be followed by a count in braces, e.g. [${body}]{8}`);
    const n = Number(count[1]);
    if (n < 1 || n > EXPRESSION_COUNT_MAX)
      fail(expression, `count ${n} must be between 1 and ${EXPRESSION_COUNT_MAX}`);
    if (literal) parts.push({ literal });
    literal = '';
    parts.push({ alphabet: parseClass(expression, body), count: n });
    i = close + 1 + count[0].length;
  }
  if (literal) parts.push({ literal });
  return parts;
}

/** A value for `generate: expression` with `from: EXPRESSION`. */
export function generateFromExpression(
  expression: string,
  random: RandomInt = (max) => randomInt(max),
): string {
  let out = '';
  for (const part of parseExpression(expression)) {
    if ('literal' in part) {
      out += part.literal;
      continue;
    }
    for (let k = 0; k < part.count; k++) out += part.alphabet[random(part.alphabet.length)]!;
  }
  return out;
}

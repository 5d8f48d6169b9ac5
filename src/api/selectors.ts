/**
 * Kubernetes label and field selectors: parsing, formatting and matching. Pure; shared by the
 * API server (filtering lists and watches) and the CLI (`-l`, `--field-selector`).
 */
import { ApiError } from './errors.js';
import type { ApiObject } from './meta.js';
import { labelValue, qualifiedName } from './names.js';
import type { AnyKindDefinition } from './registry.js';

export type LabelOperator = 'Equals' | 'NotEquals' | 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** One value for Equals/NotEquals, one or more for In/NotIn, none for Exists/DoesNotExist. */
  values: readonly string[];
}

/** All requirements must hold; an empty selector matches everything. */
export type LabelSelector = readonly LabelRequirement[];

export type FieldOperator = 'Equals' | 'NotEquals';

export interface FieldRequirement {
  field: string;
  operator: FieldOperator;
  value: string;
}

export type FieldSelector = readonly FieldRequirement[];

// ---------------------------------------------------------------------------------------------
// Label selectors

type TokenType = 'ident' | '!' | '=' | '==' | '!=' | '(' | ')' | ',' | 'end';

interface Token {
  type: TokenType;
  text: string;
  pos: number;
}

const special = new Set(['!', '=', '(', ')', ',']);

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (/\s/.test(ch)) {
      i += 1;
      continue;
    }
    const two = input.slice(i, i + 2);
    if (two === '!=' || two === '==') {
      tokens.push({ type: two, text: two, pos: i });
      i += 2;
      continue;
    }
    if (special.has(ch)) {
      tokens.push({ type: ch as TokenType, text: ch, pos: i });
      i += 1;
      continue;
    }
    const start = i;
    while (i < input.length && !/\s/.test(input[i]!) && !special.has(input[i]!)) i += 1;
    tokens.push({ type: 'ident', text: input.slice(start, i), pos: start });
  }
  tokens.push({ type: 'end', text: '', pos: input.length });
  return tokens;
}

function describe(token: Token): string {
  return token.type === 'end' ? 'end of string' : `"${token.text}"`;
}

/**
 * Parses `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, joined with commas.
 * Throws a BadRequest ApiError naming the offending token.
 */
export function parseLabelSelector(input: string): LabelSelector {
  const tokens = tokenize(input);
  let at = 0;
  const peek = (): Token => tokens[at]!;
  const next = (): Token => tokens[at++]!;
  const fail = (message: string): never => {
    throw ApiError.badRequest(`unable to parse label selector "${input}": ${message}`, [
      { field: 'labelSelector', message, reason: 'FieldValueInvalid' },
    ]);
  };
  const unexpected = (token: Token, expected: string): never =>
    fail(`found ${describe(token)} at position ${token.pos}, expected ${expected}`);

  const checkKey = (key: string): void => {
    const errs = qualifiedName(key);
    if (errs.length) fail(`invalid label key "${key}": ${errs.join('; ')}`);
  };
  const checkValue = (value: string): void => {
    const errs = labelValue(value);
    if (errs.length) fail(`invalid label value "${value}": ${errs.join('; ')}`);
  };

  const requirements: LabelRequirement[] = [];
  if (peek().type === 'end') return requirements;
  for (;;) {
    const first = next();
    if (first.type === '!') {
      const key = next();
      if (key.type !== 'ident') unexpected(key, 'a label key after "!"');
      checkKey(key.text);
      requirements.push({ key: key.text, operator: 'DoesNotExist', values: [] });
    } else if (first.type === 'ident') {
      checkKey(first.text);
      const op = peek();
      if (op.type === ',' || op.type === 'end') {
        requirements.push({ key: first.text, operator: 'Exists', values: [] });
      } else if (op.type === '=' || op.type === '==' || op.type === '!=') {
        next();
        const value = peek();
        let text = '';
        if (value.type === 'ident') {
          next();
          text = value.text;
        } else if (value.type !== ',' && value.type !== 'end') {
          unexpected(value, `a value after "${op.text}"`);
        }
        checkValue(text);
        requirements.push({
          key: first.text,
          operator: op.type === '!=' ? 'NotEquals' : 'Equals',
          values: [text],
        });
      } else if (op.type === 'ident' && (op.text === 'in' || op.text === 'notin')) {
        next();
        const open = next();
        if (open.type !== '(') unexpected(open, `"(" after "${op.text}"`);
        const values: string[] = [];
        if (peek().type === ')') fail(`the set of values for "${op.text}" can't be empty`);
        for (;;) {
          const value = next();
          if (value.type !== 'ident') unexpected(value, 'a value');
          checkValue(value.text);
          values.push(value.text);
          const sep = next();
          if (sep.type === ')') break;
          if (sep.type !== ',') unexpected(sep, '"," or ")"');
        }
        requirements.push({ key: first.text, operator: op.text === 'in' ? 'In' : 'NotIn', values });
      } else {
        unexpected(op, '"=", "==", "!=", "in", "notin", "," or end of string');
      }
    } else {
      unexpected(first, 'a label key or "!"');
    }
    const sep = next();
    if (sep.type === 'end') return requirements;
    if (sep.type !== ',') unexpected(sep, '"," or end of string');
  }
}

/** Whether a set of labels satisfies every requirement. */
export function matchesLabels(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const has = (key: string): boolean =>
    labels !== undefined && Object.prototype.hasOwnProperty.call(labels, key);
  return selector.every((req) => {
    const present = has(req.key);
    const value = present ? labels![req.key] : undefined;
    switch (req.operator) {
      case 'Exists':
        return present;
      case 'DoesNotExist':
        return !present;
      case 'Equals':
        return present && value === req.values[0];
      case 'NotEquals':
        return !present || value !== req.values[0];
      case 'In':
        return present && req.values.includes(value!);
      case 'NotIn':
        return !present || !req.values.includes(value!);
    }
    return false;
  });
}

/** The canonical text of a label selector, parseable by `parseLabelSelector`. */
export function formatLabelSelector(selector: LabelSelector): string {
  return selector
    .map((req) => {
      switch (req.operator) {
        case 'Exists':
          return req.key;
        case 'DoesNotExist':
          return `!${req.key}`;
        case 'Equals':
          return `${req.key}=${req.values[0] ?? ''}`;
        case 'NotEquals':
          return `${req.key}!=${req.values[0] ?? ''}`;
        case 'In':
          return `${req.key} in (${req.values.join(',')})`;
        case 'NotIn':
          return `${req.key} notin (${req.values.join(',')})`;
      }
      return '';
    })
    .join(',');
}

/** `{app: 'web', tier: 'fe'}` -> `app=web,tier=fe` (a selector map as a query string value). */
export function labelSelectorFromMap(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

// ---------------------------------------------------------------------------------------------
// Field selectors

/** Splits on unescaped `sep`, keeping escapes for later. */
function splitUnescaped(input: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i += 1) {
    const ch = input[i]!;
    if (ch === '\\' && i + 1 < input.length) {
      current += ch + input[i + 1]!;
      i += 1;
    } else if (ch === sep) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function unescapeFieldValue(value: string, term: string, input: string): string {
  let out = '';
  for (let i = 0; i < value.length; i += 1) {
    const ch = value[i]!;
    if (ch !== '\\') {
      if (ch === '=' || ch === ',') {
        throw fieldSyntaxError(input, term, `unescaped "${ch}" in value "${value}"`);
      }
      out += ch;
      continue;
    }
    const nextCh = value[i + 1];
    if (nextCh === undefined || !'\\,=!'.includes(nextCh)) {
      throw fieldSyntaxError(input, term, `invalid escape sequence in value "${value}"`);
    }
    out += nextCh;
    i += 1;
  }
  return out;
}

function fieldSyntaxError(input: string, term: string, why: string): ApiError {
  const message = `invalid field selector "${input}": can't understand "${term}": ${why}`;
  return ApiError.badRequest(message, [
    { field: 'fieldSelector', message: why, reason: 'FieldValueInvalid' },
  ]);
}

/** Finds the first unescaped occurrence of an operator. */
function findOperator(term: string): { index: number; op: '!=' | '==' | '=' } | undefined {
  for (let i = 0; i < term.length; i += 1) {
    const ch = term[i]!;
    if (ch === '\\') {
      i += 1;
      continue;
    }
    if (ch === '!' && term[i + 1] === '=') return { index: i, op: '!=' };
    if (ch === '=' && term[i + 1] === '=') return { index: i, op: '==' };
    if (ch === '=') return { index: i, op: '=' };
  }
  return undefined;
}

/**
 * Parses `f=v`, `f==v`, `f!=v`, joined with commas. Values may escape `\,`, `\=`, `\!` and `\\`.
 * Throws a BadRequest ApiError naming the offending term.
 */
export function parseFieldSelector(input: string): FieldSelector {
  const requirements: FieldRequirement[] = [];
  if (input.trim() === '') return requirements;
  for (const term of splitUnescaped(input, ',')) {
    const found = findOperator(term);
    if (!found) throw fieldSyntaxError(input, term, 'expected "=", "==" or "!="');
    const field = term.slice(0, found.index).trim();
    if (field === '') throw fieldSyntaxError(input, term, 'the field name is empty');
    if (!/^[A-Za-z0-9_.\-/]+$/.test(field)) {
      throw fieldSyntaxError(input, term, `invalid field name "${field}"`);
    }
    const raw = term.slice(found.index + found.op.length);
    const value = unescapeFieldValue(raw, term, input);
    requirements.push({ field, operator: found.op === '!=' ? 'NotEquals' : 'Equals', value });
  }
  return requirements;
}

function escapeFieldValue(value: string): string {
  return value.replace(/[\\,=]/g, (ch) => `\\${ch}`);
}

export function formatFieldSelector(selector: FieldSelector): string {
  return selector
    .map((r) => `${r.field}${r.operator === 'NotEquals' ? '!=' : '='}${escapeFieldValue(r.value)}`)
    .join(',');
}

export type FieldGetter = (obj: ApiObject) => string | undefined;

/** The getter for a field selector on a kind, or undefined if the kind does not support it. */
export function fieldGetter(def: AnyKindDefinition, field: string): FieldGetter | undefined {
  if (field === 'metadata.name') return (obj) => obj.metadata.name ?? '';
  if (field === 'metadata.namespace') return (obj) => obj.metadata.namespace ?? '';
  const getter = def.fieldSelectors[field] as FieldGetter | undefined;
  if (!getter) return undefined;
  return (obj) => {
    try {
      return getter(obj) ?? '';
    } catch {
      // A stored object missing a nested field simply has no value for it.
      return '';
    }
  };
}

/**
 * Compiles a field selector for a kind. Throws BadRequest `field label not supported: X` when
 * the kind has no such field selector, as Kubernetes does.
 */
export function fieldMatcher(
  def: AnyKindDefinition,
  selector: FieldSelector,
): (obj: ApiObject) => boolean {
  const checks = selector.map((req) => {
    const get = fieldGetter(def, req.field);
    if (!get) {
      throw ApiError.badRequest(`field label not supported: ${req.field}`, [
        {
          field: 'fieldSelector',
          message: `field label not supported: ${req.field}`,
          reason: 'FieldValueNotSupported',
        },
      ]);
    }
    return { get, req };
  });
  return (obj) =>
    checks.every(({ get, req }) => {
      const value = get(obj) ?? '';
      return req.operator === 'Equals' ? value === req.value : value !== req.value;
    });
}

/** Label selector and field selector together, for one kind: what list and watch filter with. */
export function objectMatcher(
  def: AnyKindDefinition,
  options: { labelSelector?: string | undefined; fieldSelector?: string | undefined },
): (obj: ApiObject) => boolean {
  const labels = options.labelSelector ? parseLabelSelector(options.labelSelector) : [];
  const fields = options.fieldSelector
    ? fieldMatcher(def, parseFieldSelector(options.fieldSelector))
    : undefined;
  if (labels.length === 0 && !fields) return () => true;
  return (obj) => matchesLabels(labels, obj.metadata.labels) && (fields ? fields(obj) : true);
}

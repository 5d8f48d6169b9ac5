/**
 * JSON Patch (RFC 6902) over plain JSON values: add, remove, replace, move, copy, test.
 * Applies to a copy; throws JsonPatchError naming the failing operation.
 */

export class JsonPatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonPatchError';
  }
}

type Container = Record<string, unknown> | unknown[];

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parsePointer(pointer: string, where: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/'))
    throw new JsonPatchError(`${where}: "${pointer}" is not a JSON pointer`);
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function hasOwn(obj: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

function arrayIndex(arr: unknown[], token: string, where: string, allowEnd: boolean): number {
  if (allowEnd && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token))
    throw new JsonPatchError(`${where}: invalid array index "${token}"`);
  const i = Number(token);
  if (i > arr.length || (!allowEnd && i === arr.length)) {
    throw new JsonPatchError(`${where}: array index ${i} is out of range`);
  }
  return i;
}

/** The container holding the pointer's last token, and that token. */
function resolveParent(
  doc: unknown,
  tokens: string[],
  where: string,
): { parent: Container; key: string } {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, token, where, false)];
    else if (isObject(node) && hasOwn(node, token)) node = node[token];
    else throw new JsonPatchError(`${where}: path does not exist`);
  }
  if (!Array.isArray(node) && !isObject(node))
    throw new JsonPatchError(`${where}: path does not exist`);
  return { parent: node, key: tokens[tokens.length - 1]! };
}

function get(doc: unknown, pointer: string, where: string): unknown {
  let node = doc;
  for (const token of parsePointer(pointer, where)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, token, where, false)];
    else if (isObject(node) && hasOwn(node, token)) node = node[token];
    else throw new JsonPatchError(`${where}: path "${pointer}" does not exist`);
  }
  return node;
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => equal(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((k) => hasOwn(b, k) && equal(a[k], b[k]))
    );
  }
  return false;
}

function add(doc: unknown, pointer: string, value: unknown, where: string): unknown {
  const tokens = parsePointer(pointer, where);
  if (tokens.length === 0) return value;
  const { parent, key } = resolveParent(doc, tokens, where);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, where, true), 0, value);
  else
    Object.defineProperty(parent, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return doc;
}

function remove(doc: unknown, pointer: string, where: string): unknown {
  const tokens = parsePointer(pointer, where);
  if (tokens.length === 0) throw new JsonPatchError(`${where}: cannot remove the whole document`);
  const { parent, key } = resolveParent(doc, tokens, where);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, where, false), 1);
  else if (hasOwn(parent, key)) delete parent[key];
  else throw new JsonPatchError(`${where}: path "${pointer}" does not exist`);
  return doc;
}

/** Applies a JSON Patch document to a copy of `doc`. */
export function applyJsonPatch(doc: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch))
    throw new JsonPatchError('a JSON patch must be an array of operations');
  let out = clone(doc);
  patch.forEach((raw, i) => {
    const where = `operation ${i}`;
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new JsonPatchError(`${where}: needs string "op" and "path"`);
    }
    const op = raw as unknown as Operation;
    const needValue = (): unknown => {
      if (!hasOwn(raw, 'value')) throw new JsonPatchError(`${where}: "${op.op}" needs a "value"`);
      return clone(op.value);
    };
    const needFrom = (): string => {
      if (typeof op.from !== 'string')
        throw new JsonPatchError(`${where}: "${op.op}" needs a "from"`);
      return op.from;
    };
    switch (op.op) {
      case 'add':
        out = add(out, op.path, needValue(), where);
        break;
      case 'remove':
        out = remove(out, op.path, where);
        break;
      case 'replace': {
        const value = needValue();
        get(out, op.path, where);
        out = op.path === '' ? value : add(remove(out, op.path, where), op.path, value, where);
        break;
      }
      case 'move': {
        const from = needFrom();
        if (op.path.startsWith(`${from}/`))
          throw new JsonPatchError(`${where}: cannot move a value into itself`);
        const value = get(out, from, where);
        out = add(remove(out, from, where), op.path, value, where);
        break;
      }
      case 'copy': {
        const value = clone(get(out, needFrom(), where));
        out = add(out, op.path, value, where);
        break;
      }
      case 'test':
        if (!equal(get(out, op.path, where), needValue())) {
          throw new JsonPatchError(`${where}: test failed: the value at "${op.path}" differs`);
        }
        break;
      default:
        throw new JsonPatchError(`${where}: unknown op "${op.op}"`);
    }
  });
  return out;
}

/**
 * JSON merge patch (RFC 7386): objects merge recursively, `null` deletes a member, anything
 * else (arrays included) replaces. Pure; the server applies patches, the CLI creates them.
 */

export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets an own property, also for keys like `__proto__` (never touches the prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** Applies `patch` to `target` and returns the result; neither input is modified. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result: Record<string, unknown> = {};
  if (isObject(target)) {
    for (const key of Object.keys(target)) setOwn(result, key, clone(target[key]));
  }
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) delete result[key];
    else {
      const current = Object.prototype.hasOwnProperty.call(result, key) ? result[key] : undefined;
      setOwn(result, key, applyMergePatch(current, value));
    }
  }
  return result;
}

/** Deep equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * The merge patch that turns `original` into `modified` (both objects). Members set to `null`
 * in `modified` cannot be expressed by a merge patch and are treated as deletions.
 */
export function createMergePatch(
  original: Record<string, unknown>,
  modified: Record<string, unknown>,
): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(original)) {
    if (!Object.prototype.hasOwnProperty.call(modified, key)) setOwn(patch, key, null);
  }
  for (const key of Object.keys(modified)) {
    const before = Object.prototype.hasOwnProperty.call(original, key) ? original[key] : undefined;
    const after = modified[key];
    if (jsonEqual(before, after)) continue;
    if (isObject(before) && isObject(after)) {
      const sub = createMergePatch(before, after);
      if (Object.keys(sub).length > 0) setOwn(patch, key, sub);
    } else {
      setOwn(patch, key, after === undefined ? null : clone(after));
    }
  }
  return patch;
}

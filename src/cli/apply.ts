import { createHash } from 'node:crypto';
import type { AnyKindDefinition, ApiObject } from '../api/index.js';
import { jsonEqual } from '../api/merge-patch.js';

/** Where `apply` keeps what it applied last, under kubectl's name so habits and tools carry over. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function has(obj: Json, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

/** The object without the last-applied annotation (and without an empty annotations map). */
function withoutLastApplied(obj: ApiObject): ApiObject {
  const copy = structuredClone(obj);
  const annotations = copy.metadata?.annotations;
  if (annotations && has(annotations, LAST_APPLIED)) {
    delete annotations[LAST_APPLIED];
    if (Object.keys(annotations).length === 0) delete copy.metadata.annotations;
  }
  return copy;
}

/** The object as it is sent by apply (and by `create --save-config`): with the annotation
 * holding its own JSON. */
export function withLastApplied(obj: ApiObject): ApiObject {
  const config = withoutLastApplied(obj);
  const out = structuredClone(config);
  out.metadata = {
    ...out.metadata,
    annotations: {
      ...(out.metadata.annotations ?? {}),
      [LAST_APPLIED]: `${JSON.stringify(redactSecretValues(config))}\n`,
    },
  };
  return out;
}

/**
 * A Secret's values never go into the annotation (kubectl's well-known leak): each is replaced
 * by its SHA-256 digest. Apply only needs the keys from the last-applied configuration, to
 * remove the ones the user dropped; values are compared against the live object.
 */
function redactSecretValues(config: ApiObject): ApiObject {
  if (config.kind !== 'Secret') return config;
  const out = structuredClone(config);
  for (const field of ['data', 'stringData']) {
    const map = out[field];
    if (!isObject(map)) continue;
    for (const [key, value] of Object.entries(map)) {
      map[key] = `sha256:${createHash('sha256').update(String(value)).digest('hex')}`;
    }
  }
  return out;
}

/** The configuration the live object was last applied with, if any. */
export function lastApplied(live: ApiObject): ApiObject | undefined {
  const text = live.metadata.annotations?.[LAST_APPLIED];
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? (value as ApiObject) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `live` already holds everything in `wanted`: objects may have more fields (server
 * defaults), arrays must have the same length and each element must hold the wanted one.
 */
export function contains(live: unknown, wanted: unknown): boolean {
  if (isObject(wanted)) {
    return (
      isObject(live) &&
      Object.keys(wanted).every((k) => has(live, k) && contains(live[k], wanted[k]))
    );
  }
  if (Array.isArray(wanted)) {
    return (
      Array.isArray(live) &&
      live.length === wanted.length &&
      wanted.every((w, i) => contains(live[i], w))
    );
  }
  return jsonEqual(live, wanted);
}

/**
 * kubectl's three-way merge, as a JSON merge patch:
 * - fields in `modified` that `current` lacks or holds differently are set;
 * - fields in `original` (the last applied configuration) that `modified` dropped are removed;
 * - fields nobody applied (server defaults, other writers) are left alone.
 * Arrays are replaced as a whole, and only when the applied array changed or the live one no
 * longer holds it, so server-filled fields inside array elements do not count as a change.
 */
export function threeWayMergePatch(
  original: Json | undefined,
  modified: Json,
  current: Json,
): Json {
  const patch: Json = {};
  if (original) {
    for (const key of Object.keys(original)) {
      if (!has(modified, key) && has(current, key)) patch[key] = null;
    }
  }
  for (const key of Object.keys(modified)) {
    const m = modified[key];
    const c = has(current, key) ? current[key] : undefined;
    const o = original && has(original, key) ? original[key] : undefined;
    if (m === null) {
      if (c !== undefined) patch[key] = null;
      continue;
    }
    if (isObject(m) && isObject(c)) {
      const sub = threeWayMergePatch(isObject(o) ? o : undefined, m, c);
      if (Object.keys(sub).length > 0) patch[key] = sub;
    } else if (Array.isArray(m)) {
      if (!contains(c, m) || (o !== undefined && !jsonEqual(o, m))) patch[key] = m;
    } else if (!jsonEqual(c, m)) {
      patch[key] = m;
    }
  }
  return patch;
}

function normalized(def: AnyKindDefinition, obj: ApiObject): ApiObject {
  if (!def.normalize) return obj;
  try {
    return def.normalize(structuredClone(obj)) as ApiObject;
  } catch {
    return obj;
  }
}

export type ApplyPlan =
  | { action: 'create'; object: ApiObject }
  | { action: 'patch'; patch: Json }
  | { action: 'unchanged' };

/**
 * What `apply` must do for one object: create it, patch it, or nothing. The comparison uses
 * the kind's normalisation (a Secret's stringData is compared as the data it becomes), while
 * the annotation keeps what the user wrote.
 */
export function planApply(
  def: AnyKindDefinition,
  given: ApiObject,
  live: ApiObject | undefined,
): ApplyPlan {
  const modified = withLastApplied(given);
  if (!live) return { action: 'create', object: modified };
  const original = lastApplied(live);
  const patch = threeWayMergePatch(
    original ? normalized(def, original) : undefined,
    normalized(def, modified),
    live,
  );
  for (const key of ['apiVersion', 'kind']) delete patch[key];
  const meta = patch.metadata;
  if (isObject(meta)) {
    for (const key of ['name', 'namespace', 'resourceVersion', 'uid', 'creationTimestamp'])
      delete meta[key];
    if (Object.keys(meta).length === 0) delete patch.metadata;
  }
  return Object.keys(patch).length === 0 ? { action: 'unchanged' } : { action: 'patch', patch };
}

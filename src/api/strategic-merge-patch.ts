/**
 * Strategic merge patch, as the Kubernetes API server applies `application/strategic-merge-patch+
 * json` (kubectl's and oc's default patch type): a JSON merge patch, except that the lists the
 * Kubernetes types mark with a merge key are merged item by item instead of replaced. A patch
 * `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"v2"}]}}}}` changes the image
 * of container `web` and keeps its ports, env and probes, and every other container.
 *
 * The lists and their keys are Kubernetes' own (`patchStrategy:"merge"` and `patchMergeKey`
 * struct tags) for the kinds Slipway serves: pod specs (in Pods and in every template), container
 * fields, Service ports, metadata finalizers and owner references, status conditions. Any other
 * list is replaced, as in Kubernetes.
 *
 * Directives: `$patch: replace` (a map or list is replaced by the patch's), `$patch: delete` (a
 * map, or a keyed list item named by its key, is deleted), `$deleteFromPrimitiveList/FIELD`
 * (values removed from a merged primitive list); `$setElementOrder/FIELD` and `$retainKeys`
 * (sent by `kubectl apply`) are accepted and ignored. Pure; neither input is modified.
 */
import { ApiError } from './errors.js';

/** How the fields of one object merge: a field absent here merges as JSON merge patch does. */
export interface PatchSchema {
  [field: string]: FieldRule;
}

export interface FieldRule {
  /** A list merged by this key of its items (objects). */
  mergeKey?: string;
  /** A list of primitives merged as a set (finalizers). */
  set?: true;
  /** The schema of the field's value (an object), or of its items (a keyed list). */
  schema?: PatchSchema;
}

const meta: PatchSchema = {
  finalizers: { set: true },
  ownerReferences: { mergeKey: 'uid' },
};

const container: PatchSchema = {
  ports: { mergeKey: 'containerPort' },
  env: { mergeKey: 'name' },
  volumeMounts: { mergeKey: 'mountPath' },
  volumeDevices: { mergeKey: 'devicePath' },
};

const podSpec: PatchSchema = {
  containers: { mergeKey: 'name', schema: container },
  initContainers: { mergeKey: 'name', schema: container },
  ephemeralContainers: { mergeKey: 'name', schema: container },
  volumes: { mergeKey: 'name' },
  imagePullSecrets: { mergeKey: 'name' },
  hostAliases: { mergeKey: 'ip' },
  topologySpreadConstraints: { mergeKey: 'topologyKey' },
  resourceClaims: { mergeKey: 'name' },
  schedulingGates: { mergeKey: 'name' },
};

const podTemplate: PatchSchema = {
  metadata: { schema: meta },
  spec: { schema: podSpec },
};

const conditions: PatchSchema = { conditions: { mergeKey: 'type' } };

const withTemplate = (extra: PatchSchema = {}): PatchSchema => ({
  metadata: { schema: meta },
  spec: { schema: { template: { schema: podTemplate } } },
  status: { schema: conditions },
  ...extra,
});

/** The schema of each kind with keyed lists; other kinds merge as JSON merge patch, with meta. */
const KINDS: Record<string, PatchSchema> = {
  Pod: {
    metadata: { schema: meta },
    spec: { schema: podSpec },
    status: { schema: conditions },
  },
  ReplicationController: withTemplate(),
  ReplicaSet: withTemplate(),
  Deployment: withTemplate(),
  DeploymentConfig: withTemplate(),
  Service: {
    metadata: { schema: meta },
    spec: { schema: { ports: { mergeKey: 'port' } } },
  },
  Node: {
    metadata: { schema: meta },
    status: { schema: { conditions: { mergeKey: 'type' }, addresses: { mergeKey: 'type' } } },
  },
};

const DEFAULT: PatchSchema = { metadata: { schema: meta } };

export function strategicSchemaFor(kind: string): PatchSchema {
  return KINDS[kind] ?? DEFAULT;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets an own property, also for keys like `__proto__` (never touches the prototype). */
function setOwn(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function has(obj: Json, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function invalid(path: string, message: string): ApiError {
  return new ApiError(
    'Invalid',
    `the strategic merge patch cannot be applied: ${path}: ${message}`,
  );
}

const IGNORED_DIRECTIVES = ['$setElementOrder/', '$retainKeys'];
const DELETE_FROM = '$deleteFromPrimitiveList/';

/** A patch value with the directives of a map taken out (and checked). */
function withoutDirectives(patch: Json, path: string): Json {
  const out: Json = {};
  for (const key of Object.keys(patch)) {
    if (key === '$patch') {
      const v = patch[key];
      if (v !== 'replace' && v !== 'delete' && v !== 'merge') {
        throw invalid(path, `$patch must be replace, delete or merge, not ${JSON.stringify(v)}`);
      }
      continue;
    }
    if (key.startsWith(DELETE_FROM) || IGNORED_DIRECTIVES.some((d) => key.startsWith(d))) continue;
    if (key.startsWith('$')) throw invalid(path, `unknown directive ${key}`);
    setOwn(out, key, patch[key]);
  }
  return out;
}

/** Removes `$patch` and other directives from a value that replaces (nothing to merge with). */
function plain(value: unknown, path: string): unknown {
  if (Array.isArray(value)) {
    return value
      .filter((item) => !(isObject(item) && item.$patch === 'delete'))
      .map((item, i) => plain(item, `${path}[${i}]`));
  }
  if (!isObject(value)) return clone(value);
  if (value.$patch === 'delete') return undefined;
  const out: Json = {};
  for (const [k, v] of Object.entries(withoutDirectives(value, path))) {
    if (v === null) continue;
    const p = plain(v, `${path}.${k}`);
    if (p !== undefined) setOwn(out, k, p);
  }
  return out;
}

function mergeObject(target: unknown, patch: Json, schema: PatchSchema, path: string): unknown {
  if (patch.$patch === 'delete') return undefined;
  if (patch.$patch === 'replace') return plain(patch, path);
  const result: Json = {};
  if (isObject(target))
    for (const key of Object.keys(target)) setOwn(result, key, clone(target[key]));
  const fields = withoutDirectives(patch, path);
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    const at = path ? `${path}.${key}` : key;
    if (value === null) {
      delete result[key];
      continue;
    }
    const rule = Object.prototype.hasOwnProperty.call(schema, key) ? schema[key] : undefined;
    const current = has(result, key) ? result[key] : undefined;
    const merged = mergeValue(current, value, rule, at);
    if (merged === undefined) delete result[key];
    else setOwn(result, key, merged);
  }
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(DELETE_FROM)) continue;
    const field = key.slice(DELETE_FROM.length);
    const drop = patch[key];
    if (!Array.isArray(drop)) throw invalid(`${path}.${key}`, 'must be a list');
    const list = result[field];
    if (Array.isArray(list)) {
      setOwn(
        result,
        field,
        list.filter((v) => !drop.some((d) => JSON.stringify(d) === JSON.stringify(v))),
      );
    }
  }
  return result;
}

function mergeValue(
  current: unknown,
  value: unknown,
  rule: FieldRule | undefined,
  path: string,
): unknown {
  if (Array.isArray(value)) {
    if (rule?.mergeKey)
      return mergeKeyedList(current, value, rule.mergeKey, rule.schema ?? {}, path);
    if (rule?.set) return mergeSet(current, value, path);
    return plain(value, path);
  }
  if (isObject(value)) return mergeObject(current, value, rule?.schema ?? {}, path);
  return clone(value);
}

function mergeSet(current: unknown, patch: unknown[], path: string): unknown[] {
  if (patch.some((v) => isObject(v) && v.$patch === 'replace')) {
    return patch.filter((v) => !isObject(v)).map((v) => clone<unknown>(v));
  }
  const out: unknown[] = Array.isArray(current) ? current.map((v) => clone<unknown>(v)) : [];
  for (const [i, v] of patch.entries()) {
    if (isObject(v) || Array.isArray(v)) throw invalid(`${path}[${i}]`, 'must be a plain value');
    if (!out.some((o) => JSON.stringify(o) === JSON.stringify(v))) out.push(v);
  }
  return out;
}

function mergeKeyedList(
  current: unknown,
  patch: unknown[],
  key: string,
  schema: PatchSchema,
  path: string,
): unknown[] {
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
    return plain(
      patch.filter((item) => !(isObject(item) && item.$patch === 'replace')),
      path,
    ) as unknown[];
  }
  const out: unknown[] = Array.isArray(current) ? current.map((v) => clone<unknown>(v)) : [];
  const same = (item: unknown, keyValue: unknown): boolean =>
    isObject(item) && JSON.stringify(item[key]) === JSON.stringify(keyValue);
  for (const [i, item] of patch.entries()) {
    const at = `${path}[${i}]`;
    if (!isObject(item)) throw invalid(at, `must be an object with "${key}"`);
    if (!has(item, key) || item[key] === null) {
      throw invalid(at, `has no "${key}", the key this list is merged by`);
    }
    const index = out.findIndex((o) => same(o, item[key]));
    if (item.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) out[index] = mergeObject(out[index], item, schema, at);
    else out.push(mergeObject(undefined, item, schema, at));
  }
  return out;
}

/**
 * Applies a strategic merge patch to `target` with the kind's schema (strategicSchemaFor) and
 * returns the result. ApiError Invalid (naming the path) for a patch it cannot apply.
 */
export function applyStrategicMergePatch(
  target: unknown,
  patch: Record<string, unknown>,
  schema: PatchSchema,
): unknown {
  return mergeObject(target, patch, schema, '');
}

import type { z } from 'zod';
import { ApiError, type StatusCause } from './errors.js';
import type { ApiObject } from './meta.js';
import { objectMetaSchema } from './meta.js';
import {
  ANNOTATIONS_TOTAL_MAX,
  dns1123Label,
  dns1123Subdomain,
  labelValue,
  qualifiedName,
} from './names.js';
import { apiVersionOf, type AnyKindDefinition } from './registry.js';

/** The largest object the store accepts, as etcd's default request limit. */
export const OBJECT_SIZE_MAX = 1536 * 1024;

/** `['spec', 'containers', 0, 'image']` -> `spec.containers[0].image` */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const s = String(part);
      out += /^[A-Za-z_$][\w$]*$/.test(s) ? (out ? `.${s}` : s) : `[${s}]`;
    }
  }
  return out;
}

function describeValue(value: unknown): string {
  const s = JSON.stringify(value);
  if (s === undefined) return String(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Zod issues as Kubernetes-style causes: `Required value`, `Invalid value: 3: must be a string`. */
export function zodCauses(error: z.ZodError, prefix: readonly PropertyKey[] = []): StatusCause[] {
  return error.issues.map((issue) => {
    const field = fieldPath([...prefix, ...issue.path]);
    const reason = issue.message.startsWith('Required value')
      ? 'FieldValueRequired'
      : 'FieldValueInvalid';
    return { field, message: issue.message, reason };
  });
}

/** Error messages in the words kubectl users know. Passed to every parse. */
export function zodErrorMessage(issue: z.core.$ZodRawIssue): string | undefined {
  const input = issue.input;
  switch (issue.code) {
    case 'invalid_type':
      if (input === undefined) return 'Required value';
      return `Invalid value: ${describeValue(input)}: must be ${article(String(issue.expected))}`;
    case 'too_small':
      if (Array.isArray(input) && issue.minimum === 1) return 'Required value';
      if (typeof input === 'string' && issue.minimum === 1) return 'Required value';
      return `Invalid value: ${describeValue(input)}: must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return `Invalid value: must be no more than ${String(issue.maximum)}`;
    case 'invalid_value':
      return `Unsupported value: ${describeValue(input)}: supported values: ${issue.values.map((v) => describeValue(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown field(s): ${issue.keys.join(', ')}`;
    default:
      return issue.message ?? `Invalid value: ${describeValue(input)}`;
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** Parses with the Kubernetes-style messages; returns causes or the parsed value. */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix: readonly PropertyKey[] = [],
): { ok: true; value: z.output<S> } | { ok: false; causes: StatusCause[] } {
  const result = schema.safeParse(value, { error: zodErrorMessage });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, causes: zodCauses(result.error, prefix) };
}

function mapCauses(field: string, errs: string[], value: string): StatusCause[] {
  return errs.map((e) => ({
    field,
    message: `Invalid value: ${describeValue(value)}: ${e}`,
    reason: 'FieldValueInvalid',
  }));
}

/** Validates metadata.name against the kind's name rule. */
export function validateName(
  def: AnyKindDefinition,
  name: string,
  field = 'metadata.name',
): StatusCause[] {
  const errs = def.nameRule === 'dns1123-label' ? dns1123Label(name) : dns1123Subdomain(name);
  return mapCauses(field, errs, name);
}

export function validateLabels(
  labels: Record<string, string> | undefined,
  field: string,
): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    causes.push(...mapCauses(field, qualifiedName(k), k));
    causes.push(...mapCauses(`${field}[${k}]`, labelValue(v), v));
  }
  return causes;
}

export function validateAnnotations(
  annotations: Record<string, string> | undefined,
  field: string,
): StatusCause[] {
  const causes: StatusCause[] = [];
  let total = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    causes.push(...mapCauses(field, qualifiedName(k), k));
    total += k.length + v.length;
  }
  if (total > ANNOTATIONS_TOTAL_MAX) {
    causes.push({
      field,
      message: `Too long: must have at most ${ANNOTATIONS_TOTAL_MAX} bytes`,
      reason: 'FieldValueTooLong',
    });
  }
  return causes;
}

/**
 * The value with every `null` field removed, at any depth, as Kubernetes'
 * decoding reads them: a `null` is an unset field. Exported YAML is full of them
 * (`creationTimestamp: null`, `status: {ingress: null}`, `nodeSelector: null`).
 */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== null) out[k] = withoutNulls(v);
  }
  return out;
}

/**
 * Validates a whole object for its kind: apiVersion/kind, metadata, the kind's schema and
 * semantic checks. Returns the parsed object (with the canonical apiVersion) or throws an
 * `Invalid` ApiError listing every problem with its field path.
 */
export function validateObject(def: AnyKindDefinition, raw: unknown): ApiObject {
  const input = withoutNulls(raw);
  const name =
    (input as { metadata?: { name?: unknown } } | null)?.metadata?.name ??
    (input as { metadata?: { generateName?: unknown } } | null)?.metadata?.generateName ??
    '';
  const displayName = typeof name === 'string' ? name : '';
  const fail = (causes: StatusCause[]): never => {
    throw ApiError.invalid(def.kind, displayName, causes);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail([{ message: 'the object must be a JSON/YAML mapping' }]);
  }
  const causes: StatusCause[] = [];
  const obj = input as Record<string, unknown>;
  const meta = parseWith(objectMetaSchema, obj.metadata ?? {}, ['metadata']);
  if (!meta.ok) return fail(meta.causes);
  const m = meta.value;
  if (!m.name && !m.generateName) {
    causes.push({
      field: 'metadata.name',
      message: 'Required value: name or generateName is required',
      reason: 'FieldValueRequired',
    });
  }
  if (m.name) causes.push(...validateName(def, m.name));
  if (m.generateName) {
    // generateName gets a 5-character suffix; validate the prefix as if it were a name.
    const prefix = m.generateName.replace(/-$/, '') || 'x';
    causes.push(...validateName(def, prefix, 'metadata.generateName'));
  }
  if (def.namespaced) {
    if (m.namespace)
      causes.push(...mapCauses('metadata.namespace', dns1123Label(m.namespace), m.namespace));
  } else if (m.namespace) {
    causes.push({
      field: 'metadata.namespace',
      message: `Forbidden: not allowed on this type`,
      reason: 'FieldValueForbidden',
    });
  }
  causes.push(...validateLabels(m.labels, 'metadata.labels'));
  causes.push(...validateAnnotations(m.annotations, 'metadata.annotations'));

  const body = parseWith(def.schema, obj);
  if (!body.ok) return fail([...causes, ...body.causes]);
  const parsed: ApiObject = {
    ...(body.value as Record<string, unknown>),
    apiVersion: apiVersionOf(def),
    kind: def.kind,
    metadata: m,
  };
  if (def.validate) causes.push(...def.validate(parsed));
  if (causes.length > 0) return fail(causes);

  const size = Buffer.byteLength(JSON.stringify(parsed));
  if (size > OBJECT_SIZE_MAX) {
    return fail([
      {
        message: `Too long: the object is ${size} bytes, more than the ${OBJECT_SIZE_MAX} allowed`,
        reason: 'FieldValueTooLong',
      },
    ]);
  }
  return def.normalize ? (def.normalize(parsed) as ApiObject) : parsed;
}

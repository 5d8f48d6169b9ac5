/**
 * Processing a Template into its objects, as OpenShift's template processor does it:
 *
 * - values: given ones (`-p`) replace the template's, and a given value turns generation off;
 *   parameters with `generate: expression` and no value get one from `from`; a `required`
 *   parameter left empty is an error naming it;
 * - every string in every object (map keys too) has `${NAME}` replaced by the value; a string
 *   that is exactly `${{NAME}}` becomes the value parsed as JSON (a number, a boolean, an
 *   object), or the plain string when it is not JSON; references to unknown names stay as
 *   they are;
 * - an object's literal `metadata.namespace` is dropped (one holding `${...}` stays and is
 *   substituted), so the objects land in the project they are created in;
 * - the template's `labels` (substituted) are added to each object's `metadata.labels`,
 *   replacing equal keys. Only there: not to pod templates or selectors (OpenShift's processor
 *   sees the objects as unstructured, so its DeploymentConfig special case never applies).
 */
import { ApiError, type StatusCause } from './errors.js';
import type { ApiObject } from './meta.js';
import { EXPRESSION_GENERATOR, type Template, type TemplateParameter } from './kinds/template.js';
import { generateFromExpression, type RandomInt } from './template-expression.js';

export interface ProcessTemplateOptions {
  /** Values given by the user; each must name a parameter of the template. */
  values?: Readonly<Record<string, string>>;
  /** More labels for every object (`-l`), over the template's own. */
  labels?: Readonly<Record<string, string>>;
  /** For tests: the random source of generated values. */
  random?: RandomInt;
}

export interface ProcessedTemplate {
  objects: ApiObject[];
  /** The parameters with the values used (given, default or generated). */
  parameters: TemplateParameter[];
  /** The labels added to every object. */
  labels: Record<string, string>;
  message: string | undefined;
}

const STRING_REF = /\$\{([a-zA-Z0-9_]+?)\}/g;
const RAW_REF = /^\$\{\{([a-zA-Z0-9_]+)\}\}$/;

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Names in `values` that are no parameter of the template, in the order given. */
export function unknownParameters(
  template: Pick<Template, 'parameters'>,
  names: Iterable<string>,
): string[] {
  const known = new Set((template.parameters ?? []).map((p) => p.name));
  return [...names].filter((n) => !known.has(n));
}

/** `${NAME}` references replaced; a whole-string `${{NAME}}` becomes the raw (JSON) value. */
export function substitute(values: ReadonlyMap<string, string>, text: string): unknown {
  const raw = RAW_REF.exec(text);
  if (raw) {
    const value = values.get(raw[1]!);
    if (value !== undefined) {
      try {
        return JSON.parse(value) as unknown;
      } catch {
        return value;
      }
    }
  }
  return substituteString(values, text);
}

function substituteString(values: ReadonlyMap<string, string>, text: string): string {
  return text.replace(STRING_REF, (ref, name: string) => values.get(name) ?? ref);
}

function substituteDeep(values: ReadonlyMap<string, string>, value: unknown): unknown {
  if (typeof value === 'string') return substitute(values, value);
  if (Array.isArray(value)) return value.map((v) => substituteDeep(values, v));
  if (isMapping(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[substituteString(values, k)] = substituteDeep(values, v);
    }
    return out;
  }
  return value;
}

/** The values every parameter ends up with, or the causes naming the ones that have none. */
function resolveParameters(
  template: Template,
  options: ProcessTemplateOptions,
): { parameters: TemplateParameter[]; causes: StatusCause[] } {
  const causes: StatusCause[] = [];
  const given = options.values ?? {};
  const parameters = (template.parameters ?? []).map((p, i) => {
    const field = `parameters[${i}]`;
    const out: TemplateParameter = { ...p };
    if (Object.prototype.hasOwnProperty.call(given, p.name)) {
      out.value = given[p.name];
      delete out.generate;
    }
    if (!out.value && out.generate) {
      if (out.generate !== EXPRESSION_GENERATOR) {
        causes.push({
          field: `${field}.generate`,
          message: `Unsupported value: "${out.generate}": unknown generator for parameter ${p.name}`,
        });
      } else {
        try {
          out.value = generateFromExpression(out.from ?? '', options.random);
        } catch (err) {
          causes.push({
            field: `${field}.from`,
            message: `Invalid value: parameter ${p.name}: ${(err as Error).message}`,
          });
        }
      }
    }
    if (!out.value && out.required) {
      causes.push({
        field,
        message: `Required value: parameter ${p.name} is required and must be specified`,
      });
    }
    return out;
  });
  for (const name of unknownParameters(template, Object.keys(given))) {
    causes.push({
      field: 'parameters',
      message: `Invalid value: "${name}": unknown parameter name`,
    });
  }
  return { parameters, causes };
}

/** A processed copy of the template's objects; throws an Invalid ApiError listing every
 * parameter problem (field paths `parameters[i]`, `objects[i]`). The template is not changed. */
export function processTemplate(
  template: Template,
  options: ProcessTemplateOptions = {},
): ProcessedTemplate {
  const name = template.metadata.name ?? '';
  const { parameters, causes } = resolveParameters(template, options);
  if (causes.length > 0) throw ApiError.invalid('Template', name, causes);
  const values = new Map(parameters.map((p) => [p.name, p.value ?? '']));

  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...template.labels, ...options.labels })) {
    labels[substituteString(values, k)] = substituteString(values, v);
  }

  const objects = (template.objects ?? []).map((item, i) => {
    if (!isMapping(item)) {
      causes.push({ field: `objects[${i}]`, message: 'Invalid value: must be a mapping' });
      return undefined;
    }
    const copy = structuredClone(item);
    const meta = copy.metadata;
    if (isMapping(meta) && typeof meta.namespace === 'string' && !/\$\{/.test(meta.namespace))
      delete meta.namespace;
    const obj = substituteDeep(values, copy) as Record<string, unknown>;
    if (Object.keys(labels).length > 0) {
      const m = isMapping(obj.metadata) ? obj.metadata : {};
      const current = isMapping(m.labels) ? m.labels : {};
      obj.metadata = { ...m, labels: { ...current, ...labels } };
    }
    return obj as ApiObject;
  });
  if (causes.length > 0) throw ApiError.invalid('Template', name, causes);

  return {
    objects: objects.filter((o): o is ApiObject => o !== undefined),
    parameters,
    labels,
    message:
      template.message === undefined ? undefined : substituteString(values, template.message),
  };
}

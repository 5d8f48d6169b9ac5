import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { defineKind } from '../registry.js';
import { parseExpression } from '../template-expression.js';
import { validateLabels } from '../validation.js';
import { age } from '../../util/age.js';

/** A parameter name: what `${NAME}` may refer to. */
export const PARAMETER_NAME_RE = /^[a-zA-Z0-9_]+$/;

/** The only generator OpenShift has. */
export const EXPRESSION_GENERATOR = 'expression';

export interface TemplateParameter {
  name: string;
  displayName?: string;
  description?: string;
  value?: string;
  /** `expression`: a value is generated from `from` when none is given. */
  generate?: string;
  from?: string;
  required?: boolean;
}

/**
 * Objects with `${PARAMETER}` references, created together once processed (`slipway process`).
 * The objects are kept as they were written: they are only checked when the processed list is
 * created.
 */
export interface Template extends ApiObject {
  metadata: ObjectMeta;
  objects?: Record<string, unknown>[];
  parameters?: TemplateParameter[];
  /** Added to every object's metadata.labels when processed. */
  labels?: Record<string, string>;
  /** Shown after processing (e.g. by new-app); parameters are substituted in it. */
  message?: string;
}

const parameterSchema = z.looseObject({
  name: z.string(),
  displayName: z.string().optional(),
  description: z.string().optional(),
  value: z.string().optional(),
  generate: z.string().optional(),
  from: z.string().optional(),
  required: z.boolean().optional(),
});

const schema = z.looseObject({
  objects: z.array(z.record(z.string(), z.unknown())).optional(),
  parameters: z.array(parameterSchema).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  message: z.string().optional(),
});

/** Labels may hold `${PARAMETER}` references; those are checked once substituted. */
function validateTemplateLabels(labels: Record<string, string> | undefined): StatusCause[] {
  const literal = Object.fromEntries(
    Object.entries(labels ?? {}).filter(([k, v]) => !k.includes('${') && !v.includes('${')),
  );
  return validateLabels(literal, 'labels');
}

export function validateParameters(parameters: readonly TemplateParameter[]): StatusCause[] {
  const causes: StatusCause[] = [];
  const seen = new Set<string>();
  parameters.forEach((p, i) => {
    const field = `parameters[${i}]`;
    if (p.name === '') {
      causes.push({ field: `${field}.name`, message: 'Required value' });
    } else if (!PARAMETER_NAME_RE.test(p.name)) {
      causes.push({
        field: `${field}.name`,
        message: `Invalid value: "${p.name}": does not match ${PARAMETER_NAME_RE.source}`,
      });
    } else if (seen.has(p.name)) {
      causes.push({ field: `${field}.name`, message: `Duplicate value: "${p.name}"` });
    }
    seen.add(p.name);
    if (p.generate !== undefined && p.generate !== '') {
      if (p.generate !== EXPRESSION_GENERATOR) {
        causes.push({
          field: `${field}.generate`,
          message: `Unsupported value: "${p.generate}": supported values: "${EXPRESSION_GENERATOR}"`,
        });
      } else if (!p.from) {
        causes.push({
          field: `${field}.from`,
          message: 'Required value: generate: expression needs an expression in from',
        });
      } else {
        try {
          parseExpression(p.from);
        } catch (err) {
          causes.push({
            field: `${field}.from`,
            message: `Invalid value: ${(err as Error).message}`,
          });
        }
      }
    }
  });
  return causes;
}

function validateTemplate(t: Template): StatusCause[] {
  return [...validateParameters(t.parameters ?? []), ...validateTemplateLabels(t.labels)];
}

/** PARAMETERS column, as oc prints it: `4 (1 blank)`, `3 (2 generated)`, `2 (all set)`. */
export function templateParametersColumn(t: Template): string {
  const params = t.parameters ?? [];
  let blank = 0;
  let generated = 0;
  for (const p of params) {
    if (p.value) continue;
    if (p.generate) generated++;
    else blank++;
  }
  if (blank > 0) return `${params.length} (${blank} blank)`;
  if (generated > 0) return `${params.length} (${generated} generated)`;
  return `${params.length} (all set)`;
}

const DESCRIPTION_MAX = 80;

/** DESCRIPTION column: the `description` annotation's first line, cut at 80 characters. */
export function templateDescriptionColumn(t: Template): string {
  const text = t.metadata.annotations?.description ?? '';
  const first = text.split('\n')[0] ?? '';
  const cut = first.length > DESCRIPTION_MAX ? first.slice(0, DESCRIPTION_MAX) : first;
  return cut !== text ? `${cut}...` : cut;
}

export const templateKind = defineKind<Template>({
  kind: 'Template',
  group: 'template.openshift.io',
  version: 'v1',
  plural: 'templates',
  aliasApiVersions: ['v1'],
  namespaced: true,
  schema,
  validate: validateTemplate,
  columns: [
    { header: 'DESCRIPTION', value: templateDescriptionColumn },
    { header: 'PARAMETERS', value: templateParametersColumn },
    { header: 'OBJECTS', value: (t) => String((t.objects ?? []).length) },
    { header: 'AGE', value: (t, now) => age(t.metadata.creationTimestamp, now), wide: true },
  ],
});

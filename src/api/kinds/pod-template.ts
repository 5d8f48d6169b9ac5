/**
 * What every workload kind (ReplicationController, ReplicaSet, DeploymentConfig, Deployment)
 * shares: a pod template, a label selector that must pick the template's pods, and the
 * replica counts in status.
 */
import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { labelValue, qualifiedName } from '../names.js';
import type { Column } from '../registry.js';
import { formatLabelSelector, type LabelRequirement, type LabelSelector } from '../selectors.js';
import { validateAnnotations, validateLabels } from '../validation.js';
import { podSpecSchema, validatePodSpec, type PodSpec } from './pod.js';

export const podTemplateSchema = z.looseObject({
  metadata: z
    .looseObject({
      labels: z.record(z.string(), z.string()).optional(),
      annotations: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  spec: podSpecSchema,
});

export interface PodTemplateSpec {
  metadata?: Pick<ObjectMeta, 'labels' | 'annotations' | 'name' | 'generateName'>;
  spec: PodSpec;
}

/** apps/v1's structured selector. */
export const labelSelectorSchema = z.looseObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.looseObject({
        key: z.string().min(1),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});
export type StructuredLabelSelector = z.infer<typeof labelSelectorSchema>;

/** Replica counts every workload reports, as Kubernetes names them. */
export interface ReplicaStatus {
  replicas?: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: WorkloadCondition[];
}

export interface WorkloadCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
}

export const replicaStatusSchema = z.looseObject({
  replicas: z.number().int().min(0).optional(),
  fullyLabeledReplicas: z.number().int().min(0).optional(),
  readyReplicas: z.number().int().min(0).optional(),
  availableReplicas: z.number().int().min(0).optional(),
  observedGeneration: z.number().int().optional(),
  conditions: z.array(z.looseObject({ type: z.string(), status: z.string() })).optional(),
});

/** A selector map (`{app: web}`) as requirements. */
export function selectorFromMap(map: Readonly<Record<string, string>>): LabelSelector {
  return Object.entries(map).map(([key, value]) => ({ key, operator: 'Equals', values: [value] }));
}

/** apps/v1 `matchLabels` + `matchExpressions` as requirements. */
export function selectorFromStructured(sel: StructuredLabelSelector): LabelSelector {
  const reqs: LabelRequirement[] = [...selectorFromMap(sel.matchLabels ?? {})];
  for (const e of sel.matchExpressions ?? []) {
    reqs.push({ key: e.key, operator: e.operator, values: e.values ?? [] });
  }
  return reqs;
}

/** Checks a structured selector's keys, values and operators, naming each field. */
export function validateStructuredSelector(
  sel: StructuredLabelSelector,
  path: string,
): StatusCause[] {
  const causes = validateLabels(sel.matchLabels, `${path}.matchLabels`);
  (sel.matchExpressions ?? []).forEach((e, i) => {
    const field = `${path}.matchExpressions[${i}]`;
    for (const err of qualifiedName(e.key)) {
      causes.push({ field: `${field}.key`, message: `Invalid value: "${e.key}": ${err}` });
    }
    const values = e.values ?? [];
    const needsValues = e.operator === 'In' || e.operator === 'NotIn';
    if (needsValues && values.length === 0) {
      causes.push({
        field: `${field}.values`,
        message: "Required value: must be specified when `operator` is 'In' or 'NotIn'",
      });
    }
    if (!needsValues && values.length > 0) {
      causes.push({
        field: `${field}.values`,
        message: "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
      });
    }
    values.forEach((v, j) => {
      for (const err of labelValue(v)) {
        causes.push({ field: `${field}.values[${j}]`, message: `Invalid value: "${v}": ${err}` });
      }
    });
  });
  return causes;
}

/**
 * The template's own checks, and that the selector picks the template's pods (otherwise the
 * controller would create pods forever): Kubernetes' "`selector` does not match template
 * `labels`".
 */
export function validatePodTemplate(
  template: PodTemplateSpec,
  path: string,
  selectorMatches: (labels: Readonly<Record<string, string>>) => boolean,
): StatusCause[] {
  const labels = template.metadata?.labels ?? {};
  const causes = [
    ...validateLabels(template.metadata?.labels, `${path}.metadata.labels`),
    ...validateAnnotations(template.metadata?.annotations, `${path}.metadata.annotations`),
    ...validatePodSpec(template.spec, `${path}.spec`),
  ];
  if (!selectorMatches(labels)) {
    causes.push({
      field: `${path}.metadata.labels`,
      message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``,
    });
  }
  const restart = template.spec.restartPolicy;
  if (restart !== undefined && restart !== 'Always') {
    causes.push({
      field: `${path}.spec.restartPolicy`,
      message: `Unsupported value: "${restart}": supported values: "Always"`,
      reason: 'FieldValueNotSupported',
    });
  }
  return causes;
}

/** `CONTAINERS` and `IMAGES` columns of the wide tables. */
export function templateContainers(template: PodTemplateSpec | undefined): string {
  return (template?.spec.containers ?? []).map((c) => c.name).join(',') || '<none>';
}

export function templateImages(template: PodTemplateSpec | undefined): string {
  return (template?.spec.containers ?? []).map((c) => c.image).join(',') || '<none>';
}

/** The wide columns of a workload's table, as kubectl's: CONTAINERS, IMAGES and SELECTOR. */
export function templateWideColumns<T extends ApiObject>(
  templateOf: (obj: T) => PodTemplateSpec | undefined,
  selectorOf: (obj: T) => LabelSelector,
): Column<T>[] {
  return [
    { header: 'CONTAINERS', value: (obj) => templateContainers(templateOf(obj)), wide: true },
    { header: 'IMAGES', value: (obj) => templateImages(templateOf(obj)), wide: true },
    {
      header: 'SELECTOR',
      value: (obj) => formatLabelSelector(selectorOf(obj)) || '<none>',
      wide: true,
    },
  ];
}

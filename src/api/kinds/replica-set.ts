import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { matchesLabels } from '../selectors.js';
import { defineKind } from '../registry.js';
import { age } from '../../util/age.js';
import {
  labelSelectorSchema,
  podTemplateSchema,
  replicaStatusSchema,
  selectorFromStructured,
  templateWideColumns,
  validatePodTemplate,
  validateStructuredSelector,
  type PodTemplateSpec,
  type ReplicaStatus,
  type StructuredLabelSelector,
} from './pod-template.js';

export interface ReplicaSetSpec {
  replicas?: number;
  minReadySeconds?: number;
  selector: StructuredLabelSelector;
  template?: PodTemplateSpec;
}

/** apps/v1 ReplicaSet: a ReplicationController with a structured selector. */
export interface ReplicaSet extends ApiObject {
  metadata: ObjectMeta;
  spec: ReplicaSetSpec;
  status?: ReplicaStatus;
}

const schema = z.looseObject({
  spec: z.looseObject({
    replicas: z.number().int().min(0).optional(),
    minReadySeconds: z.number().int().min(0).optional(),
    selector: labelSelectorSchema,
    template: podTemplateSchema.optional(),
  }),
  status: replicaStatusSchema.optional(),
});

/** apps/v1 requires a selector that selects something and a template it selects. */
export function validateWorkloadSelector(
  selector: StructuredLabelSelector,
  template: PodTemplateSpec | undefined,
): StatusCause[] {
  const causes = validateStructuredSelector(selector, 'spec.selector');
  const reqs = selectorFromStructured(selector);
  if (reqs.length === 0) {
    causes.push({
      field: 'spec.selector',
      message: 'Invalid value: {}: empty selector is invalid for deployment',
    });
  }
  if (!template) {
    causes.push({
      field: 'spec.template',
      message: 'Required value',
      reason: 'FieldValueRequired',
    });
  } else if (causes.length === 0) {
    causes.push(...validatePodTemplate(template, 'spec.template', (l) => matchesLabels(reqs, l)));
  }
  return causes;
}

function normalize(rs: ReplicaSet): ReplicaSet {
  return { ...rs, spec: { ...rs.spec, replicas: rs.spec.replicas ?? 1 } };
}

export const replicaSetKind = defineKind<ReplicaSet>({
  kind: 'ReplicaSet',
  group: 'apps',
  version: 'v1',
  plural: 'replicasets',
  shortNames: ['rs'],
  namespaced: true,
  schema,
  validate: (rs) => validateWorkloadSelector(rs.spec.selector, rs.spec.template),
  normalize,
  statusSubresource: true,
  columns: [
    { header: 'DESIRED', value: (rs) => String(rs.spec.replicas ?? 1) },
    { header: 'CURRENT', value: (rs) => String(rs.status?.replicas ?? 0) },
    { header: 'READY', value: (rs) => String(rs.status?.readyReplicas ?? 0) },
    { header: 'AGE', value: (rs, now) => age(rs.metadata.creationTimestamp, now) },
    ...templateWideColumns<ReplicaSet>(
      (rs) => rs.spec.template,
      (rs) => selectorFromStructured(rs.spec.selector),
    ),
  ],
});

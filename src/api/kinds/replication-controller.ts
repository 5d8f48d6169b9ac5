import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { matchesLabels } from '../selectors.js';
import { validateLabels } from '../validation.js';
import { defineKind } from '../registry.js';
import { age } from '../../util/age.js';
import {
  podTemplateSchema,
  replicaStatusSchema,
  selectorFromMap,
  templateWideColumns,
  validatePodTemplate,
  type PodTemplateSpec,
  type ReplicaStatus,
} from './pod-template.js';

export interface ReplicationControllerSpec {
  replicas?: number;
  minReadySeconds?: number;
  /** Defaults to the template's labels. */
  selector?: Record<string, string>;
  template?: PodTemplateSpec;
}

/** Keeps `replicas` pods matching `selector` running, created from `template` (core v1). */
export interface ReplicationController extends ApiObject {
  metadata: ObjectMeta;
  spec: ReplicationControllerSpec;
  status?: ReplicaStatus;
}

const schema = z.looseObject({
  spec: z.looseObject({
    replicas: z.number().int().min(0).optional(),
    minReadySeconds: z.number().int().min(0).optional(),
    selector: z.record(z.string(), z.string()).optional(),
    template: podTemplateSchema.optional(),
  }),
  status: replicaStatusSchema.optional(),
});

/** The selector in force: the given one, else (Kubernetes' default) the template's labels. */
function effectiveSelector(rc: ReplicationController): Record<string, string> {
  const given = rc.spec.selector;
  if (given && Object.keys(given).length > 0) return given;
  return rc.spec.template?.metadata?.labels ?? {};
}

function validate(rc: ReplicationController): StatusCause[] {
  const selector = effectiveSelector(rc);
  const causes = validateLabels(rc.spec.selector, 'spec.selector');
  if (Object.keys(selector).length === 0) {
    causes.push({
      field: 'spec.selector',
      message: 'Required value',
      reason: 'FieldValueRequired',
    });
  }
  if (!rc.spec.template) {
    causes.push({
      field: 'spec.template',
      message: 'Required value',
      reason: 'FieldValueRequired',
    });
  } else {
    const sel = selectorFromMap(selector);
    causes.push(
      ...validatePodTemplate(rc.spec.template, 'spec.template', (l) => matchesLabels(sel, l)),
    );
  }
  return causes;
}

/** Kubernetes' defaults: one replica; no selector means the template's labels (and no labels
 * on the controller means the template's labels too). */
function normalize(rc: ReplicationController): ReplicationController {
  const templateLabels = rc.spec.template?.metadata?.labels;
  const effective = effectiveSelector(rc);
  const selector = Object.keys(effective).length > 0 ? effective : undefined;
  const labels =
    rc.metadata.labels && Object.keys(rc.metadata.labels).length > 0
      ? rc.metadata.labels
      : templateLabels;
  return {
    ...rc,
    metadata: { ...rc.metadata, ...(labels ? { labels } : {}) },
    spec: { ...rc.spec, replicas: rc.spec.replicas ?? 1, ...(selector ? { selector } : {}) },
  };
}

export const replicationControllerKind = defineKind<ReplicationController>({
  kind: 'ReplicationController',
  group: '',
  version: 'v1',
  plural: 'replicationcontrollers',
  shortNames: ['rc'],
  namespaced: true,
  schema,
  validate,
  normalize,
  statusSubresource: true,
  columns: [
    { header: 'DESIRED', value: (rc) => String(rc.spec.replicas ?? 1) },
    { header: 'CURRENT', value: (rc) => String(rc.status?.replicas ?? 0) },
    { header: 'READY', value: (rc) => String(rc.status?.readyReplicas ?? 0) },
    { header: 'AGE', value: (rc, now) => age(rc.metadata.creationTimestamp, now) },
    ...templateWideColumns<ReplicationController>(
      (rc) => rc.spec.template,
      (rc) => selectorFromMap(rc.spec.selector ?? {}),
    ),
  ],
});

/**
 * Kubernetes' Deployment (apps/v1): a pod template rolled out as ReplicaSets
 * `NAME-<pod-template-hash>`, RollingUpdate or Recreate. Defaults and validation follow
 * Kubernetes'.
 */
import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { defineKind } from '../registry.js';
import { age } from '../../util/age.js';
import {
  labelSelectorSchema,
  podTemplateSchema,
  selectorFromStructured,
  templateWideColumns,
  type PodTemplateSpec,
  type StructuredLabelSelector,
  type WorkloadCondition,
} from './pod-template.js';
import { validateWorkloadSelector } from './replica-set.js';
import {
  intOrPercentSchema,
  resolveFenceposts,
  validateFenceposts,
  type Fenceposts,
  type IntOrPercent,
} from './int-or-percent.js';

/** Labels and annotations of Kubernetes' deployment controller. */
export const DEPLOYMENT_ANNOTATIONS = {
  /** On the Deployment and its ReplicaSets: the rollout number. */
  revision: 'deployment.kubernetes.io/revision',
  /** On ReplicaSets: the Deployment's replicas and the most pods it may have. */
  desiredReplicas: 'deployment.kubernetes.io/desired-replicas',
  maxReplicas: 'deployment.kubernetes.io/max-replicas',
  /** What the user says caused a change (kubectl's `--record`). */
  changeCause: 'kubernetes.io/change-cause',
} as const;

/** On a Deployment's ReplicaSets (selector and template) and pods. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

export const DEPLOYMENT_DEFAULTS = {
  replicas: 1,
  revisionHistoryLimit: 10,
  progressDeadlineSeconds: 600,
  maxSurge: '25%',
  maxUnavailable: '25%',
} as const;

export interface DeploymentStrategySpec {
  type?: 'RollingUpdate' | 'Recreate';
  rollingUpdate?: { maxSurge?: IntOrPercent; maxUnavailable?: IntOrPercent };
}

export interface DeploymentSpec {
  replicas?: number;
  selector: StructuredLabelSelector;
  template?: PodTemplateSpec;
  strategy?: DeploymentStrategySpec;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  paused?: boolean;
  progressDeadlineSeconds?: number;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: WorkloadCondition[];
  collisionCount?: number;
}

export interface Deployment extends ApiObject {
  metadata: ObjectMeta;
  spec: DeploymentSpec;
  status?: DeploymentStatus;
}

const schema = z.looseObject({
  spec: z.looseObject({
    replicas: z.number().int().min(0).optional(),
    selector: labelSelectorSchema,
    template: podTemplateSchema.optional(),
    strategy: z
      .looseObject({
        type: z.enum(['RollingUpdate', 'Recreate']).optional(),
        rollingUpdate: z
          .looseObject({
            maxSurge: intOrPercentSchema.optional(),
            maxUnavailable: intOrPercentSchema.optional(),
          })
          .optional(),
      })
      .optional(),
    minReadySeconds: z.number().int().min(0).optional(),
    revisionHistoryLimit: z.number().int().min(0).optional(),
    paused: z.boolean().optional(),
    progressDeadlineSeconds: z.number().int().min(1).optional(),
  }),
  status: z
    .looseObject({
      observedGeneration: z.number().int().optional(),
      replicas: z.number().int().min(0).optional(),
      updatedReplicas: z.number().int().min(0).optional(),
      readyReplicas: z.number().int().min(0).optional(),
      availableReplicas: z.number().int().min(0).optional(),
      unavailableReplicas: z.number().int().min(0).optional(),
    })
    .optional(),
});

function validate(d: Deployment): StatusCause[] {
  const causes = validateWorkloadSelector(d.spec.selector, d.spec.template);
  const strategy = d.spec.strategy ?? {};
  const rolling = strategy.rollingUpdate;
  if (strategy.type === 'Recreate' && rolling) {
    causes.push({
      field: 'spec.strategy.rollingUpdate',
      message: "Forbidden: may not be specified when strategy `type` is 'Recreate'",
      reason: 'FieldValueForbidden',
    });
  } else if (rolling) {
    causes.push(...validateFenceposts(rolling, 'spec.strategy.rollingUpdate', '`maxSurge`'));
  }
  const deadline = d.spec.progressDeadlineSeconds;
  if (deadline !== undefined && deadline <= (d.spec.minReadySeconds ?? 0)) {
    causes.push({
      field: 'spec.progressDeadlineSeconds',
      message: `Invalid value: ${deadline}: must be greater than minReadySeconds`,
      reason: 'FieldValueInvalid',
    });
  }
  return causes;
}

/** Kubernetes' apps/v1 defaults. */
function normalize(d: Deployment): Deployment {
  const spec: DeploymentSpec = { ...d.spec };
  spec.replicas ??= DEPLOYMENT_DEFAULTS.replicas;
  spec.revisionHistoryLimit ??= DEPLOYMENT_DEFAULTS.revisionHistoryLimit;
  spec.progressDeadlineSeconds ??= DEPLOYMENT_DEFAULTS.progressDeadlineSeconds;
  const strategy: DeploymentStrategySpec = { ...spec.strategy };
  strategy.type ??= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    strategy.rollingUpdate = {
      ...strategy.rollingUpdate,
      maxSurge: strategy.rollingUpdate?.maxSurge ?? DEPLOYMENT_DEFAULTS.maxSurge,
      maxUnavailable: strategy.rollingUpdate?.maxUnavailable ?? DEPLOYMENT_DEFAULTS.maxUnavailable,
    };
  }
  spec.strategy = strategy;
  return { ...d, spec };
}

/** The rolling update's pod counts for `replicas`. */
export function deploymentFenceposts(d: Pick<Deployment, 'spec'>, replicas: number): Fenceposts {
  const r = d.spec.strategy?.rollingUpdate;
  return resolveFenceposts(
    r?.maxSurge ?? DEPLOYMENT_DEFAULTS.maxSurge,
    r?.maxUnavailable ?? DEPLOYMENT_DEFAULTS.maxUnavailable,
    replicas,
  );
}

/** The revision a Deployment or ReplicaSet carries (0 when none). */
export function revisionOf(obj: Pick<ApiObject, 'metadata'>): number {
  const v = obj.metadata.annotations?.[DEPLOYMENT_ANNOTATIONS.revision];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : 0;
}

export const deploymentKind = defineKind<Deployment>({
  kind: 'Deployment',
  group: 'apps',
  version: 'v1',
  plural: 'deployments',
  shortNames: ['deploy'],
  namespaced: true,
  schema,
  validate,
  normalize,
  statusSubresource: true,
  columns: [
    {
      header: 'READY',
      value: (d) =>
        `${d.status?.readyReplicas ?? 0}/${d.spec.replicas ?? DEPLOYMENT_DEFAULTS.replicas}`,
    },
    { header: 'UP-TO-DATE', value: (d) => String(d.status?.updatedReplicas ?? 0) },
    { header: 'AVAILABLE', value: (d) => String(d.status?.availableReplicas ?? 0) },
    { header: 'AGE', value: (d, now) => age(d.metadata.creationTimestamp, now) },
    ...templateWideColumns<Deployment>(
      (d) => d.spec.template,
      (d) => selectorFromStructured(d.spec.selector),
    ),
  ],
});

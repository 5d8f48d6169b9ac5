/**
 * A Deployment's ReplicaSets (pure; Kubernetes' deployment controller utilities): the
 * pod-template-hash, the new ReplicaSet for the current template, which ReplicaSet is the new
 * one, and the Deployment's status from its ReplicaSets.
 */
import {
  DEPLOYMENT_ANNOTATIONS,
  deploymentFenceposts,
  POD_TEMPLATE_HASH_LABEL,
  type Deployment,
  type DeploymentStatus,
} from '../../../src/api/kinds/deployment.js';
import type { PodTemplateSpec, WorkloadCondition } from '../../../src/api/kinds/pod-template.js';
import type { ReplicaSet } from '../../../src/api/kinds/replica-set.js';
import { jsonEqual } from '../../../src/api/merge-patch.js';
import { setCondition } from './conditions.js';

/** Kubernetes' rand.SafeEncodeString alphabet: no vowels, no look-alike digits. */
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The pod-template-hash of a template: FNV-1a (32 bits) of the template (and the collision
 * count), written as Kubernetes writes it (its decimal digits through SafeEncodeString), so
 * names look like `web-7c5ddbdf54`. Equal templates give equal hashes in any process.
 */
export function podTemplateHash(template: PodTemplateSpec, collisionCount = 0): string {
  let h = 0x811c9dc5;
  const text = canonical(template) + (collisionCount > 0 ? String(collisionCount) : '');
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((ch) => SAFE[ch.charCodeAt(0) % SAFE.length]).join('');
}

export function withoutHash(template: PodTemplateSpec | undefined): PodTemplateSpec | undefined {
  if (!template) return undefined;
  const labels = { ...template.metadata?.labels };
  delete labels[POD_TEMPLATE_HASH_LABEL];
  return { ...template, metadata: { ...template.metadata, labels } };
}

/** The ReplicaSet runs the Deployment's template (Kubernetes' EqualIgnoreHash). */
export function runsTemplate(rs: ReplicaSet, d: Deployment): boolean {
  return jsonEqual(withoutHash(rs.spec.template), withoutHash(d.spec.template));
}

/** The new ReplicaSet for the Deployment's template, at 0 replicas. */
export function makeReplicaSet(d: Deployment, revision: number): ReplicaSet {
  const name = d.metadata.name ?? '';
  const hash = podTemplateHash(d.spec.template!, d.status?.collisionCount ?? 0);
  const template = structuredClone(d.spec.template!);
  template.metadata = {
    ...template.metadata,
    labels: { ...template.metadata?.labels, [POD_TEMPLATE_HASH_LABEL]: hash },
  };
  const replicas = d.spec.replicas ?? 1;
  const surge =
    d.spec.strategy?.type === 'Recreate' ? 0 : deploymentFenceposts(d, replicas).maxSurge;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${name}-${hash}`,
      namespace: d.metadata.namespace ?? '',
      labels: { ...template.metadata.labels },
      annotations: {
        [DEPLOYMENT_ANNOTATIONS.revision]: String(revision),
        [DEPLOYMENT_ANNOTATIONS.desiredReplicas]: String(replicas),
        [DEPLOYMENT_ANNOTATIONS.maxReplicas]: String(replicas + surge),
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name,
          uid: d.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      replicas: 0,
      minReadySeconds: d.spec.minReadySeconds ?? 0,
      selector: {
        ...d.spec.selector,
        matchLabels: { ...d.spec.selector.matchLabels, [POD_TEMPLATE_HASH_LABEL]: hash },
      },
      template,
    },
  };
}

export const DEPLOYMENT_CONDITION_REASONS = {
  newRsCreated: 'NewReplicaSetCreated',
  foundNewRs: 'FoundNewReplicaSet',
  rsUpdated: 'ReplicaSetUpdated',
  newRsAvailable: 'NewReplicaSetAvailable',
  timedOut: 'ProgressDeadlineExceeded',
  paused: 'DeploymentPaused',
  resumed: 'DeploymentResumed',
  minimumAvailable: 'MinimumReplicasAvailable',
  minimumUnavailable: 'MinimumReplicasUnavailable',
} as const;

export type Progressing = Omit<WorkloadCondition, 'lastTransitionTime' | 'lastUpdateTime'>;

/** Kubernetes' calculateStatus: counts from the ReplicaSets, the Available condition, and the
 * Progressing condition the caller decided. */
export function calculateDeploymentStatus(
  d: Deployment,
  all: readonly ReplicaSet[],
  newRs: ReplicaSet | undefined,
  now: Date,
  progressing: Progressing | undefined,
): DeploymentStatus {
  const sum = (f: (rs: ReplicaSet) => number): number => all.reduce((n, rs) => n + f(rs), 0);
  const available = sum((rs) => rs.status?.availableReplicas ?? 0);
  const total = sum((rs) => rs.spec.replicas ?? 0);
  const replicas = d.spec.replicas ?? 1;
  const maxUnavailable =
    d.spec.strategy?.type === 'Recreate' ? 0 : deploymentFenceposts(d, replicas).maxUnavailable;
  let conditions: WorkloadCondition[] = [...(d.status?.conditions ?? [])];
  conditions = setCondition(
    conditions,
    available >= replicas - maxUnavailable
      ? {
          type: 'Available',
          status: 'True',
          reason: DEPLOYMENT_CONDITION_REASONS.minimumAvailable,
          message: 'Deployment has minimum availability.',
        }
      : {
          type: 'Available',
          status: 'False',
          reason: DEPLOYMENT_CONDITION_REASONS.minimumUnavailable,
          message: 'Deployment does not have minimum availability.',
        },
    now,
  );
  if (progressing) conditions = setCondition(conditions, progressing, now);
  return {
    observedGeneration: d.metadata.generation ?? 1,
    replicas: sum((rs) => rs.status?.replicas ?? 0),
    updatedReplicas: newRs?.status?.replicas ?? 0,
    readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
    conditions,
    ...(d.status?.collisionCount !== undefined ? { collisionCount: d.status.collisionCount } : {}),
  };
}

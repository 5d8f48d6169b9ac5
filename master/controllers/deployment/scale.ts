/**
 * A Deployment whose `spec.replicas` changed, and a paused one (pure; Kubernetes' deployment
 * controller `scale()`): with one active ReplicaSet (or none: the newest) that one takes every
 * replica; with a saturated new ReplicaSet the old ones go to 0; in the middle of a rolling
 * update the change is spread over the active ReplicaSets in proportion to their sizes, so a
 * rollout that is stuck (its new pods never ready) grows its working old pods too instead of
 * only the new ones.
 *
 * Each ReplicaSet records what it was sized for: `deployment.kubernetes.io/desired-replicas`
 * (the Deployment's replicas) and `deployment.kubernetes.io/max-replicas` (replicas plus
 * maxSurge). An active ReplicaSet whose desired-replicas is not the Deployment's replicas marks
 * a scaling event; max-replicas is what its proportion is taken from.
 */
import {
  DEPLOYMENT_ANNOTATIONS,
  DEPLOYMENT_DEFAULTS,
  deploymentFenceposts,
  type Deployment,
} from '../../../src/api/kinds/deployment.js';
import type { ReplicaSet } from '../../../src/api/kinds/replica-set.js';

const size = (rs: ReplicaSet): number => rs.spec.replicas ?? 0;

function annotationNumber(rs: ReplicaSet, key: string): number | undefined {
  const v = rs.metadata.annotations?.[key];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** The Deployment's replicas and the most pods it may have (replicas + maxSurge; a Recreate
 * Deployment surges by none). */
export function replicasBounds(d: Deployment): { desired: number; max: number } {
  const desired = d.spec.replicas ?? DEPLOYMENT_DEFAULTS.replicas;
  const surge =
    d.spec.strategy?.type === 'Recreate' ? 0 : deploymentFenceposts(d, desired).maxSurge;
  return { desired, max: desired + surge };
}

/** The replicas annotations a ReplicaSet of `d` carries once sized for it. */
export function replicasAnnotations(d: Deployment): Record<string, string> {
  const { desired, max } = replicasBounds(d);
  return {
    [DEPLOYMENT_ANNOTATIONS.desiredReplicas]: String(desired),
    [DEPLOYMENT_ANNOTATIONS.maxReplicas]: String(max),
  };
}

/** Whether `rs` would need a write to be `to` replicas sized for `d`. */
export function needsScale(rs: ReplicaSet, d: Deployment, to: number): boolean {
  if (size(rs) !== to) return true;
  return Object.entries(replicasAnnotations(d)).some(
    ([k, v]) => rs.metadata.annotations?.[k] !== v,
  );
}

/** Kubernetes' isScalingEvent: an active ReplicaSet was sized for other replicas. */
export function isScalingEvent(sets: readonly ReplicaSet[], replicas: number): boolean {
  return sets.some((rs) => {
    if (size(rs) === 0) return false;
    const desired = annotationNumber(rs, DEPLOYMENT_ANNOTATIONS.desiredReplicas);
    return desired !== undefined && desired !== replicas;
  });
}

function created(rs: ReplicaSet): string {
  return rs.metadata.creationTimestamp ?? '';
}

/** Newer first; ties by name, so the order is the same everywhere. */
function newerFirst(a: ReplicaSet, b: ReplicaSet): number {
  const byTime = created(b).localeCompare(created(a));
  return byTime !== 0 ? byTime : (b.metadata.name ?? '').localeCompare(a.metadata.name ?? '');
}

/** How many replicas `rs` gains (or loses, negative) for its share of the change. */
function fraction(rs: ReplicaSet, d: Deployment): number {
  const { desired, max } = replicasBounds(d);
  if (desired === 0) return -size(rs);
  const before =
    annotationNumber(rs, DEPLOYMENT_ANNOTATIONS.maxReplicas) || (d.status?.replicas ?? 0);
  if (before === 0) return 0;
  return Math.round((size(rs) * max) / before) - size(rs);
}

export interface SetScale {
  rs: ReplicaSet;
  to: number;
}

/**
 * What Kubernetes' `scale()` does to the ReplicaSets of `d` (`newRs` may not exist yet, for a
 * paused Deployment): the size each affected ReplicaSet should have. The caller writes those
 * that `needsScale`.
 */
export function scaleSets(
  d: Deployment,
  newRs: ReplicaSet | undefined,
  old: readonly ReplicaSet[],
): SetScale[] {
  const { desired, max } = replicasBounds(d);
  const oldNewestFirst = [...old].sort(newerFirst);
  const active = [...oldNewestFirst, ...(newRs ? [newRs] : [])].filter((rs) => size(rs) > 0);
  if (active.length <= 1) {
    const only = active[0] ?? newRs ?? oldNewestFirst[0];
    return only ? [{ rs: only, to: desired }] : [];
  }
  if (
    newRs &&
    size(newRs) === desired &&
    annotationNumber(newRs, DEPLOYMENT_ANNOTATIONS.desiredReplicas) === desired &&
    (newRs.status?.availableReplicas ?? 0) === desired
  ) {
    return active.filter((rs) => rs !== newRs).map((rs) => ({ rs, to: 0 }));
  }
  if (d.spec.strategy?.type === 'Recreate') return [];

  const allowed = desired > 0 ? max : 0;
  const toAdd = allowed - active.reduce((n, rs) => n + size(rs), 0);
  // Larger sets first; among equals the newer when growing, the older when shrinking.
  const ordered = [...active].sort((a, b) => {
    const bySize = size(b) - size(a);
    if (bySize !== 0) return bySize;
    return toAdd > 0 ? newerFirst(a, b) : newerFirst(b, a);
  });
  const sizes = new Map<ReplicaSet, number>();
  let added = 0;
  for (const rs of ordered) {
    let share = 0;
    if (toAdd !== 0 && toAdd !== added) {
      const left = toAdd - added;
      share = toAdd > 0 ? Math.min(fraction(rs, d), left) : Math.max(fraction(rs, d), left);
    }
    sizes.set(rs, size(rs) + share);
    added += share;
  }
  // What rounding left over goes to the largest.
  const first = ordered[0]!;
  sizes.set(first, Math.max(0, sizes.get(first)! + toAdd - added));
  return ordered.map((rs) => ({ rs, to: sizes.get(rs)! }));
}

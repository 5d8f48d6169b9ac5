/**
 * The rollout engine (pure): one step from what the pod sets (ReplicationControllers of a
 * DeploymentConfig, ReplicaSets of a Deployment) and their pods look like now toward the new
 * set holding every replica. Level-triggered like Kubernetes' deployment controller: the
 * caller applies the scales the step returns, and steps again when anything changes.
 *
 * It never trusts a count it cannot see yet. Pods that still exist, terminating ones
 * included, count toward the surge limit; a set counts as big as its spec or its pods,
 * whichever is larger (pods the replication controller has not made yet, or has not removed
 * yet); only pods available in the cache and within the set's spec count as available; and
 * each pod a scale-down removes is assumed to be an available one, so availability never
 * drops below `replicas - maxUnavailable` whichever pods the replication controller picks.
 */
import type { Fenceposts } from '../../../src/api/kinds/int-or-percent.js';

/** One pod set as the engine sees it. */
export interface SetCounts {
  name: string;
  /** `spec.replicas`. */
  replicas: number;
  /** Pods that have not finished, terminating ones included (they still run). */
  existing: number;
  /** Pods that have not finished and are not terminating. */
  active: number;
  /** Active pods ready for at least minReadySeconds. */
  available: number;
}

export interface Scale {
  name: string;
  from: number;
  to: number;
}

export type Step =
  /** Change these sets' replicas (all computed from one snapshot; safe to apply together). */
  | { type: 'scale'; scales: Scale[] }
  /** Nothing to do until pods change. */
  | { type: 'wait'; message: string }
  /** Recreate only: the old pods are gone and the new set has not been scaled up (the mid
   * hook's moment). Step again with `holdScaleUp` false to scale up. */
  | { type: 'old-gone' }
  /** The new set holds every replica, available, and no old pod is active. */
  | { type: 'complete' };

/** At most this many of the set's pods count as available (the rest are going). */
export function countedAvailable(s: SetCounts): number {
  return Math.max(0, Math.min(s.available, s.replicas));
}

/** At least this many pods of the set exist or are about to. */
export function countedExisting(s: SetCounts): number {
  return Math.max(s.replicas, s.existing);
}

function sum(sets: readonly SetCounts[], f: (s: SetCounts) => number): number {
  return sets.reduce((n, s) => n + f(s), 0);
}

/**
 * One step of a rolling update of `replicas` pods from `old` (oldest first) to `next`:
 * Kubernetes' rolloutRolling. Scale-ups come first and alone; then old sets are scaled down:
 * their unavailable pods first (bounded by maxScaledDown, as cleanupUnhealthyReplicas), then
 * as many as availability allows.
 */
export function rollingStep(
  replicas: number,
  f: Fenceposts,
  next: SetCounts,
  old: readonly SetCounts[],
): Step {
  const all = [...old, next];
  if (next.replicas > replicas) {
    return { type: 'scale', scales: [{ name: next.name, from: next.replicas, to: replicas }] };
  }
  if (next.replicas < replicas) {
    const room = replicas + f.maxSurge - sum(all, countedExisting);
    if (room > 0) {
      const to = Math.min(replicas, next.replicas + room);
      return { type: 'scale', scales: [{ name: next.name, from: next.replicas, to }] };
    }
  }

  const minAvailable = replicas - f.maxUnavailable;
  const scales: Scale[] = [];
  const newUnavailable = Math.max(0, next.replicas - countedAvailable(next));
  let maxScaledDown = sum(all, (s) => s.replicas) - minAvailable - newUnavailable;
  let budget = sum(all, countedAvailable) - minAvailable;
  for (const s of old) {
    if (s.replicas <= 0) continue;
    let to = s.replicas;
    const available = countedAvailable(s);
    const unhealthy = s.replicas - available;
    if (unhealthy > 0 && maxScaledDown > 0) {
      // A set without available pods loses none; otherwise the pods removed might be
      // available ones, so they come out of the availability budget.
      let k = Math.min(unhealthy, maxScaledDown);
      if (available > 0) k = Math.min(k, Math.max(0, budget));
      to -= k;
      maxScaledDown -= k;
      if (available > 0) budget -= k;
    }
    if (budget > 0 && to > 0) {
      const k = Math.min(to, budget);
      to -= k;
      budget -= k;
    }
    if (to !== s.replicas) scales.push({ name: s.name, from: s.replicas, to });
  }
  if (scales.length > 0) return { type: 'scale', scales };

  const oldActive = sum(old, (s) => Math.max(s.replicas, s.active));
  if (next.replicas === replicas && countedAvailable(next) >= replicas && oldActive === 0) {
    return { type: 'complete' };
  }
  if (next.replicas < replicas) {
    return {
      type: 'wait',
      message: `waiting for old pods to go: ${sum(all, countedExisting)} of at most ${replicas + f.maxSurge} exist`,
    };
  }
  if (oldActive > 0) {
    return {
      type: 'wait',
      message: `waiting for new pods to become available: ${sum(all, countedAvailable)} available, at least ${minAvailable} must stay`,
    };
  }
  return {
    type: 'wait',
    message: `${countedAvailable(next)} of ${replicas} updated replicas are available`,
  };
}

/**
 * One step of a Recreate rollout: every old set to 0; once their pods are gone (terminating
 * ones included), the new set to `replicas` (unless `holdScaleUp`: then `old-gone`); done when
 * they are available.
 */
export function recreateStep(
  replicas: number,
  next: SetCounts,
  old: readonly SetCounts[],
  holdScaleUp = false,
): Step {
  const down = old.filter((s) => s.replicas > 0);
  if (down.length > 0) {
    return { type: 'scale', scales: down.map((s) => ({ name: s.name, from: s.replicas, to: 0 })) };
  }
  const remaining = sum(old, (s) => s.existing);
  if (remaining > 0) {
    return { type: 'wait', message: `waiting for ${remaining} old pods to terminate` };
  }
  if (next.replicas !== replicas) {
    if (holdScaleUp && next.replicas === 0) return { type: 'old-gone' };
    return { type: 'scale', scales: [{ name: next.name, from: next.replicas, to: replicas }] };
  }
  if (countedAvailable(next) >= replicas) return { type: 'complete' };
  return {
    type: 'wait',
    message: `${countedAvailable(next)} of ${replicas} updated replicas are available`,
  };
}

/**
 * What "progress" means for the deadline: a change in the new set's size or available pods,
 * or in the old sets' sizes or pods. The same mark means no progress since it was recorded.
 */
export function progressMark(next: SetCounts, old: readonly SetCounts[]): string {
  return [
    next.replicas,
    countedAvailable(next),
    sum(old, (s) => s.replicas),
    sum(old, (s) => s.existing),
  ].join('/');
}

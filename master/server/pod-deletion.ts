import { podKind, type Pod } from '../../src/api/index.js';
import type { ResourceStore } from './resources.js';

/** Kubernetes' default `terminationGracePeriodSeconds`. */
export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;

/**
 * The grace period a pod gets when it is deleted, as Kubernetes' pod strategy decides it: the
 * one the request asked for, else the pod's `terminationGracePeriodSeconds`, else 30; but 0 (delete
 * at once) for a pod no node runs (not yet bound) or one that has finished (Succeeded or
 * Failed), since nobody would confirm it.
 */
export function podDeletionGracePeriod(pod: Pod, requested: number | undefined): number {
  if (!pod.spec?.nodeName) return 0;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return 0;
  return (
    requested ?? pod.spec.terminationGracePeriodSeconds ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS
  );
}

/**
 * Graceful pod deletion: a DELETE of a running pod marks it (deletionTimestamp,
 * deletionGracePeriodSeconds); its node stops the containers within the grace period and then
 * confirms with a DELETE of grace 0, which removes the object.
 */
export function registerPodDeletion(resources: ResourceStore): void {
  resources.registerHooks(podKind, {
    gracePeriod: (obj, requested) => podDeletionGracePeriod(obj as Pod, requested),
  });
}

/** A workload's status from its pods (pure): Kubernetes' calculateStatus. */
import type { Pod } from '../../../src/api/index.js';
import type { ReplicaStatus, WorkloadCondition } from '../../../src/api/kinds/pod-template.js';
import { jsonEqual } from '../../../src/api/merge-patch.js';
import { podAvailability, isPodReady } from './pods.js';
import type { Workload } from './workload.js';

export const REPLICA_FAILURE = 'ReplicaFailure';

/** What the last attempt to create or delete pods did to the ReplicaFailure condition. */
export type FailureUpdate =
  | { type: 'keep' }
  | { type: 'clear' }
  | { type: 'set'; reason: 'FailedCreate' | 'FailedDelete'; message: string };

export interface CalculatedStatus {
  status: ReplicaStatus;
  /** Milliseconds until a ready pod becomes available (minReadySeconds), if one will. */
  availableInMs?: number;
}

/**
 * `replicas` (the active pods the workload owns), `fullyLabeledReplicas` (those carrying every
 * template label), `readyReplicas`, `availableReplicas` (ready for minReadySeconds at `now`),
 * `observedGeneration`, and the ReplicaFailure condition as `failure` says.
 */
export function calculateStatus(
  workload: Workload,
  pods: readonly Pod[],
  failure: FailureUpdate,
  now: Date,
): CalculatedStatus {
  const templateLabels = Object.entries(workload.spec.template?.metadata?.labels ?? {});
  const minReady = workload.spec.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  let availableInMs: number | undefined;
  for (const pod of pods) {
    const labels = pod.metadata.labels ?? {};
    if (templateLabels.every(([k, v]) => labels[k] === v)) fullyLabeled += 1;
    if (!isPodReady(pod)) continue;
    ready += 1;
    const a = podAvailability(pod, minReady, now.getTime());
    if (a.available) available += 1;
    else if (a.inMs !== undefined) availableInMs = Math.min(availableInMs ?? a.inMs, a.inMs);
  }
  const old = workload.status ?? {};
  const status: ReplicaStatus = {
    ...old,
    replicas: pods.length,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: ready,
    availableReplicas: available,
    observedGeneration: workload.metadata.generation ?? 1,
  };
  const conditions = updateFailure(old.conditions ?? [], failure, now);
  if (conditions.length > 0) status.conditions = conditions;
  else delete status.conditions;
  return availableInMs === undefined ? { status } : { status, availableInMs };
}

function updateFailure(
  conditions: readonly WorkloadCondition[],
  failure: FailureUpdate,
  now: Date,
): WorkloadCondition[] {
  const others = conditions.filter((c) => c.type !== REPLICA_FAILURE);
  const current = conditions.find((c) => c.type === REPLICA_FAILURE);
  switch (failure.type) {
    case 'keep':
      return [...conditions];
    case 'clear':
      return others;
    case 'set': {
      if (current?.reason === failure.reason && current.message === failure.message) {
        return [...conditions];
      }
      return [
        ...others,
        {
          type: REPLICA_FAILURE,
          status: 'True',
          reason: failure.reason,
          message: failure.message,
          lastTransitionTime:
            current?.status === 'True' && current.lastTransitionTime
              ? current.lastTransitionTime
              : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        },
      ];
    }
  }
}

/** Whether a write is needed (Kubernetes writes status only when it changed). */
export function statusChanged(workload: Workload, status: ReplicaStatus): boolean {
  return !jsonEqual(workload.status ?? {}, status);
}

/** Workload conditions as Kubernetes keeps them (pure). */
import type { WorkloadCondition } from '../../../src/api/kinds/pod-template.js';

/** RFC 3339 at second precision, as Kubernetes writes timestamps. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function getCondition(
  conditions: readonly WorkloadCondition[] | undefined,
  type: string,
): WorkloadCondition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Kubernetes' SetDeploymentCondition: a condition with the same status and reason as the one
 * there is left alone (message and times included), so repeated reconciles write nothing; a
 * new reason keeps lastTransitionTime when the status did not change.
 */
export function setCondition(
  conditions: readonly WorkloadCondition[] | undefined,
  next: Omit<WorkloadCondition, 'lastTransitionTime' | 'lastUpdateTime'>,
  now: Date,
): WorkloadCondition[] {
  const list = [...(conditions ?? [])];
  const current = getCondition(list, next.type);
  if (current && current.status === next.status && current.reason === next.reason) return list;
  const at = timestamp(now);
  const condition: WorkloadCondition = {
    ...next,
    lastUpdateTime: at,
    lastTransitionTime:
      current && current.status === next.status ? (current.lastTransitionTime ?? at) : at,
  };
  return [...list.filter((c) => c.type !== next.type), condition];
}

export function removeCondition(
  conditions: readonly WorkloadCondition[] | undefined,
  type: string,
): WorkloadCondition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

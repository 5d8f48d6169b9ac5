/**
 * From pods and pod sets (ReplicationControllers, ReplicaSets) to what the rollout engine
 * counts, and the rollout's progress record (pure).
 */
import type { ApiObject, ObjectMeta, Pod } from '../../../src/api/index.js';
import {
  CONTROLLER_UID_INDEX,
  type EventHandler,
  type Informer,
  type ReconcileResult,
  type WorkQueue,
} from '../../../src/reconcile/index.js';
import { podAvailability } from '../replication/pods.js';
import { progressMark, type SetCounts } from './rollout.js';

/**
 * What `informer` caches that `owner` controls, in the owner's namespace; the informer has the
 * CONTROLLER_UID_INDEX index (controllerUidIndex).
 */
export function controlledBy<T extends ApiObject>(
  informer: Pick<Informer<T>, 'byIndex'>,
  owner: ApiObject,
): T[] {
  return informer
    .byIndex(CONTROLLER_UID_INDEX, owner.metadata.uid ?? '')
    .filter((obj) => obj.metadata.namespace === owner.metadata.namespace);
}

/**
 * A set's progress record (`<time> <mark>`): when the rollout last moved, and what it looked
 * like then (see progressMark). The deadline (timeoutSeconds, progressDeadlineSeconds) runs from
 * that time.
 */
export const PROGRESS_ANNOTATION = 'slipway.io/rollout-progress';

/** Whether the set's hooks ran: `slipway.io/hook-pre` etc., `Complete` or `Ignored`. */
export function hookAnnotation(type: string): string {
  return `slipway.io/hook-${type}`;
}

export interface PodSet extends ApiObject {
  metadata: ObjectMeta;
  spec: { replicas?: number };
}

/** What the engine counts of a set, and when its next ready pod becomes available. */
export function countSet(
  set: PodSet,
  pods: readonly Pod[],
  minReadySeconds: number,
  now: number,
): { counts: SetCounts; availableInMs: number | undefined } {
  let existing = 0;
  let active = 0;
  let available = 0;
  let availableInMs: number | undefined;
  for (const pod of pods) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    existing += 1;
    if (pod.metadata.deletionTimestamp) continue;
    active += 1;
    const a = podAvailability(pod, minReadySeconds, now);
    if (a.available) available += 1;
    else if (a.inMs !== undefined) availableInMs = Math.min(availableInMs ?? a.inMs, a.inMs);
  }
  return {
    counts: {
      name: set.metadata.name ?? '',
      replicas: set.spec.replicas ?? 0,
      existing,
      active,
      available,
    },
    availableInMs,
  };
}

/**
 * Pod handlers that wake the `ownerKind` controlling a pod's set: the set of `setKind` its
 * controller reference names (with `anyReference`, any reference to such a set: hook pods are
 * owned by their RC, not controlled), as `sets` caches it with that uid.
 */
export function enqueueSetOwner(
  queue: WorkQueue<string>,
  sets: Pick<Informer<ApiObject>, 'get'>,
  setKind: string,
  ownerKind: string,
  anyReference = false,
): EventHandler<Pod> {
  const changed = (pod: Pod): void => {
    const refs = anyReference
      ? (pod.metadata.ownerReferences ?? [])
      : [pod.metadata.ownerReferences?.find((r) => r.controller)];
    for (const ref of refs) {
      if (ref?.kind !== setKind) continue;
      const set = sets.get(`${pod.metadata.namespace ?? ''}/${ref.name}`);
      if (!set || set.metadata.uid !== ref.uid) continue;
      const owner = set.metadata.ownerReferences?.find((r) => r.controller && r.kind === ownerKind);
      if (owner) queue.add(`${set.metadata.namespace ?? ''}/${owner.name}`);
    }
  };
  return { onAdd: changed, onUpdate: (_old, pod) => changed(pod), onDelete: changed };
}

/**
 * countSet for a reconcile at `now`: pods from `podsOf`; when a ready pod of the set becomes
 * available later, a wait until just after then goes into `waits`.
 */
export function setCounter<S extends PodSet>(
  podsOf: (set: S) => readonly Pod[],
  minReadySeconds: number,
  now: Date,
  waits: number[],
): (set: S) => SetCounts {
  return (set) => {
    const { counts, availableInMs } = countSet(set, podsOf(set), minReadySeconds, now.getTime());
    if (availableInMs !== undefined) waits.push(availableInMs + 10);
    return counts;
  };
}

/** A reconcile's result: look again after the soonest of `waits` still ahead, if any. */
export function requeueAfter(waits: readonly number[]): ReconcileResult | undefined {
  const positive = waits.filter((w) => w > 0);
  return positive.length ? { requeueAfter: Math.min(...positive) } : undefined;
}

export interface Progress {
  /** Milliseconds since the epoch. */
  at: number;
  mark: string;
}

export function readProgress(set: Pick<ApiObject, 'metadata'>): Progress | undefined {
  const raw = set.metadata.annotations?.[PROGRESS_ANNOTATION];
  if (!raw) return undefined;
  const space = raw.indexOf(' ');
  const at = Date.parse(space < 0 ? raw : raw.slice(0, space));
  if (Number.isNaN(at)) return undefined;
  return { at, mark: space < 0 ? '' : raw.slice(space + 1) };
}

export function formatProgress(at: Date, mark: string): string {
  return `${at.toISOString()} ${mark}`;
}

/**
 * The rollout's progress now: the recorded one when nothing moved since (`changed` false),
 * otherwise `now` with the new mark. A set without a record started at its creation.
 */
export function currentProgress(
  set: Pick<ApiObject, 'metadata'>,
  next: SetCounts,
  old: readonly SetCounts[],
  now: Date,
): { progress: Progress; changed: boolean } {
  const mark = progressMark(next, old);
  const recorded = readProgress(set);
  if (recorded && recorded.mark === mark) return { progress: recorded, changed: false };
  if (!recorded) {
    const created = Date.parse(set.metadata.creationTimestamp ?? '');
    // The first look: progress so far counts from the set's creation.
    if (!Number.isNaN(created)) return { progress: { at: created, mark }, changed: true };
  }
  return { progress: { at: now.getTime(), mark }, changed: true };
}

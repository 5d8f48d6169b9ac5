import {
  ApiError,
  isApiError,
  objectKey,
  type OwnerReference,
  type Pod,
} from '../../../src/api/index.js';
import { jsonEqual } from '../../../src/api/merge-patch.js';
import { matchesLabels, type LabelSelector } from '../../../src/api/selectors.js';
import {
  Controller,
  NAMESPACE_INDEX,
  namespaceIndex,
  WorkQueue,
  type Clock,
  type Informer,
  type Logger,
  type ReconcileResult,
} from '../../../src/reconcile/index.js';
import type { Recorder } from '../client.js';
import type { ReplicationClient } from './client.js';
import { Expectations } from './expectations.js';
import { isPodActive, podsToDelete } from './pods.js';
import { calculateStatus, statusChanged, type FailureUpdate } from './status.js';
import { controllerRef, refersToKind, type Workload, type WorkloadKind } from './workload.js';

/** Kubernetes' BurstReplicas: at most this many creates or deletes per sync. */
export const BURST_REPLICAS = 500;
/** Kubernetes' SlowStartInitialBatchSize: creates go in batches of 1, 2, 4, ... */
export const SLOW_START_INITIAL_BATCH = 1;

export interface ReplicationManagerOptions<T extends Workload> {
  kind: WorkloadKind<T>;
  workloads: Informer<T>;
  /** Every pod (shared); the controller indexes them by namespace. */
  pods: Informer<Pod>;
  client: ReplicationClient;
  recorder: Recorder;
  logger: Logger;
  /** Queue and expectation timing. */
  clock?: Clock;
  /** Wall time, for pods' ready times (minReadySeconds) and condition timestamps. */
  now?: () => Date;
  burstReplicas?: number;
  workers?: number;
  expectationsTimeoutMs?: number;
}

/**
 * Kubernetes' ReplicaSetController, for one kind (ReplicationController or ReplicaSet), keyed
 * by the workload's `namespace/name`: keeps `spec.replicas` active pods that match its selector
 * and name it as their controller; adopts matching orphans and releases owned pods that no
 * longer match; creates from the template in slow-start batches and deletes in ActivePods
 * order; waits for its informer to see what it did (expectations) before acting again; and
 * reports replicas, fullyLabeledReplicas, readyReplicas, availableReplicas,
 * observedGeneration and the ReplicaFailure condition through `/status` when they change.
 * Failed pods it owns are deleted and replaced.
 */
export class ReplicationManager<T extends Workload> {
  readonly #kind: WorkloadKind<T>;
  readonly #workloads: Informer<T>;
  readonly #pods: Informer<Pod>;
  readonly #client: ReplicationClient;
  readonly #recorder: Recorder;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #burst: number;
  readonly #queue: WorkQueue<string>;
  readonly #controller: Controller<string>;
  readonly expectations: Expectations;

  constructor(options: ReplicationManagerOptions<T>) {
    this.#kind = options.kind;
    this.#workloads = options.workloads;
    this.#pods = options.pods;
    this.#client = options.client;
    this.#recorder = options.recorder;
    this.#log = options.logger.child({ component: options.kind.component });
    this.#now = options.now ?? (() => new Date());
    this.#burst = options.burstReplicas ?? BURST_REPLICAS;
    const clock = options.clock ? { clock: options.clock } : {};
    this.expectations = new Expectations({
      ...clock,
      ...(options.expectationsTimeoutMs === undefined
        ? {}
        : { timeoutMs: options.expectationsTimeoutMs }),
    });
    this.#queue = new WorkQueue<string>(clock);
    this.#controller = new Controller({
      name: options.kind.component,
      queue: this.#queue,
      workers: options.workers ?? 2,
      logger: options.logger,
      waitFor: [this.#workloads, this.#pods],
      reconcile: (key, signal) => this.reconcile(key, signal),
    });
    this.#workloads.addIndex(NAMESPACE_INDEX, namespaceIndex);
    this.#pods.addIndex(NAMESPACE_INDEX, namespaceIndex);
    this.#workloads.addEventHandler({
      onAdd: (w) => this.#queue.add(objectKey(w)),
      onUpdate: (old, w) => {
        // Deleted and made again under the same name: the old one's expectations are moot.
        if (old.metadata.uid !== w.metadata.uid) this.expectations.forget(objectKey(w));
        this.#queue.add(objectKey(w));
      },
      onDelete: (w) => {
        this.expectations.forget(objectKey(w));
        this.#queue.add(objectKey(w));
      },
    });
    this.#pods.addEventHandler({
      onAdd: (pod) => this.#podAdded(pod),
      onUpdate: (old, pod) => this.#podUpdated(old, pod),
      onDelete: (pod) => this.#podDeleted(pod),
    });
  }

  /** Runs until `signal` aborts (after the caches have synced). */
  run(signal: AbortSignal): Promise<void> {
    return this.#controller.run(signal);
  }

  // -------------------------------------------------------------------------------------------
  // Pod events: expectations and which workloads to wake

  /** The cached workload a pod's controller ownerReference names, if it is of our kind. */
  #owner(pod: Pod): T | undefined {
    const ref = pod.metadata.ownerReferences?.find((r) => r.controller);
    if (!ref || !refersToKind(ref, this.#kind.def)) return undefined;
    const w = this.#workloads.get(`${pod.metadata.namespace ?? ''}/${ref.name}`);
    return w?.metadata.uid === ref.uid ? w : undefined;
  }

  /** Workloads in the pod's namespace whose selector picks it (for an orphan). */
  #selecting(pod: Pod): T[] {
    return this.#workloads.byIndex(NAMESPACE_INDEX, pod.metadata.namespace ?? '').filter((w) => {
      const sel = this.#kind.selector(w);
      return sel !== undefined && matchesLabels(sel, pod.metadata.labels ?? {});
    });
  }

  #podAdded(pod: Pod): void {
    if (pod.metadata.deletionTimestamp) {
      this.#podDeleted(pod);
      return;
    }
    const owner = this.#owner(pod);
    if (owner) {
      this.expectations.creationObserved(objectKey(owner));
      this.#queue.add(objectKey(owner));
      return;
    }
    if (!pod.metadata.ownerReferences?.some((r) => r.controller)) {
      for (const w of this.#selecting(pod)) this.#queue.add(objectKey(w));
    }
  }

  #podUpdated(old: Pod, pod: Pod): void {
    if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    const labelsChanged = !jsonEqual(old.metadata.labels ?? {}, pod.metadata.labels ?? {});
    if (pod.metadata.deletionTimestamp) {
      this.#podDeleted(pod);
      if (labelsChanged) this.#podDeleted(old);
      return;
    }
    const oldRef = old.metadata.ownerReferences?.find((r) => r.controller);
    const curRef = pod.metadata.ownerReferences?.find((r) => r.controller);
    const refChanged = oldRef?.uid !== curRef?.uid;
    if (refChanged) {
      const previous = this.#owner(old);
      if (previous) this.#queue.add(objectKey(previous));
    }
    const owner = this.#owner(pod);
    if (owner) {
      this.#queue.add(objectKey(owner));
      return;
    }
    if (!curRef && (labelsChanged || refChanged)) {
      for (const w of this.#selecting(pod)) this.#queue.add(objectKey(w));
    }
  }

  #podDeleted(pod: Pod): void {
    const owner = this.#owner(pod);
    if (!owner) return;
    this.expectations.deletionObserved(objectKey(owner), objectKey(pod));
    this.#queue.add(objectKey(owner));
  }

  // -------------------------------------------------------------------------------------------
  // Reconcile

  /** One look at workload `key` (`namespace/name`); public for tests. */
  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | void> {
    const workload = this.#workloads.get(key);
    if (!workload) {
      this.expectations.forget(key);
      return;
    }
    const selector = this.#kind.selector(workload);
    if (!selector) {
      this.#log.warn({ workload: key }, 'no usable selector; leaving its pods alone');
      return;
    }
    // Whether our last creates and deletes have been seen, judged before looking at the pods.
    const needsSync = this.expectations.satisfied(key);
    const namespaced = this.#pods.byIndex(NAMESPACE_INDEX, workload.metadata.namespace ?? '');
    const uid = workload.metadata.uid;
    const failed = namespaced.filter(
      (p) =>
        p.status?.phase === 'Failed' &&
        !p.metadata.deletionTimestamp &&
        p.metadata.ownerReferences?.some((r) => r.controller && r.uid === uid),
    );
    const { pods, deleted } = await this.#claimPods(
      workload,
      selector,
      namespaced.filter((p) => isPodActive(p)),
      signal,
    );

    let failure: FailureUpdate = { type: 'keep' };
    if (needsSync && !workload.metadata.deletionTimestamp && !deleted) {
      failure = await this.#manageReplicas(workload, pods, failed, signal);
    }

    const { status, availableInMs } = calculateStatus(workload, pods, failure, this.#now());
    if (statusChanged(workload, status)) {
      await this.#client.updateStatus({ ...structuredClone(workload), status }, signal);
    }
    if (failure.type === 'set') {
      // Retried with back-off; the event and the condition tell the user.
      this.#log.warn(
        { workload: key, reason: failure.reason, err: failure.message },
        'sync failed',
      );
      return { requeue: true };
    }
    // Kubernetes re-syncs once pods that are ready become available (minReadySeconds).
    if (availableInMs !== undefined) return { requeueAfter: availableInMs + 10 };
  }

  /**
   * Kubernetes' ClaimPods: the active pods this workload owns and still selects, plus the
   * orphans it selects, adopted (the ownerReference added with the pod's uid and revision as
   * preconditions); owned pods it no longer selects are released. `deleted`: the live read made
   * before adopting showed the workload gone or being deleted (its pods may be being orphaned:
   * the cache is behind, so nothing is to be created for them).
   */
  async #claimPods(
    workload: T,
    selector: LabelSelector,
    active: readonly Pod[],
    signal: AbortSignal,
  ): Promise<{ pods: Pod[]; deleted: boolean }> {
    const uid = workload.metadata.uid;
    const claimed: Pod[] = [];
    let adoptable: boolean | undefined;
    for (const pod of active) {
      const ref = pod.metadata.ownerReferences?.find((r) => r.controller);
      const matches = matchesLabels(selector, pod.metadata.labels ?? {});
      if (ref) {
        if (ref.uid !== uid) continue;
        if (matches) {
          claimed.push(pod);
          continue;
        }
        if (workload.metadata.deletionTimestamp) continue;
        await this.#release(pod, signal);
        continue;
      }
      if (!matches || workload.metadata.deletionTimestamp) continue;
      // Adopt only when a live read shows the workload still exists and is not being deleted
      // (Kubernetes' RecheckDeletionTimestamp), checked once per sync.
      adoptable ??= await this.#canAdopt(workload, signal);
      if (!adoptable) continue;
      const adopted = await this.#adopt(workload, pod, signal);
      if (adopted) claimed.push(adopted);
    }
    return { pods: claimed, deleted: adoptable === false };
  }

  async #canAdopt(workload: T, signal: AbortSignal): Promise<boolean> {
    const fresh = await this.#client.getWorkload(
      workload.metadata.namespace ?? '',
      workload.metadata.name ?? '',
      signal,
    );
    return fresh?.metadata.uid === workload.metadata.uid && !fresh?.metadata.deletionTimestamp;
  }

  async #adopt(workload: T, pod: Pod, signal: AbortSignal): Promise<Pod | undefined> {
    const refs: OwnerReference[] = [
      ...(pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== workload.metadata.uid),
      controllerRef(workload, this.#kind.def),
    ];
    try {
      const adopted = await this.#client.patchPod(
        pod,
        { metadata: { ...preconditions(pod), ownerReferences: refs } },
        signal,
      );
      this.#log.info({ workload: objectKey(workload), pod: objectKey(pod) }, 'adopted a pod');
      return adopted;
    } catch (err) {
      if (isApiError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  async #release(pod: Pod, signal: AbortSignal): Promise<void> {
    const ref = pod.metadata.ownerReferences?.find((r) => r.controller);
    const rest = (pod.metadata.ownerReferences ?? []).filter((r) => r !== ref);
    try {
      await this.#client.patchPod(
        pod,
        { metadata: { ...preconditions(pod), ownerReferences: rest.length ? rest : null } },
        signal,
      );
      this.#log.info({ pod: objectKey(pod) }, 'released a pod its selector no longer picks');
    } catch (err) {
      if (!isApiError(err, 'NotFound')) throw err;
    }
  }

  /**
   * Kubernetes' manageReplicas: create or delete pods to reach `spec.replicas` (at most the
   * burst per sync), after setting the expectations they will fulfil; also deletes the failed
   * pods the workload owns. Returns what the ReplicaFailure condition becomes.
   */
  async #manageReplicas(
    workload: T,
    pods: readonly Pod[],
    failed: readonly Pod[],
    signal: AbortSignal,
  ): Promise<FailureUpdate> {
    const key = objectKey(workload);
    const diff = pods.length - (workload.spec.replicas ?? 1);
    const creates = diff < 0 ? Math.min(-diff, this.#burst) : 0;
    const surplus = diff > 0 ? podsToDelete(pods, Math.min(diff, this.#burst)) : [];
    const doomed = [...failed, ...surplus];
    if (creates === 0 && doomed.length === 0) return { type: 'clear' };
    this.expectations.expect(key, creates, doomed.map(objectKey));

    const deleteErrors = await Promise.all(
      doomed.map((pod) => this.#deletePod(workload, pod, signal)),
    );
    const deleteError = deleteErrors.find((e) => e !== undefined);
    if (creates > 0) {
      const { created, error } = await slowStartBatch(creates, SLOW_START_INITIAL_BATCH, () =>
        this.#createPod(workload, signal),
      );
      for (let i = created; i < creates; i++) this.expectations.creationObserved(key);
      if (error) return { type: 'set', reason: 'FailedCreate', message: error.message };
    }
    if (deleteError) return { type: 'set', reason: 'FailedDelete', message: deleteError.message };
    return { type: 'clear' };
  }

  /** Creates one pod from the template; a namespace being deleted is not an error. */
  async #createPod(workload: T, signal: AbortSignal): Promise<void> {
    const template = workload.spec.template;
    if (!template) throw new ApiError('Invalid', 'the workload has no pod template');
    const meta = template.metadata ?? {};
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${workload.metadata.name ?? ''}-`,
        namespace: workload.metadata.namespace,
        ...(meta.labels ? { labels: { ...meta.labels } } : {}),
        ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
        ownerReferences: [controllerRef(workload, this.#kind.def)],
      },
      spec: structuredClone(template.spec),
    };
    try {
      const created = await this.#client.createPod(pod, signal);
      this.#recorder.normal(
        workload,
        'SuccessfulCreate',
        `Created pod: ${created.metadata.name ?? ''}`,
      );
    } catch (err) {
      if (namespaceTerminating(err)) return;
      const message = err instanceof Error ? err.message : String(err);
      this.#recorder.warning(workload, 'FailedCreate', `Error creating: ${message}`);
      throw err;
    }
  }

  /** Deletes one pod; returns the error, if any (its deletion then counts as observed). */
  async #deletePod(workload: T, pod: Pod, signal: AbortSignal): Promise<Error | undefined> {
    try {
      await this.#client.deletePod(pod, signal);
      this.#recorder.normal(workload, 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      return undefined;
    } catch (err) {
      this.expectations.deletionObserved(objectKey(workload), objectKey(pod));
      const error = err instanceof Error ? err : new Error(String(err));
      this.#recorder.warning(workload, 'FailedDelete', `Error deleting: ${error.message}`);
      return error;
    }
  }
}

/** The pod's uid and revision as merge patch preconditions. */
function preconditions(pod: Pod): Record<string, string> {
  const out: Record<string, string> = {};
  if (pod.metadata.uid) out.uid = pod.metadata.uid;
  if (pod.metadata.resourceVersion) out.resourceVersion = pod.metadata.resourceVersion;
  return out;
}

function namespaceTerminating(err: unknown): boolean {
  return (
    isApiError(err, 'Forbidden') &&
    err.details?.kind === 'namespaces' &&
    err.message.includes('being terminated')
  );
}

/**
 * Kubernetes' slowStartBatch: calls `fn` `count` times in batches of initial, 2x, 4x, ...
 * (each batch in parallel), stopping after the first batch with a failure. Returns how many
 * succeeded and the first error.
 */
export async function slowStartBatch(
  count: number,
  initial: number,
  fn: () => Promise<void>,
): Promise<{ created: number; error?: Error }> {
  let remaining = count;
  let created = 0;
  for (let size = Math.min(remaining, initial); size > 0; size = Math.min(2 * size, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: size }, () => fn()));
    const errors = results.filter((r) => r.status === 'rejected');
    created += size - errors.length;
    if (errors.length > 0) {
      const reason: unknown = errors[0]!.reason;
      return { created, error: reason instanceof Error ? reason : new Error(String(reason)) };
    }
    remaining -= size;
  }
  return { created };
}

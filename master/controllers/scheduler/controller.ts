import {
  isApiError,
  objectKey,
  type Node,
  type Pod,
  type PodCondition,
} from '../../../src/api/index.js';
import {
  Controller,
  ItemExponentialFailureRateLimiter,
  NODE_NAME_INDEX,
  nodeNameIndex,
  systemClock,
  WorkQueue,
  type Clock,
  type Informer,
  type Logger,
  type ReconcileResult,
} from '../../../src/reconcile/index.js';
import type { ControllerClient, Recorder } from '../client.js';
import { AssumedPods } from './assumed-pods.js';
import { schedule } from './schedule.js';

/** `source.component` of the scheduler's events, as kube-scheduler's default profile. */
export const SCHEDULER_COMPONENT = 'default-scheduler';

export interface SchedulerControllerOptions {
  /** Every pod in every namespace (bound and unbound): the scheduler counts what runs where. */
  pods: Informer<Pod>;
  nodes: Informer<Node>;
  client: Pick<ControllerClient, 'bindPod' | 'updatePodStatus'>;
  recorder: Recorder;
  logger: Logger;
  clock?: Clock;
  /** Wall time for condition timestamps. */
  now?: () => Date;
  /** Retry of an unschedulable pod, doubling from initial to max. Default 1 s to 60 s. */
  backOff?: { initialMs?: number; maxMs?: number };
  /** Assumed pods the informer never confirms are dropped after this long. Default 5 min. */
  assumeTtlMs?: number;
}

/** RFC 3339 at second precision, as Kubernetes writes timestamps. */
function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Unbound, not finished, not being deleted: the scheduler's business. */
function needsScheduling(pod: Pod): boolean {
  return !pod.spec.nodeName && !pod.metadata.deletionTimestamp && !isTerminal(pod);
}

/** Whether an update changed more than status and bookkeeping (kube-scheduler's
 * isPodUpdated): the scheduler's own status writes must not wake the pod again. */
function specOrMetaChanged(old: Pod, pod: Pod): boolean {
  const strip = (p: Pod): string => {
    const { resourceVersion: _rv, generation: _g, ...metadata } = p.metadata;
    return JSON.stringify({ ...p, metadata, status: undefined });
  };
  return strip(old) !== strip(pod);
}

/** What in a node decides where pods fit; heartbeats alone change none of it. */
function schedulingView(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  return JSON.stringify([
    node.metadata.labels ?? {},
    node.spec ?? {},
    node.status?.allocatable ?? node.status?.capacity ?? {},
    ready ?? '',
  ]);
}

function podScheduledCondition(pod: Pod): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
}

/**
 * The scheduler as a level-triggered controller (kube-scheduler reduced to Slipway's needs).
 *
 * Pending pods without `spec.nodeName` are queued by key. Reconcile runs the pure `schedule()`
 * over the nodes and the pods on them from the informer caches, plus the pods it has bound
 * that the cache has not caught up with (the assume cache), so one worker never overcommits a
 * node. A fit is bound through `pods/binding` and reported as a `Scheduled` event. No fit sets
 * PodScheduled=False/Unschedulable with kube-scheduler's message (only when it changed), a
 * `FailedScheduling` warning, and a retry with back-off; a node joining or changing in a way
 * that matters, or a bound pod going away, retries every unschedulable pod at once.
 */
export class SchedulerController {
  readonly #pods: Informer<Pod>;
  readonly #nodes: Informer<Node>;
  readonly #client: SchedulerControllerOptions['client'];
  readonly #recorder: Recorder;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #queue: WorkQueue<string>;
  readonly #controller: Controller<string>;
  readonly #assumed: AssumedPods;
  /** Keys of pods whose last attempt found no node. */
  readonly #unschedulable = new Set<string>();

  constructor(options: SchedulerControllerOptions) {
    this.#pods = options.pods;
    this.#nodes = options.nodes;
    this.#client = options.client;
    this.#recorder = options.recorder;
    this.#log = options.logger.child({ component: 'scheduler' });
    const clock = options.clock ?? systemClock;
    this.#now = options.now ?? (() => new Date());
    this.#assumed = new AssumedPods(clock, options.assumeTtlMs ?? 5 * 60_000);
    this.#queue = new WorkQueue<string>({
      clock,
      rateLimiter: new ItemExponentialFailureRateLimiter({
        baseDelayMs: options.backOff?.initialMs ?? 1000,
        maxDelayMs: options.backOff?.maxMs ?? 60_000,
      }),
    });
    // One worker: each decision sees the one before it (through the assume cache).
    this.#controller = new Controller({
      name: 'scheduler',
      queue: this.#queue,
      workers: 1,
      logger: options.logger,
      waitFor: [this.#pods, this.#nodes],
      reconcile: (key, signal, log) => this.reconcile(key, signal, log),
    });

    this.#pods.addIndex(NODE_NAME_INDEX, nodeNameIndex);
    this.#pods.addEventHandler({
      onAdd: (pod) => this.#podSeen(pod),
      onUpdate: (old, pod) => {
        if (needsScheduling(pod)) {
          if (old === pod || specOrMetaChanged(old, pod)) this.#queue.add(objectKey(pod));
          return;
        }
        this.#podSeen(pod);
        // A bound pod that finished frees its node's room.
        if (pod.spec.nodeName && isTerminal(pod) && !isTerminal(old)) this.#retryUnschedulable();
      },
      onDelete: (pod) => {
        this.#assumed.forget(pod);
        this.#unschedulable.delete(objectKey(pod));
        if (pod.spec.nodeName && !isTerminal(pod)) this.#retryUnschedulable();
      },
    });
    this.#nodes.addEventHandler({
      onAdd: () => this.#retryUnschedulable(),
      onUpdate: (old, node) => {
        if (old !== node && schedulingView(old) !== schedulingView(node)) {
          this.#retryUnschedulable();
        }
      },
    });
  }

  /** Runs until `signal` aborts (after the pod and node caches have synced). */
  run(signal: AbortSignal): Promise<void> {
    return this.#controller.run(signal);
  }

  /** Keys of pods that found no node on their last attempt. */
  unschedulablePods(): string[] {
    return [...this.#unschedulable].sort();
  }

  /** One scheduling attempt for the pod `key`; public for tests. */
  async reconcile(
    key: string,
    signal: AbortSignal,
    log: Logger = this.#log,
  ): Promise<ReconcileResult | void> {
    const pod = this.#pods.get(key);
    if (!pod || !needsScheduling(pod)) {
      this.#unschedulable.delete(key);
      return;
    }
    // Bound by us a moment ago; the cache has not shown it yet.
    if (this.#assumed.has(pod)) return;

    const result = schedule(pod, this.#nodes.list(), (nodeName) => this.#podsOn(nodeName));
    if ('node' in result) {
      this.#assumed.assume(pod, result.node);
      try {
        await this.#client.bindPod(pod, result.node, signal);
      } catch (err) {
        this.#assumed.forget(pod);
        if (isApiError(err, 'NotFound')) return;
        if (isApiError(err, 'Conflict')) {
          // Bound meanwhile, or re-created under the same name: the cache will say which.
          log.debug({ err: err.message }, 'binding refused; waiting for the cache');
          return;
        }
        throw err;
      }
      this.#unschedulable.delete(key);
      log.debug({ node: result.node }, 'bound');
      this.#recorder.normal(
        pod,
        'Scheduled',
        `Successfully assigned ${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''} to ${result.node}`,
      );
      return;
    }

    this.#unschedulable.add(key);
    const { message } = result;
    const current = podScheduledCondition(pod);
    if (
      current?.status !== 'False' ||
      current.reason !== 'Unschedulable' ||
      current.message !== message
    ) {
      const updated = structuredClone<Pod>(pod);
      const condition: PodCondition = {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message,
        lastProbeTime: null,
        lastTransitionTime:
          current?.status === 'False' && current.lastTransitionTime
            ? current.lastTransitionTime
            : timestamp(this.#now()),
      };
      const status = { ...updated.status };
      status.conditions = [
        ...(status.conditions ?? []).filter((c) => c.type !== 'PodScheduled'),
        condition,
      ];
      updated.status = status;
      try {
        await this.#client.updatePodStatus(updated, signal);
      } catch (err) {
        if (isApiError(err, 'NotFound')) return;
        throw err;
      }
    }
    log.debug({ message }, 'unschedulable');
    this.#recorder.warning(pod, 'FailedScheduling', message);
    return { requeue: true };
  }

  /** The pods occupying a node: bound ones from the cache, and the ones assumed onto it. */
  #podsOn(nodeName: string): Pod[] {
    const bound = this.#pods.byIndex(NODE_NAME_INDEX, nodeName);
    const uids = new Set(bound.map((p) => p.metadata.uid ?? ''));
    return [...bound, ...this.#assumed.onNode(nodeName, uids)];
  }

  #podSeen(pod: Pod): void {
    if (needsScheduling(pod)) {
      this.#queue.add(objectKey(pod));
      return;
    }
    if (pod.spec.nodeName) this.#assumed.confirm(pod);
  }

  /** kube-scheduler's move-on-cluster-event: room may have appeared, try every waiting pod. */
  #retryUnschedulable(): void {
    for (const key of this.#unschedulable) this.#queue.add(key);
  }
}

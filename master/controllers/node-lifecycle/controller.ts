import {
  isApiError,
  objectKey,
  type Node,
  type NodeCondition,
  type Pod,
} from '../../../src/api/index.js';
import {
  Controller,
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

/** `source.component` of this controller's events, as in Kubernetes. */
export const NODE_CONTROLLER_COMPONENT = 'node-controller';

/** Kubernetes' defaults: --node-monitor-grace-period and the not-ready/unreachable toleration. */
export const DEFAULT_GRACE_PERIOD_MS = 40_000;
export const DEFAULT_EVICTION_TIMEOUT_MS = 300_000;

/** Event reasons, as Kubernetes' node lifecycle controller words them. */
export const reasons = {
  /** Warning on the node when it is marked Ready=Unknown. */
  nodeNotReady: 'NodeNotReady',
  /** Normal, on the node, once when eviction of its pods begins. */
  deletingAllPods: 'DeletingAllPods',
  /** Normal, on each pod deleted because its node stayed not Ready past the toleration. */
  eviction: 'NodeControllerEviction',
} as const;

export const NODE_STATUS_UNKNOWN = 'NodeStatusUnknown';
export const NODE_STATUS_NEVER_UPDATED = 'NodeStatusNeverUpdated';
export const STOPPED_POSTING = 'Kubelet stopped posting node status.';
export const NEVER_POSTED = 'Kubelet never posted node status.';

/** Conditions the node's agent reports; NetworkUnavailable belongs to the network, not it. */
const AGENT_CONDITIONS_EXCLUDED = new Set(['NetworkUnavailable']);

export interface NodeLifecycleControllerOptions {
  nodes: Informer<Node>;
  /** Every pod; the controller indexes them by node. */
  pods: Informer<Pod>;
  client: Pick<ControllerClient, 'updateNodeStatus' | 'deletePod'>;
  recorder: Recorder;
  logger: Logger;
  /** A node whose heartbeat has not changed for longer than this goes Ready=Unknown. */
  gracePeriodMs?: number;
  /** Pods on a node not Ready for this long are deleted. */
  evictionTimeoutMs?: number;
  /** Monotonic time for the periods (and the queue's timers). */
  clock?: Clock;
  /** Wall time for condition timestamps. */
  now?: () => Date;
}

/** What the controller has observed of one node, on its own clock (never the node's). */
interface NodeHealth {
  /** The Ready condition's lastHeartbeatTime last seen. */
  heartbeat: string | undefined;
  /** When that heartbeat was first seen to change (or the node first seen). */
  probeAt: number;
  /** When the node was first seen not Ready; undefined while Ready. */
  notReadySince: number | undefined;
  /** Whether eviction has begun in this not-Ready spell (DeletingAllPods recorded). */
  evicting: boolean;
  /** Uids of the pods force-deleted in this spell, so a cache that lags does not delete twice. */
  evicted: Set<string>;
}

/** RFC 3339 at second precision, as Kubernetes writes timestamps. */
function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function readyCondition(node: Node): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}

function isTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * Kubernetes' node lifecycle controller, reduced to what Slipway needs, as a level-triggered
 * controller keyed by node name.
 *
 * Health is judged on the controller's own clock: a node's `probeAt` moves when its Ready
 * condition's lastHeartbeatTime changes (so clock skew between node and master does not
 * matter, and a master restart gives every node a fresh grace period). A node silent for
 * longer than the grace period has its conditions set to Unknown (reason NodeStatusUnknown,
 * "Kubelet stopped posting node status."; a node that never reported Ready gets
 * NodeStatusNeverUpdated) and a NodeNotReady warning. Once a node has been not Ready (False or
 * Unknown) for the eviction timeout, its pods that have not finished are deleted, one
 * NodeControllerEviction event each, and then force-deleted (grace 0), since the node cannot
 * confirm that their containers stopped and they would otherwise stay Terminating; pods already
 * terminating there are force-deleted too. So their owners replace them elsewhere. Pods that
 * turn up on it later are deleted the same way until it is Ready again. Each reconcile asks to be
 * woken when the next deadline falls due, so no periodic sweep is needed.
 */
export class NodeLifecycleController {
  readonly #nodes: Informer<Node>;
  readonly #pods: Informer<Pod>;
  readonly #client: NodeLifecycleControllerOptions['client'];
  readonly #recorder: Recorder;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #now: () => Date;
  readonly #graceMs: number;
  readonly #evictionMs: number;
  readonly #queue: WorkQueue<string>;
  readonly #controller: Controller<string>;
  readonly #health = new Map<string, NodeHealth>();

  constructor(options: NodeLifecycleControllerOptions) {
    this.#nodes = options.nodes;
    this.#pods = options.pods;
    this.#client = options.client;
    this.#recorder = options.recorder;
    this.#log = options.logger.child({ component: 'node-lifecycle' });
    this.#clock = options.clock ?? systemClock;
    this.#now = options.now ?? (() => new Date());
    this.#graceMs = options.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS;
    this.#evictionMs = options.evictionTimeoutMs ?? DEFAULT_EVICTION_TIMEOUT_MS;
    this.#queue = new WorkQueue<string>({ clock: this.#clock });
    this.#controller = new Controller({
      name: 'node-lifecycle',
      queue: this.#queue,
      workers: 1,
      logger: options.logger,
      waitFor: [this.#nodes, this.#pods],
      reconcile: (key, signal, log) => this.reconcile(key, signal, log),
    });

    const enqueueNode = (node: Node): void => this.#queue.add(objectKey(node));
    this.#nodes.addEventHandler({
      onAdd: enqueueNode,
      onUpdate: (_old, node) => enqueueNode(node),
      onDelete: enqueueNode,
    });
    // A pod landing on a node that is being evicted is evicted too.
    this.#pods.addIndex(NODE_NAME_INDEX, nodeNameIndex);
    const podChanged = (pod: Pod): void => {
      const nodeName = pod.spec.nodeName;
      if (nodeName && this.#health.get(nodeName)?.evicting) this.#queue.add(nodeName);
    };
    this.#pods.addEventHandler({ onAdd: podChanged, onUpdate: (_old, pod) => podChanged(pod) });
  }

  /** Runs until `signal` aborts (after the node and pod caches have synced). */
  run(signal: AbortSignal): Promise<void> {
    return this.#controller.run(signal);
  }

  /** One look at node `name`; public for tests. */
  async reconcile(
    name: string,
    signal: AbortSignal,
    log: Logger = this.#log,
  ): Promise<ReconcileResult | void> {
    let node = this.#nodes.get(name);
    if (!node) {
      this.#health.delete(name);
      return;
    }
    const now = this.#clock.now();
    const heartbeat = readyCondition(node)?.lastHeartbeatTime;
    let health = this.#health.get(name);
    if (!health) {
      health = {
        heartbeat,
        probeAt: now,
        notReadySince: undefined,
        evicting: false,
        evicted: new Set(),
      };
      this.#health.set(name, health);
    } else if (heartbeat !== health.heartbeat) {
      health.heartbeat = heartbeat;
      health.probeAt = now;
    }

    const silentFor = now - health.probeAt;
    if (silentFor > this.#graceMs) {
      const updated = this.#markUnknown(node);
      if (updated) {
        node = await this.#client.updateNodeStatus(updated, signal);
        // Our own write is not a heartbeat (it may fill in a missing lastHeartbeatTime).
        health.heartbeat = readyCondition(node)?.lastHeartbeatTime;
        log.info({ silentForMs: Math.round(silentFor) }, 'node stopped posting status');
        this.#recorder.warning(
          node,
          reasons.nodeNotReady,
          `Node ${name} status is now: NodeNotReady (no status update for more than ${formatSeconds(this.#graceMs)})`,
        );
      }
    }

    if (readyCondition(node)?.status === 'True') {
      if (health.notReadySince !== undefined) log.info({}, 'node is Ready again');
      health.notReadySince = undefined;
      health.evicting = false;
      health.evicted.clear();
      // Look again just after the grace period would run out without a heartbeat.
      return { requeueAfter: Math.max(1, health.probeAt + this.#graceMs - now + 1) };
    }

    health.notReadySince ??= now;
    const evictAt = health.notReadySince + this.#evictionMs;
    if (now < evictAt) return { requeueAfter: Math.max(1, evictAt - now) };
    await this.#evictPods(node, health, signal, log);
  }

  /** A copy of the node with its agent's conditions set to Unknown, or undefined when they
   * already are. */
  #markUnknown(node: Node): Node | undefined {
    const at = timestamp(this.#now());
    const conditions = (node.status?.conditions ?? []).map((c) => ({ ...c }));
    let changed = false;
    for (const c of conditions) {
      if (AGENT_CONDITIONS_EXCLUDED.has(c.type) || c.status === 'Unknown') continue;
      c.status = 'Unknown';
      c.reason = NODE_STATUS_UNKNOWN;
      c.message = STOPPED_POSTING;
      c.lastTransitionTime = at;
      changed = true;
    }
    if (!conditions.some((c) => c.type === 'Ready')) {
      conditions.push({
        type: 'Ready',
        status: 'Unknown',
        reason: NODE_STATUS_NEVER_UPDATED,
        message: NEVER_POSTED,
        ...(node.metadata.creationTimestamp
          ? { lastHeartbeatTime: node.metadata.creationTimestamp }
          : {}),
        lastTransitionTime: at,
      });
      changed = true;
    }
    if (!changed) return undefined;
    const copy = structuredClone<Node>(node);
    copy.status = { ...copy.status, conditions };
    return copy;
  }

  async #evictPods(
    node: Node,
    health: NodeHealth,
    signal: AbortSignal,
    log: Logger,
  ): Promise<void> {
    const name = node.metadata.name ?? '';
    // Terminating pods too, whatever their phase: their node will not confirm the deletion.
    const pods = this.#pods
      .byIndex(NODE_NAME_INDEX, name)
      .filter(
        (p) =>
          (p.metadata.deletionTimestamp !== undefined || !isTerminal(p)) &&
          !health.evicted.has(p.metadata.uid ?? objectKey(p)),
      );
    if (pods.length === 0) {
      health.evicting = true;
      return;
    }
    if (!health.evicting) {
      health.evicting = true;
      log.info(
        { pods: pods.length },
        'node not Ready past the eviction timeout; deleting its pods',
      );
      this.#recorder.normal(node, reasons.deletingAllPods, `Deleting all Pods from Node ${name}.`);
    }
    for (const pod of pods) {
      if (signal.aborted) return;
      try {
        if (pod.metadata.deletionTimestamp === undefined) {
          await this.#client.deletePod(pod, signal);
          this.#recorder.normal(
            pod,
            reasons.eviction,
            `Marking for deletion Pod ${objectKey(pod)} from Node ${name}`,
          );
        } else {
          log.info({ pod: objectKey(pod) }, 'force-deleting a terminating pod of a lost node');
        }
        // The node cannot confirm that the pod's containers stopped, so the pod would stay
        // Terminating for as long as the node is away: as Kubernetes' pod garbage collector
        // does for pods of lost nodes, the object goes now, so its owner replaces it.
        await this.#client.deletePod(pod, signal, { gracePeriodSeconds: 0 });
      } catch (err) {
        // A namesake created since (uid precondition): not ours to delete.
        if (isApiError(err, 'Conflict')) continue;
        throw err;
      }
      health.evicted.add(pod.metadata.uid ?? objectKey(pod));
    }
  }
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
}

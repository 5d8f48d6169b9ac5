import {
  ApiError,
  objectKey,
  type ApiObject,
  type Node,
  type Pod,
  type PodCondition,
} from '../../../src/api/index.js';
import type { InvolvedObject } from '../../../src/client/index.js';
import type { FakeListWatcher } from '../../../src/reconcile/testing/fake-list-watcher.js';
import type { ControllerClient, Recorder } from '../client.js';

export type ActionVerb = 'bind' | 'update-status' | 'delete';

/** One write a controller made, as sample-controller's fake clientset records them. */
export interface Action {
  verb: ActionVerb;
  resource: 'pods' | 'nodes';
  /** `namespace/name` or, for nodes, the name. */
  key: string;
  /** bind: the node. */
  node?: string;
  /** update-status: the object sent. */
  object?: ApiObject;
  /** delete: the grace period asked for, when one was. */
  grace?: number;
}

/**
 * A ControllerClient that records every call and, like the API server, applies it to the fake
 * stores the informers list and watch (binding only an unbound pod, status writes only at the
 * current resourceVersion, deletes by uid). `applyWrites = false` records without applying, to
 * play a cache that lags; `failNext` makes the next call of a verb throw.
 */
export class FakeControllerClient implements ControllerClient {
  readonly actions: Action[] = [];
  applyWrites = true;
  readonly #pods: FakeListWatcher<Pod>;
  readonly #nodes: FakeListWatcher<Node>;
  readonly #failures = new Map<ActionVerb, Error[]>();

  constructor(pods: FakeListWatcher<Pod>, nodes: FakeListWatcher<Node>) {
    this.#pods = pods;
    this.#nodes = nodes;
  }

  failNext(verb: ActionVerb, error: Error): void {
    const list = this.#failures.get(verb) ?? [];
    list.push(error);
    this.#failures.set(verb, list);
  }

  /** The actions, as `verb resource key[ node][ grace=N]` strings, for compact assertions. */
  summary(): string[] {
    return this.actions.map((a) =>
      [a.verb, a.resource, a.key, a.node, a.grace === undefined ? '' : `grace=${a.grace}`]
        .filter(Boolean)
        .join(' '),
    );
  }

  bindPod(pod: Pod, nodeName: string): Promise<void> {
    return this.#act(
      { verb: 'bind', resource: 'pods', key: objectKey(pod), node: nodeName },
      () => {
        const stored = this.#find(this.#pods, objectKey(pod));
        if (pod.metadata.uid && stored.metadata.uid !== pod.metadata.uid) {
          throw conflict(objectKey(pod));
        }
        if (stored.spec.nodeName) throw conflict(objectKey(pod));
        const scheduled: PodCondition = { type: 'PodScheduled', status: 'True' };
        stored.spec = { ...stored.spec, nodeName };
        stored.status = {
          ...stored.status,
          conditions: [
            ...(stored.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'),
            scheduled,
          ],
        };
        this.#pods.update(stored);
      },
    );
  }

  updatePodStatus(pod: Pod): Promise<Pod> {
    return this.#act(
      { verb: 'update-status', resource: 'pods', key: objectKey(pod), object: pod },
      () => this.#updateStatus(this.#pods, pod),
      pod,
    );
  }

  updateNodeStatus(node: Node): Promise<Node> {
    return this.#act(
      { verb: 'update-status', resource: 'nodes', key: objectKey(node), object: node },
      () => this.#updateStatus(this.#nodes, node),
      node,
    );
  }

  /** As the API server: a pod a node runs is marked terminating (grace 30 unless asked), any
   * other, or grace 0, is removed at once. */
  deletePod(
    pod: Pod,
    _signal?: AbortSignal,
    options: { gracePeriodSeconds?: number | undefined } = {},
  ): Promise<void> {
    const grace = options.gracePeriodSeconds;
    const action: Action = { verb: 'delete', resource: 'pods', key: objectKey(pod) };
    if (grace !== undefined) action.grace = grace;
    return this.#act(action, () => {
      const stored = this.#pods.objects().find((p) => objectKey(p) === objectKey(pod));
      if (!stored) return;
      if (pod.metadata.uid && stored.metadata.uid !== pod.metadata.uid) {
        throw conflict(objectKey(pod));
      }
      const phase = stored.status?.phase;
      const runs = stored.spec.nodeName && phase !== 'Succeeded' && phase !== 'Failed';
      if (grace === 0 || !runs) {
        this.#pods.remove(objectKey(pod));
        return;
      }
      if (stored.metadata.deletionTimestamp) return;
      this.#pods.update({
        ...stored,
        metadata: {
          ...stored.metadata,
          deletionTimestamp: '2030-01-01T00:00:30Z',
          deletionGracePeriodSeconds: grace ?? 30,
        },
      });
    });
  }

  #updateStatus<T extends Pod | Node>(store: FakeListWatcher<T>, obj: T): T {
    const stored = this.#find(store, objectKey(obj));
    if (obj.metadata.resourceVersion !== stored.metadata.resourceVersion) {
      throw conflict(objectKey(obj));
    }
    return store.update({ ...stored, status: structuredClone(obj.status) });
  }

  #find<T extends ApiObject>(store: FakeListWatcher<T>, key: string): T {
    const found = store.objects().find((o) => objectKey(o) === key);
    if (!found) throw ApiError.notFound('object', key);
    return found;
  }

  async #act<R>(action: Action, apply: () => R, fallback?: R): Promise<R> {
    await Promise.resolve();
    this.actions.push(action);
    const error = this.#failures.get(action.verb)?.shift();
    if (error) throw error;
    if (!this.applyWrites) return fallback as R;
    return apply();
  }
}

function conflict(key: string): ApiError {
  return new ApiError('Conflict', `Operation cannot be fulfilled on "${key}"`);
}

export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  /** `Kind namespace/name` of the involved object. */
  object: string;
  reason: string;
  message: string;
}

/** A Recorder that keeps what it is told. */
export class FakeRecorder implements Recorder {
  readonly events: RecordedEvent[] = [];

  normal(involved: InvolvedObject, reason: string, message: string): void {
    this.#record('Normal', involved, reason, message);
  }

  warning(involved: InvolvedObject, reason: string, message: string): void {
    this.#record('Warning', involved, reason, message);
  }

  /** `Type Reason: message` strings, for compact assertions. */
  summary(): string[] {
    return this.events.map((e) => `${e.type} ${e.reason} ${e.object}: ${e.message}`);
  }

  #record(
    type: RecordedEvent['type'],
    involved: InvolvedObject,
    reason: string,
    message: string,
  ): void {
    const object = `${involved.kind} ${objectKey(involved)}`;
    this.events.push({ type, object, reason, message });
  }
}

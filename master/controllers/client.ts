import {
  isApiError,
  nodeKind,
  podKind,
  resourcePath,
  type Node,
  type Pod,
} from '../../src/api/index.js';
import type { ApiClient, EventRecorder } from '../../src/client/index.js';

/**
 * The writes the master's controllers make, and nothing else: a narrow seam, so unit tests
 * hand the controllers a fake that records actions (sample-controller's fake clientset), and
 * the controller-manager hands them `httpControllerClient` over the real API.
 */
export interface ControllerClient {
  /** `POST .../pods/NAME/binding`, with the pod's uid as a precondition. A pod that already
   * has a node (or was re-created under the same name) is a Conflict. */
  bindPod(pod: Pod, nodeName: string, signal?: AbortSignal): Promise<void>;
  /** PUT `/status` with the pod's resourceVersion: a stale cache is a Conflict. */
  updatePodStatus(pod: Pod, signal?: AbortSignal): Promise<Pod>;
  /** PUT `/status` with the node's resourceVersion: a stale cache is a Conflict. */
  updateNodeStatus(node: Node, signal?: AbortSignal): Promise<Node>;
  /** DELETE with the pod's uid as a precondition, so a namesake created since is spared. A pod
   * that is already gone counts as deleted. A pod a node runs is only marked terminating unless
   * `gracePeriodSeconds` is 0 (force: the object goes at once, without the node's word). */
  deletePod(
    pod: Pod,
    signal?: AbortSignal,
    options?: { gracePeriodSeconds?: number | undefined },
  ): Promise<void>;
}

/** What controllers report events with: an EventRecorder, or a fake in unit tests. */
export type Recorder = Pick<EventRecorder, 'normal' | 'warning'>;

/** ControllerClient over the master's HTTP API. */
export function httpControllerClient(client: ApiClient): ControllerClient {
  return {
    async bindPod(pod, nodeName, signal) {
      const { namespace, name = '', uid } = pod.metadata;
      await client.request(
        'POST',
        resourcePath(podKind, { namespace, name, subresource: 'binding' }),
        {
          body: {
            apiVersion: 'v1',
            kind: 'Binding',
            metadata: { name, namespace, ...(uid ? { uid } : {}) },
            target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
          },
          signal,
        },
      );
    },
    updatePodStatus: (pod, signal) => client.updateStatus(podKind, pod, { signal }),
    updateNodeStatus: (node, signal) => client.updateStatus(nodeKind, node, { signal }),
    async deletePod(pod, signal, options = {}) {
      const { namespace, name = '', uid } = pod.metadata;
      const grace = options.gracePeriodSeconds;
      try {
        await client.request('DELETE', resourcePath(podKind, { namespace, name }), {
          body: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            ...(grace === undefined ? {} : { gracePeriodSeconds: grace }),
            ...(uid ? { preconditions: { uid } } : {}),
          },
          signal,
        });
      } catch (err) {
        if (isApiError(err, 'NotFound')) return;
        throw err;
      }
    },
  };
}

import {
  type AnyKindDefinition,
  isApiError,
  type Pod,
  podKind,
  unlessNotFound,
} from '../../../src/api/index.js';
import type { ApiClient } from '../../../src/client/index.js';
import type { Workload } from './workload.js';

/** The reads and writes the replication controller makes; unit tests fake it. */
export interface ReplicationClient {
  createPod(pod: Pod, signal: AbortSignal): Promise<Pod>;
  /** DELETE with the pod's uid as a precondition; a pod already gone counts as deleted. */
  deletePod(pod: Pod, signal: AbortSignal): Promise<void>;
  /** Merge patch of a pod (adoption, release); the patch carries its own preconditions. */
  patchPod(pod: Pod, patch: Record<string, unknown>, signal: AbortSignal): Promise<Pod>;
  /** A live read of the workload (not the cache), undefined when it is gone. */
  getWorkload(namespace: string, name: string, signal: AbortSignal): Promise<Workload | undefined>;
  /** PUT `/status` at the workload's resourceVersion (409 when stale). */
  updateStatus(workload: Workload, signal: AbortSignal): Promise<Workload>;
}

export function httpReplicationClient(
  client: ApiClient,
  def: AnyKindDefinition,
): ReplicationClient {
  return {
    createPod: (pod, signal) =>
      client.create<Pod>(podKind, pod, { namespace: pod.metadata.namespace, signal }),
    async deletePod(pod, signal) {
      const { namespace, name = '', uid } = pod.metadata;
      try {
        await client.delete(podKind, name, {
          namespace,
          ...(uid ? { preconditions: { uid } } : {}),
          signal,
        });
      } catch (err) {
        if (!isApiError(err, 'NotFound')) throw err;
      }
    },
    patchPod: (pod, patch, signal) =>
      client.patch<Pod>(podKind, pod.metadata.name ?? '', patch, {
        namespace: pod.metadata.namespace,
        signal,
      }),
    getWorkload: (namespace, name, signal) =>
      unlessNotFound(client.get<Workload>(def, name, { namespace, signal })),
    updateStatus: (workload, signal) => client.updateStatus<Workload>(def, workload, { signal }),
  };
}

/**
 * Which Docker container a logs or exec request means, decided from the runtime's inventory
 * (labels) alone: the pod by uid, namespace and name, the container by name, the newest instance
 * as the current one and the instance before it as `previous`. Unlabelled containers are never
 * candidates: the inventory only holds what this node's agent owns. Pure.
 */
import { ApiError } from '../../src/api/errors.js';
import type { ManagedContainer, PodInventory } from '../docker/inventory.js';

export interface InstanceQuery {
  podUid: string;
  namespace: string;
  pod: string;
  container: string;
}

function waiting(q: InstanceQuery, reason = 'ContainerCreating'): ApiError {
  return ApiError.badRequest(
    `container "${q.container}" in pod "${q.pod}" is waiting to start: ${reason}`,
  );
}

/** The instances of the pod's container, newest first; empty when none exist (yet). */
export function instancesOf(pods: readonly PodInventory[], q: InstanceQuery): ManagedContainer[] {
  const pod = pods.find(
    (p) => p.uid === q.podUid && p.namespace === q.namespace && p.name === q.pod,
  );
  if (!pod) return [];
  // groupPods sorts each container's instances newest first.
  return pod.containers.filter((c) => !c.isSandbox && c.containerName === q.container);
}

/** The instance whose log `logs` (or `logs --previous`) shows; ApiError 400 if there is none. */
export function logInstance(
  pods: readonly PodInventory[],
  q: InstanceQuery,
  previous: boolean,
): ManagedContainer {
  const instances = instancesOf(pods, q);
  if (previous) {
    const prev = instances[1];
    if (!prev || (prev.state !== 'exited' && prev.state !== 'dead')) {
      throw ApiError.badRequest(
        `previous terminated container "${q.container}" in pod "${q.pod}" not found`,
      );
    }
    return prev;
  }
  const current = instances[0];
  if (!current || current.state === 'created') throw waiting(q);
  return current;
}

/** The running instance `exec` enters; ApiError 400 if the container is not running. */
export function execInstance(pods: readonly PodInventory[], q: InstanceQuery): ManagedContainer {
  const current = instancesOf(pods, q)[0];
  if (!current || current.state === 'created') throw waiting(q);
  if (current.state !== 'running') {
    throw ApiError.badRequest(
      `container "${q.container}" in pod "${q.pod}" is not running (${current.state})`,
    );
  }
  return current;
}

/**
 * The running infra container holding the pod's network (`port-forward` connects inside it);
 * ApiError 400 when the pod has none running on this node.
 */
export function sandboxInstance(pods: readonly PodInventory[], q: InstanceQuery): ManagedContainer {
  const pod = pods.find(
    (p) => p.uid === q.podUid && p.namespace === q.namespace && p.name === q.pod,
  );
  const sandbox = pod?.sandboxes.find((s) => s.state === 'running');
  if (!sandbox) {
    throw ApiError.badRequest(
      `unable to forward port because pod "${q.pod}" has no running network on this node`,
    );
  }
  return sandbox;
}

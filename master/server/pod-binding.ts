import { ApiError } from '../../src/api/errors.js';
import { podKind, type Pod, type PodCondition } from '../../src/api/kinds/pod.js';
import type { ApiObject } from '../../src/api/meta.js';
import type { ResourceStore } from './resources.js';
import { timestamp } from './resources.js';

/** `POST .../pods/NAME/binding`: Kubernetes' Binding, the scheduler's way to place a pod. */
export interface PodBinding {
  apiVersion?: string;
  kind?: string;
  /** `uid`, when set, must be the pod's: a precondition against a re-created namesake. */
  metadata?: { name?: string; namespace?: string; uid?: string };
  target: { apiVersion?: string; kind?: string; name: string };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(name: string, field: string, message: string): ApiError {
  return ApiError.invalid('Binding', name, [{ field, message, reason: 'FieldValueInvalid' }]);
}

/** Checks a Binding body against the pod named in the URL. */
export function parseBinding(body: unknown, namespace: string, name: string): PodBinding {
  if (!isPlainObject(body)) {
    throw ApiError.badRequest('the request body must be a Binding object (a mapping)');
  }
  if (body.kind !== undefined && body.kind !== 'Binding') {
    throw invalid(name, 'kind', `Invalid value: ${JSON.stringify(body.kind)}: expected "Binding"`);
  }
  if (body.apiVersion !== undefined && body.apiVersion !== 'v1') {
    throw invalid(
      name,
      'apiVersion',
      `Invalid value: ${JSON.stringify(body.apiVersion)}: expected "v1"`,
    );
  }
  const meta = isPlainObject(body.metadata) ? body.metadata : {};
  if (meta.name !== undefined && meta.name !== name) {
    throw invalid(
      name,
      'metadata.name',
      `Invalid value: ${JSON.stringify(meta.name)}: must be the pod's name "${name}"`,
    );
  }
  if (meta.namespace !== undefined && meta.namespace !== namespace) {
    throw invalid(
      name,
      'metadata.namespace',
      `Invalid value: ${JSON.stringify(meta.namespace)}: does not match the namespace "${namespace}" of the URL`,
    );
  }
  if (meta.uid !== undefined && typeof meta.uid !== 'string') {
    throw invalid(name, 'metadata.uid', 'Invalid value: must be a string');
  }
  const target = body.target;
  if (!isPlainObject(target)) throw invalid(name, 'target', 'Required value');
  if (target.kind !== undefined && target.kind !== '' && target.kind !== 'Node') {
    throw invalid(
      name,
      'target.kind',
      `Unsupported value: ${JSON.stringify(target.kind)}: supported values: "Node"`,
    );
  }
  if (typeof target.name !== 'string' || target.name === '') {
    throw invalid(name, 'target.name', 'Required value');
  }
  return {
    metadata: meta.uid ? { uid: meta.uid } : {},
    target: { kind: 'Node', name: target.name },
  };
}

function conflict(name: string, why: string): ApiError {
  return new ApiError(
    'Conflict',
    `Operation cannot be fulfilled on pods/binding "${name}": ${why}`,
    { details: { name, kind: 'pods/binding' } },
  );
}

/**
 * Assigns a pod to a node, as Kubernetes' binding subresource does: only a pod without
 * `spec.nodeName` can be bound (409 otherwise), and the PodScheduled condition becomes True in
 * the same write.
 */
export async function bindPod(
  resources: ResourceStore,
  namespace: string,
  name: string,
  binding: PodBinding,
  now: Date = new Date(),
): Promise<Pod> {
  const bound = await resources.modify(podKind, namespace, name, (current: ApiObject) => {
    const pod = current as Pod;
    const uid = binding.metadata?.uid;
    if (uid && uid !== pod.metadata.uid) {
      throw conflict(
        name,
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata.uid ?? ''}`,
      );
    }
    if (pod.metadata.deletionTimestamp) {
      throw conflict(name, `pod ${name} is being deleted, cannot be assigned to a host`);
    }
    if (pod.spec.nodeName) {
      throw conflict(name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
    }
    pod.spec = { ...pod.spec, nodeName: binding.target.name };
    const scheduled: PodCondition = {
      type: 'PodScheduled',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: timestamp(now),
    };
    const status = { ...pod.status };
    const others = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    status.conditions = [...others, scheduled];
    pod.status = status;
    return pod;
  });
  return bound as Pod;
}

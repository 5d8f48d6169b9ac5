import type { ApiObject } from '../api/index.js';
import type { IndexFunc } from './informer.js';

/** Index names used with these functions, so every controller spells them the same way. */
export const NODE_NAME_INDEX = 'spec.nodeName';
export const OWNER_UID_INDEX = 'metadata.ownerReferences.uid';
export const CONTROLLER_UID_INDEX = 'metadata.ownerReferences.controller.uid';
export const NAMESPACE_INDEX = 'metadata.namespace';

/** Pods by the node they are bound to (unbound pods are not indexed). */
export const nodeNameIndex: IndexFunc<ApiObject> = (obj) => {
  const nodeName = (obj.spec as { nodeName?: unknown } | undefined)?.nodeName;
  return typeof nodeName === 'string' && nodeName !== '' ? nodeName : undefined;
};

/** Objects by the uid of each owner. */
export const ownerUidIndex: IndexFunc<ApiObject> = (obj) =>
  (obj.metadata.ownerReferences ?? []).map((ref) => ref.uid);

/** Objects by the uid of their controller owner (the ownerReference with controller: true). */
export const controllerUidIndex: IndexFunc<ApiObject> = (obj) =>
  obj.metadata.ownerReferences?.find((ref) => ref.controller)?.uid;

export const namespaceIndex: IndexFunc<ApiObject> = (obj) => obj.metadata.namespace;

/** Objects by the value of one label. */
export function labelIndex(label: string): IndexFunc<ApiObject> {
  return (obj) => obj.metadata.labels?.[label];
}

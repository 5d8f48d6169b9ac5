import { objectKey, type ApiObject } from '../api/index.js';
import type { EventHandler } from './informer.js';
import type { WorkQueue } from './work-queue.js';

/** Handlers that enqueue the changed object's own key (`namespace/name`). */
export function enqueueObject<T extends ApiObject>(
  queue: WorkQueue<string>,
  keyOf: (obj: T) => string = objectKey,
): EventHandler<T> {
  const add = (obj: T): void => queue.add(keyOf(obj));
  return { onAdd: add, onUpdate: (_old, obj) => add(obj), onDelete: add };
}

/**
 * Handlers that enqueue the key of the changed object's controller owner when it is of `kind`
 * (e.g. a Pod change wakes its ReplicationController). Owners live in the object's namespace.
 * An update that moves the object to another owner wakes both.
 */
export function enqueueControllerOwner<T extends ApiObject>(
  queue: WorkQueue<string>,
  kind: string,
): EventHandler<T> {
  const add = (obj: T): void => {
    const owner = obj.metadata.ownerReferences?.find((ref) => ref.controller && ref.kind === kind);
    if (!owner) return;
    const ns = obj.metadata.namespace;
    queue.add(ns ? `${ns}/${owner.name}` : owner.name);
  };
  return {
    onAdd: add,
    onUpdate: (old, obj) => {
      if (old !== obj) add(old);
      add(obj);
    },
    onDelete: add,
  };
}

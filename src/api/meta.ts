import { z } from 'zod';

/** Shared metadata of every stored object. The server owns uid, resourceVersion, generation,
 * creationTimestamp, deletionTimestamp and deletionGracePeriodSeconds; clients may send them
 * but the server decides. */
export const ownerReferenceSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  name: z.string().min(1),
  uid: z.string().min(1),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});
export type OwnerReference = z.infer<typeof ownerReferenceSchema>;

export const objectMetaSchema = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  /** Seconds the object was given to terminate when its graceful deletion began. */
  deletionGracePeriodSeconds: z.number().int().min(0).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  ownerReferences: z.array(ownerReferenceSchema).optional(),
  finalizers: z.array(z.string()).optional(),
});
export type ObjectMeta = z.infer<typeof objectMetaSchema>;

/** Any API object. Kind-specific types narrow `spec`, `status` and other top-level fields. */
export interface ApiObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
}

export interface ApiList<T extends ApiObject = ApiObject> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** One line of a `?watch=true` stream. ERROR carries a Status object. */
export interface WatchEvent<T = ApiObject> {
  type: WatchEventType;
  object: T;
}

/** `namespace/name`, or `name` for cluster-scoped objects: the key controllers queue. */
export function objectKey(obj: { metadata: ObjectMeta }): string {
  const { namespace, name = '' } = obj.metadata;
  return namespace ? `${namespace}/${name}` : name;
}

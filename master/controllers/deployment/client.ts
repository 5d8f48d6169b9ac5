import { isApiError, type AnyKindDefinition, type ApiObject } from '../../../src/api/index.js';
import { jsonEqual } from '../../../src/api/merge-patch.js';
import type { ApiClient } from '../../../src/client/index.js';

/**
 * The writes the deployment controllers make, over any kind (DeploymentConfigs, Deployments,
 * ReplicationControllers, ReplicaSets, hook pods); unit tests fake it.
 */
export interface WorkloadClient {
  create<T extends ApiObject>(def: AnyKindDefinition, obj: T, signal: AbortSignal): Promise<T>;
  /** PUT at the resourceVersion the object carries (409 when stale). */
  update<T extends ApiObject>(def: AnyKindDefinition, obj: T, signal: AbortSignal): Promise<T>;
  /** PUT `/status` at the resourceVersion the object carries (409 when stale). */
  updateStatus<T extends ApiObject>(
    def: AnyKindDefinition,
    obj: T,
    signal: AbortSignal,
  ): Promise<T>;
  /** DELETE with the object's uid as a precondition; one already gone counts as deleted. */
  delete(def: AnyKindDefinition, obj: ApiObject, signal: AbortSignal): Promise<void>;
}

export function httpWorkloadClient(client: ApiClient): WorkloadClient {
  return {
    create: (def, obj, signal) => client.create(def, obj, { signal }),
    update: (def, obj, signal) => client.update(def, obj, { signal }),
    updateStatus: (def, obj, signal) => client.updateStatus(def, obj, { signal }),
    async delete(def, obj, signal) {
      const { namespace, name = '', uid } = obj.metadata;
      try {
        await client.delete(def, name, {
          namespace,
          ...(uid ? { preconditions: { uid } } : {}),
          signal,
        });
      } catch (err) {
        if (!isApiError(err, 'NotFound')) throw err;
      }
    },
  };
}

/** Writes `status` through `/status` at the cached resourceVersion, unless `obj` has it already. */
export async function writeStatus<T extends ApiObject & { status?: unknown }>(
  client: WorkloadClient,
  def: AnyKindDefinition,
  obj: T,
  status: T['status'],
  signal: AbortSignal,
): Promise<void> {
  if (jsonEqual(status ?? {}, obj.status ?? {})) return;
  await client.updateStatus(def, { ...structuredClone(obj), status }, signal);
}

import {
  apiVersionOf,
  replicaSetKind,
  replicationControllerKind,
  type AnyKindDefinition,
  type ApiObject,
  type ObjectMeta,
} from '../../../src/api/index.js';
import {
  selectorFromMap,
  selectorFromStructured,
  type PodTemplateSpec,
  type ReplicaStatus,
} from '../../../src/api/kinds/pod-template.js';
import type { ReplicaSet } from '../../../src/api/kinds/replica-set.js';
import type { ReplicationController } from '../../../src/api/kinds/replication-controller.js';
import type { LabelSelector } from '../../../src/api/selectors.js';

/** What the replication controller needs of the kinds it serves (ReplicationController,
 * ReplicaSet): replicas, a pod template and status in the same places. */
export interface Workload extends ApiObject {
  metadata: ObjectMeta;
  spec: { replicas?: number; minReadySeconds?: number; template?: PodTemplateSpec };
  status?: ReplicaStatus;
}

/**
 * One served kind: its definition (paths, apiVersion), the component its events come from, and
 * its selector as requirements (undefined: none usable, so the object selects nothing).
 */
export interface WorkloadKind<T extends Workload = Workload> {
  def: AnyKindDefinition;
  /** `source.component` of its events, as Kubernetes names the controller. */
  component: string;
  selector(obj: T): LabelSelector | undefined;
}

export const replicationControllerWorkload: WorkloadKind<ReplicationController> = {
  def: replicationControllerKind,
  component: 'replication-controller',
  selector: (rc) => {
    const map = rc.spec.selector ?? {};
    return Object.keys(map).length > 0 ? selectorFromMap(map) : undefined;
  },
};

export const replicaSetWorkload: WorkloadKind<ReplicaSet> = {
  def: replicaSetKind,
  component: 'replicaset-controller',
  selector: (rs) => {
    const reqs = selectorFromStructured(rs.spec.selector ?? {});
    return reqs.length > 0 ? reqs : undefined;
  },
};

/** Whether an ownerReference (`apiVersion`, `kind`) names this kind: any version of its group. */
export function refersToKind(
  ref: { apiVersion: string; kind: string },
  def: AnyKindDefinition,
): boolean {
  if (ref.kind !== def.kind) return false;
  const slash = ref.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : ref.apiVersion.slice(0, slash);
  return group === def.group;
}

/** The controller ownerReference pods of `owner` carry (Kubernetes' NewControllerRef). */
export function controllerRef(owner: Workload, def: AnyKindDefinition) {
  return {
    apiVersion: apiVersionOf(def),
    kind: def.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

import { z } from 'zod';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { defineKind } from '../registry.js';
import { age } from '../../util/age.js';

export interface NodeCondition {
  /** Ready, MemoryPressure, DiskPressure, PIDPressure, ... */
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

export interface NodeStatus {
  capacity?: Record<string, string>;
  allocatable?: Record<string, string>;
  conditions?: NodeCondition[];
  addresses?: { type: string; address: string }[];
  nodeInfo?: Record<string, string>;
  /** Where the node's agent serves logs and exec to the master. */
  daemonEndpoints?: { kubeletEndpoint?: { Port: number } };
}

export interface Node extends ApiObject {
  metadata: ObjectMeta;
  spec?: {
    unschedulable?: boolean;
    podCIDR?: string;
    taints?: { key: string; value?: string; effect: string }[];
  };
  status?: NodeStatus;
}

const schema = z.looseObject({
  spec: z
    .looseObject({
      unschedulable: z.boolean().optional(),
      podCIDR: z.string().optional(),
      taints: z
        .array(
          z.looseObject({
            key: z.string().min(1),
            value: z.string().optional(),
            effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
          }),
        )
        .optional(),
    })
    .optional(),
  status: z.looseObject({}).optional(),
});

export function nodeReadyStatus(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const base =
    ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
  return node.spec?.unschedulable ? `${base},SchedulingDisabled` : base;
}

function roles(node: Node): string {
  const prefix = 'node-role.kubernetes.io/';
  const r = Object.keys(node.metadata.labels ?? {})
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length));
  return r.length ? r.sort().join(',') : '<none>';
}

export const nodeKind = defineKind<Node>({
  kind: 'Node',
  group: '',
  version: 'v1',
  plural: 'nodes',
  shortNames: ['no'],
  namespaced: false,
  schema,
  statusSubresource: true,
  columns: [
    { header: 'STATUS', value: nodeReadyStatus },
    { header: 'ROLES', value: roles },
    { header: 'AGE', value: (n, now) => age(n.metadata.creationTimestamp, now) },
    { header: 'VERSION', value: (n) => n.status?.nodeInfo?.kubeletVersion ?? '' },
    {
      header: 'INTERNAL-IP',
      value: (n) => n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '<none>',
      wide: true,
    },
    { header: 'OS-IMAGE', value: (n) => n.status?.nodeInfo?.osImage ?? '<unknown>', wide: true },
    {
      header: 'CONTAINER-RUNTIME',
      value: (n) => n.status?.nodeInfo?.containerRuntimeVersion ?? '<unknown>',
      wide: true,
    },
  ],
});

/**
 * The master's admission: hooks on the resource store that run on every create and client
 * update, whoever sends it. Projects get a UID block at creation; pods are admitted under their
 * project's security policy. See README.md beside this file.
 */
import type { Logger } from 'pino';
import {
  deploymentKind,
  podKind,
  projectKind,
  replicaSetKind,
  serviceKind,
} from '../../src/api/kinds/index.js';
import type { Pod } from '../../src/api/kinds/pod.js';
import type { Service } from '../../src/api/kinds/service.js';
import type { Projects } from '../server/projects.js';
import type { ResourceStore } from '../server/resources.js';
import { admitBuildPodCreate, admitBuildPodUpdate } from './build-pods.js';
import { admitPod, admitPodUpdate } from './pod-security.js';
import { admitProjectCreate, admitProjectUpdate } from './project-security.js';
import {
  admitServiceUpdate,
  DEFAULT_SERVICE_CIDR,
  parseCidr,
  ServiceIpAllocator,
  type Cidr,
} from './service-ip.js';
import {
  DEFAULT_NODE_PORT_RANGE,
  NodePortAllocator,
  parsePortRange,
  type PortRange,
} from './node-ports.js';
import { UidRangeAllocator, type UidPool } from './uid-ranges.js';
import { admitSelectorUnchanged } from './workload-selectors.js';

export interface Admission {
  readonly allocator: UidRangeAllocator;
  /** Reconciles UID reservations with the projects (see UidRangeAllocator.repair); run once at
   * start, after interrupted project deletions are finished and before serving. */
  repair(): Promise<void>;
}

export function installAdmission(options: {
  resources: ResourceStore;
  projects: Projects;
  logger: Logger;
  pool?: UidPool;
  /** The range ClusterIPs come from; default 172.30.0.0/16. */
  serviceCidr?: Cidr;
  /** The range NodePorts come from; default 30000-32767. */
  nodePortRange?: PortRange;
}): Admission {
  const { resources, projects, logger } = options;
  const allocator = new UidRangeAllocator(resources.store, options.pool);

  resources.registerHooks(projectKind, {
    admitCreate: async (project, ctx) => {
      admitProjectCreate(project, ctx);
      const proposal = await allocator.propose(project.metadata.name ?? '', project.metadata.uid);
      project.metadata.annotations = {
        ...project.metadata.annotations,
        ...proposal.annotations,
      };
      return [proposal.op];
    },
    admitUpdate: admitProjectUpdate,
  });
  projects.onDelete((name) => allocator.releaseOps(name));

  const serviceIps = new ServiceIpAllocator(
    resources.store,
    options.serviceCidr ?? (parseCidr(DEFAULT_SERVICE_CIDR) as Cidr),
  );
  const nodePorts = new NodePortAllocator(
    resources.store,
    options.nodePortRange ?? (parsePortRange(DEFAULT_NODE_PORT_RANGE) as PortRange),
  );
  resources.registerHooks(serviceKind, {
    admitCreate: async (svc) => [
      ...(await serviceIps.admitCreate(svc as Service)),
      ...(await nodePorts.admitCreate(svc as Service)),
    ],
    admitUpdate: (current, next) => admitServiceUpdate(current as Service, next as Service),
    updateOps: (current, next) => nodePorts.admitUpdate(current as Service, next as Service),
    deleteOps: async (svc) => [
      ...(await serviceIps.releaseOps(svc)),
      ...(await nodePorts.releaseOps(svc)),
    ],
  });
  projects.onDelete(async (name) => [
    ...(await serviceIps.releaseNamespaceOps(name)),
    ...(await nodePorts.releaseNamespaceOps(name)),
  ]);

  resources.registerHooks(replicaSetKind, { admitUpdate: admitSelectorUnchanged('ReplicaSet') });
  resources.registerHooks(deploymentKind, { admitUpdate: admitSelectorUnchanged('Deployment') });

  resources.registerHooks(podKind, {
    admitCreate: async (pod, ctx) => {
      admitBuildPodCreate(pod, ctx);
      const project = await resources.get(projectKind, undefined, pod.metadata.namespace ?? '');
      admitPod(pod as Pod, project);
      return undefined;
    },
    admitUpdate: (current, next, ctx) => {
      admitBuildPodUpdate(current, next, ctx);
      admitPodUpdate(current as Pod, next as Pod);
    },
  });

  return {
    allocator,
    repair: async () => {
      const { released, assigned } = await allocator.repair(
        (kv) => resources.decode(kv),
        (obj) => resources.encode(obj),
      );
      if (released > 0 || assigned.length > 0)
        logger.info({ released, assigned }, 'reconciled project UID ranges');
    },
  };
}

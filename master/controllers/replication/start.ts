import type { Pod } from '../../../src/api/index.js';
import type { ReplicaSet } from '../../../src/api/kinds/replica-set.js';
import type { ReplicationController } from '../../../src/api/kinds/replication-controller.js';
import { EventRecorder, type ApiClient } from '../../../src/client/index.js';
import type { Informer } from '../../../src/reconcile/index.js';
import type { Logger } from '../../../src/util/logger.js';
import { apiInformer } from '../informers.js';
import { httpReplicationClient } from './client.js';
import { ReplicationManager } from './controller.js';
import {
  replicaSetWorkload,
  replicationControllerWorkload,
  type Workload,
  type WorkloadKind,
} from './workload.js';

export interface ReplicationControllers {
  run(signal: AbortSignal): Promise<void>;
  recorders: EventRecorder[];
  /** The ReplicationController and ReplicaSet informers, for other controllers to share. */
  replicationControllers: Informer<ReplicationController>;
  replicaSets: Informer<ReplicaSet>;
}

/** The replication controllers for ReplicationControllers and ReplicaSets, with their
 * informers, over the controller-manager's shared pod informer. */
export function replicationControllers(options: {
  client: ApiClient;
  pods: Informer<Pod>;
  logger: Logger;
  informerOptions: { watchTimeoutSeconds: number };
}): ReplicationControllers {
  const { client, pods, logger } = options;
  const recorders: EventRecorder[] = [];
  const start = <T extends Workload>(kind: WorkloadKind<T>) => {
    const workloads = apiInformer<T>(options, kind.def);
    const recorder = new EventRecorder({ client, component: kind.component, logger });
    recorders.push(recorder);
    const manager = new ReplicationManager<T>({
      kind,
      workloads,
      pods,
      client: httpReplicationClient(client, kind.def),
      recorder,
      logger,
    });
    return { workloads, manager };
  };
  const rc = start(replicationControllerWorkload);
  const rs = start(replicaSetWorkload);
  return {
    recorders,
    replicationControllers: rc.workloads,
    replicaSets: rs.workloads,
    run: async (signal) => {
      await Promise.all([
        rc.workloads.run(signal),
        rs.workloads.run(signal),
        rc.manager.run(signal),
        rs.manager.run(signal),
      ]);
    },
  };
}

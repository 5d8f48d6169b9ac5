import type { ApiObject, Pod } from '../../../src/api/index.js';
import { podKind, replicaSetKind, replicationControllerKind } from '../../../src/api/index.js';
import type { ApiClient } from '../../../src/client/index.js';
import type { Informer } from '../../../src/reconcile/index.js';
import type { Logger } from '../../../src/util/logger.js';
import { apiInformer } from '../informers.js';
import {
  GarbageCollector,
  httpGarbageCollectorClient,
  type ObjectCache,
  type Watched,
} from './controller.js';

/** Owner kinds watched besides ReplicationControllers and ReplicaSets, when the server has them. */
const OTHER_OWNER_KINDS = [
  { apiVersion: 'apps.openshift.io/v1', kind: 'DeploymentConfig' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
];

/** Builds and their pods are collected by the build controllers. */
export const BUILD_OWNER_KINDS = ['Build', 'BuildConfig'];

/**
 * The garbage collector over pods, ReplicationControllers and ReplicaSets (shared informers),
 * watching DeploymentConfigs and Deployments as owners when the kind registry has them.
 */
export function garbageCollector(options: {
  client: ApiClient;
  pods: Informer<Pod>;
  replicationControllers: ObjectCache;
  replicaSets: ObjectCache;
  logger: Logger;
  informerOptions: { watchTimeoutSeconds: number };
}): { run(signal: AbortSignal): Promise<void> } {
  const { client, logger } = options;
  const rcs: Watched = { def: replicationControllerKind, informer: options.replicationControllers };
  const rss: Watched = { def: replicaSetKind, informer: options.replicaSets };
  const pods: Watched = { def: podKind, informer: options.pods };
  const extra: { def: Watched['def']; informer: Informer<ApiObject> }[] = [];
  for (const { apiVersion, kind } of OTHER_OWNER_KINDS) {
    const def = client.registry.forObject(apiVersion, kind);
    if (!def) continue;
    extra.push({ def, informer: apiInformer<ApiObject>(options, def) });
  }
  const collector = new GarbageCollector({
    dependents: [pods, rcs, rss],
    owners: [rcs, rss, ...extra],
    registry: client.registry,
    ignoredOwnerKinds: BUILD_OWNER_KINDS,
    client: httpGarbageCollectorClient(client),
    logger,
  });
  return {
    run: async (signal) => {
      await Promise.all([...extra.map((w) => w.informer.run(signal)), collector.run(signal)]);
    },
  };
}

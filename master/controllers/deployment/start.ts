import { imageStreamKind, type Pod } from '../../../src/api/index.js';
import { deploymentConfigKind, deploymentKind } from '../../../src/api/kinds/index.js';
import type { Deployment } from '../../../src/api/kinds/deployment.js';
import type { DeploymentConfig } from '../../../src/api/kinds/deployment-config.js';
import type { ImageStream } from '../../../src/api/kinds/image-stream.js';
import type { ReplicaSet } from '../../../src/api/kinds/replica-set.js';
import type { ReplicationController } from '../../../src/api/kinds/replication-controller.js';
import { EventRecorder, type ApiClient } from '../../../src/client/index.js';
import type { Informer } from '../../../src/reconcile/index.js';
import type { Logger } from '../../../src/util/logger.js';
import { apiInformer } from '../informers.js';
import { httpWorkloadClient } from './client.js';
import { DC_CONTROLLER_COMPONENT, DeploymentConfigController } from './dc-controller.js';
import { DEPLOYMENT_CONTROLLER_COMPONENT, DeploymentController } from './deployment-controller.js';

export interface DeploymentControllersOptions {
  client: ApiClient;
  /** The controller-manager's shared informers (pods; the replication controller's RCs and
   * ReplicaSets). */
  pods: Informer<Pod>;
  replicationControllers: Informer<ReplicationController>;
  replicaSets: Informer<ReplicaSet>;
  logger: Logger;
  informerOptions: { watchTimeoutSeconds: number };
}

/** The DeploymentConfig and Deployment controllers with their own informers (DeploymentConfigs,
 * Deployments, ImageStreams), ready to run. The shared informers are run by their owners. */
export function deploymentControllers(options: DeploymentControllersOptions): {
  run(signal: AbortSignal): Promise<void>;
  recorders: EventRecorder[];
} {
  const { client, pods, logger } = options;
  const deploymentConfigs = apiInformer<DeploymentConfig>(options, deploymentConfigKind);
  const deployments = apiInformer<Deployment>(options, deploymentKind);
  const imageStreams = apiInformer<ImageStream>(options, imageStreamKind);
  const recorders = [DC_CONTROLLER_COMPONENT, DEPLOYMENT_CONTROLLER_COMPONENT].map(
    (component) => new EventRecorder({ client, component, logger }),
  );
  const workloads = httpWorkloadClient(client);
  const dcController = new DeploymentConfigController({
    deploymentConfigs,
    replicationControllers: options.replicationControllers,
    pods,
    imageStreams,
    client: workloads,
    recorder: recorders[0]!,
    logger,
  });
  const deploymentController = new DeploymentController({
    deployments,
    replicaSets: options.replicaSets,
    pods,
    client: workloads,
    recorder: recorders[1]!,
    logger,
  });
  return {
    recorders,
    run: async (signal) => {
      await Promise.all([
        deploymentConfigs.run(signal),
        deployments.run(signal),
        imageStreams.run(signal),
        dcController.run(signal),
        deploymentController.run(signal),
      ]);
    },
  };
}

import {
  buildConfigKind,
  buildKind,
  imageStreamKind,
  type Build,
  type BuildConfig,
  type ImageStream,
  type Pod,
} from '../../../src/api/index.js';
import { EventRecorder, type ApiClient } from '../../../src/client/index.js';
import type { Informer } from '../../../src/reconcile/index.js';
import type { Logger } from '../../../src/util/logger.js';
import { apiInformer } from '../informers.js';
import {
  BUILD_CONFIG_CONTROLLER_COMPONENT,
  BuildConfigController,
} from './build-config-controller.js';
import { BUILD_CONTROLLER_COMPONENT, BuildController } from './build-controller.js';
import { httpBuildClient } from './client.js';
import { ImageStreamController } from './image-stream-controller.js';
import { ScheduledImportsController } from './scheduled-imports.js';

export interface BuildControllersOptions {
  client: ApiClient;
  /** The controller-manager's shared pod informer. */
  pods: Informer<Pod>;
  logger: Logger;
  /** The cluster registry builds push to; undefined: none configured. */
  registry: string | undefined;
  watchTimeoutSeconds: number;
  /** How often tags with `importPolicy.scheduled` are imported again. */
  scheduledImportIntervalMs: number;
}

/** The build, BuildConfig and image stream controllers with their informers, ready to run. */
export function buildControllers(options: BuildControllersOptions): {
  run(signal: AbortSignal): Promise<void>;
  recorders: EventRecorder[];
} {
  const { client, pods, logger, registry } = options;
  const source = {
    client,
    logger,
    informerOptions: { watchTimeoutSeconds: options.watchTimeoutSeconds },
  };
  const builds = apiInformer<Build>(source, buildKind);
  const buildConfigs = apiInformer<BuildConfig>(source, buildConfigKind);
  const imageStreams = apiInformer<ImageStream>(source, imageStreamKind);
  const buildClient = httpBuildClient(client);
  const recorders = [BUILD_CONTROLLER_COMPONENT, BUILD_CONFIG_CONTROLLER_COMPONENT].map(
    (component) => new EventRecorder({ client, component, logger }),
  );
  const buildController = new BuildController({
    builds,
    pods,
    buildConfigs,
    imageStreams,
    client: buildClient,
    recorder: recorders[0]!,
    logger,
    registry,
  });
  const buildConfigController = new BuildConfigController({
    buildConfigs,
    builds,
    imageStreams,
    client: buildClient,
    recorder: recorders[1]!,
    logger,
  });
  const imageStreamController = new ImageStreamController({
    imageStreams,
    client: buildClient,
    logger,
    registry,
  });
  const scheduledImports = new ScheduledImportsController({
    imageStreams,
    importImages: (request, signal) => buildClient.importImages(request, signal),
    intervalMs: options.scheduledImportIntervalMs,
    logger,
  });
  return {
    recorders,
    run: async (signal) => {
      await Promise.all([
        scheduledImports.run(signal),
        builds.run(signal),
        buildConfigs.run(signal),
        imageStreams.run(signal),
        buildController.run(signal),
        buildConfigController.run(signal),
        imageStreamController.run(signal),
      ]);
    },
  };
}

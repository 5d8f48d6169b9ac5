/**
 * What every step of a build shares: the build pod's request, its workspace and log, the
 * Docker operations it may use, the build network and the node's limits. Built by the runner.
 */
import type { ConfigMap, Secret } from '../../src/api/index.js';
import type { Logger } from '../../src/util/logger.js';
import type {
  BuildEngine,
  BuildLimits,
  BuildNetwork,
  RegistryAuth,
} from '../docker/build-engine.js';
import type { BuildPodSpec } from './build-pod.js';
import type { BuildLog, Redactor } from './build-log.js';
import type { BuildWorkspace } from './workspace.js';

/** The Docker operations builds use (BuildEngine; fakes in unit tests). */
export type BuildDocker = Pick<
  BuildEngine,
  | 'ensureImage'
  | 'imageInfo'
  | 'imageId'
  | 'tagImage'
  | 'removeImage'
  | 'push'
  | 'buildImage'
  | 'createContainer'
  | 'run'
  | 'statPath'
  | 'putArchive'
  | 'getArchive'
  | 'commit'
  | 'removeContainer'
  | 'listContainers'
>;

/** What builds ask of the master. */
export interface BuildApi {
  /** The Secret, or undefined when it does not exist. */
  secret(namespace: string, name: string, signal: AbortSignal): Promise<Secret | undefined>;
  /** The ConfigMap, or undefined when it does not exist. */
  configMap(namespace: string, name: string, signal: AbortSignal): Promise<ConfigMap | undefined>;
  /** The uploaded binary input (a gzip tar, or the file itself with `asFile`); ApiError
   * NotFound until it is uploaded. */
  binarySource(
    namespace: string,
    buildName: string,
    signal: AbortSignal,
  ): Promise<AsyncIterable<Uint8Array>>;
}

/** The node's settings for builds (agent configuration). */
export interface BuildSettings {
  /** `file://` git URLs, local paths and file:// script URLs (tests, administrators). */
  allowLocalSources: boolean;
  cloneTimeoutMs: number;
  /** Most bytes of source (checkout, binary input, artifacts). */
  sourceLimitBytes: number;
  pidsLimit: number;
  /** UID for a Docker build's post-commit hook when its image's USER is not a numeric non-root
   * user. */
  defaultUid: number;
  /**
   * The node's own credentials for an image (for the cluster registry), to pull or push it.
   * Never given to a build's containers.
   */
  registryAuth?: (ref: string, signal?: AbortSignal) => Promise<RegistryAuth | undefined>;
}

export interface BuildEvents {
  normal(reason: string, message: string): void;
  warning(reason: string, message: string): void;
}

export interface BuildContext {
  spec: BuildPodSpec;
  workspace: BuildWorkspace;
  log: BuildLog;
  redactor: Redactor;
  docker: BuildDocker;
  api: BuildApi;
  settings: BuildSettings;
  network: BuildNetwork;
  limits: BuildLimits;
  events: BuildEvents;
  logger: Logger;
  signal: AbortSignal;
  /** A distinct attempt number for each container the build creates. */
  nextAttempt(): number;
  /**
   * Removes a container the build no longer needs while the build goes on; the build ends only
   * after every removal has.
   */
  removeLater(containerId: string): void;
}

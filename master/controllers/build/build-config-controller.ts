import {
  imageChangeTriggerFrom,
  isApiError,
  isBuildFinished,
  objectKey,
  parseImageStreamTagName,
  type Build,
  type BuildConfig,
  type ImageStream,
} from '../../../src/api/index.js';
import {
  Controller,
  ItemExponentialFailureRateLimiter,
  systemClock,
  WorkQueue,
  type Clock,
  type Informer,
  type Logger,
  type ReconcileResult,
} from '../../../src/reconcile/index.js';
import type { Recorder } from '../client.js';
import { BUILDS_BY_CONFIG, buildsByConfig } from './build-controller.js';
import type { BuildClient } from './client.js';
import { buildsToPrune } from './history.js';
import { nextTriggeredBuild } from './triggers.js';

/** `source.component` of BuildConfig events, as OpenShift's. */
export const BUILD_CONFIG_CONTROLLER_COMPONENT = 'buildconfig-controller';

export interface BuildConfigControllerOptions {
  buildConfigs: Informer<BuildConfig>;
  builds: Informer<Build>;
  imageStreams: Informer<ImageStream>;
  client: BuildClient;
  recorder: Recorder;
  logger: Logger;
  clock?: Clock;
}

/** The BuildConfigs an ImageChange trigger of which watches `namespace/stream`. */
function watches(bc: BuildConfig, namespace: string, stream: string): boolean {
  const ns = bc.metadata.namespace ?? '';
  return (bc.spec.triggers ?? []).some((trigger) => {
    const from = imageChangeTriggerFrom(bc, trigger);
    if (!from) return false;
    return (
      (from.namespace || ns) === namespace && parseImageStreamTagName(from.name)?.stream === stream
    );
  });
}

/** Whether a build belongs to this BuildConfig (owner uid, or no owner reference at all). */
function ownedBy(build: Build, bc: BuildConfig): boolean {
  const owner = build.metadata.ownerReferences?.find((r) => r.kind === 'BuildConfig');
  return !owner || owner.uid === bc.metadata.uid;
}

/**
 * BuildConfigs: starts the builds their triggers call for (ConfigChange once, ImageChange when
 * the watched image moves; see triggers.ts) through `instantiate`, prunes finished builds
 * beyond the history limits, and deletes the builds of a deleted BuildConfig (the garbage
 * collection Slipway does not otherwise have). Keyed by `namespace/name`.
 */
export class BuildConfigController {
  readonly #configs: Informer<BuildConfig>;
  readonly #builds: Informer<Build>;
  readonly #streams: Informer<ImageStream>;
  readonly #client: BuildClient;
  readonly #recorder: Recorder;
  readonly #log: Logger;
  readonly #queue: WorkQueue<string>;
  readonly #controller: Controller<string>;

  constructor(options: BuildConfigControllerOptions) {
    this.#configs = options.buildConfigs;
    this.#builds = options.builds;
    this.#streams = options.imageStreams;
    this.#client = options.client;
    this.#recorder = options.recorder;
    this.#log = options.logger.child({ component: 'buildconfig-controller' });
    this.#queue = new WorkQueue<string>({
      clock: options.clock ?? systemClock,
      rateLimiter: new ItemExponentialFailureRateLimiter({ baseDelayMs: 500, maxDelayMs: 60_000 }),
    });
    this.#controller = new Controller({
      name: 'buildconfig-controller',
      queue: this.#queue,
      workers: 1,
      logger: options.logger,
      waitFor: [this.#configs, this.#builds, this.#streams],
      reconcile: (key, signal, log) => this.reconcile(key, signal, log),
    });

    this.#configs.addEventHandler({
      onAdd: (bc) => this.#queue.add(objectKey(bc)),
      onUpdate: (_old, bc) => this.#queue.add(objectKey(bc)),
      onDelete: (bc) => this.#queue.add(objectKey(bc)),
    });
    const buildChanged = (build: Build): void => {
      const key = buildsByConfig(build);
      if (key) this.#queue.add(key);
    };
    this.#builds.addEventHandler({
      onAdd: buildChanged,
      onUpdate: (old, build) => {
        if (isBuildFinished(build.status?.phase) !== isBuildFinished(old.status?.phase)) {
          buildChanged(build);
        }
      },
    });
    const streamChanged = (is: ImageStream): void => {
      const namespace = is.metadata.namespace ?? '';
      const name = is.metadata.name ?? '';
      for (const bc of this.#configs.list()) {
        if (watches(bc, namespace, name)) this.#queue.add(objectKey(bc));
      }
    };
    this.#streams.addEventHandler({
      onAdd: streamChanged,
      onUpdate: (old, is) => {
        if (old !== is) streamChanged(is);
      },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return this.#controller.run(signal);
  }

  async reconcile(
    key: string,
    signal: AbortSignal,
    log: Logger = this.#log,
  ): Promise<ReconcileResult | void> {
    const [namespace = '', name = ''] = key.split('/');
    const bc = this.#configs.get(key);
    const builds = this.#builds.byIndex(BUILDS_BY_CONFIG, key);
    if (!bc) {
      await this.#deleteOrphans(namespace, name, builds, signal, log);
      return;
    }

    const lookup = (ns: string, stream: string): ImageStream | undefined =>
      this.#streams.get(`${ns}/${stream}`);
    const request = nextTriggeredBuild(bc, lookup);
    if (request) {
      try {
        const build = await this.#client.instantiate(namespace, name, request, signal);
        log.info(
          { build: build.metadata.name, cause: request.triggeredBy[0]?.message },
          'triggered a build',
        );
      } catch (err) {
        // Conflict: the cache was behind (the build exists already, or lastVersion moved).
        if (isApiError(err, 'Conflict') || isApiError(err, 'NotFound')) return { requeue: true };
        this.#recorder.warning(
          bc,
          'BuildConfigInstantiateFailed',
          `error instantiating Build from BuildConfig ${key}: ${(err as Error).message}`,
        );
        if (isApiError(err, 'BadRequest') || isApiError(err, 'Invalid')) return;
        throw err;
      }
    }

    for (const build of buildsToPrune(
      bc,
      builds.filter((b) => ownedBy(b, bc)),
    )) {
      await this.#client.deleteBuild(build, signal);
      log.info({ build: build.metadata.name }, 'pruned a build');
    }
    // Builds of an earlier BuildConfig of the same name (the cache may also just lag).
    const foreign = builds.filter((b) => !ownedBy(b, bc));
    if (foreign.length > 0) await this.#deleteOrphans(namespace, name, foreign, signal, log);
  }

  /** A BuildConfig gone: its builds go too, once the API confirms it is gone. */
  async #deleteOrphans(
    namespace: string,
    name: string,
    builds: readonly Build[],
    signal: AbortSignal,
    log: Logger,
  ): Promise<void> {
    const owned = builds.filter((b) =>
      b.metadata.ownerReferences?.some((r) => r.kind === 'BuildConfig' && r.name === name),
    );
    if (owned.length === 0) return;
    const live = await this.#client.getBuildConfig(namespace, name, signal);
    for (const build of owned) {
      const owner = build.metadata.ownerReferences?.find((r) => r.kind === 'BuildConfig');
      if (live && owner?.uid === live.metadata.uid) continue;
      await this.#client.deleteBuild(build, signal);
      log.info({ build: build.metadata.name }, 'deleted a build of a deleted build configuration');
    }
  }
}

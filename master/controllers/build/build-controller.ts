import {
  type Build,
  BUILD_NAME_ANNOTATION,
  BUILD_REASON_MESSAGES,
  type BuildConfig,
  buildConfigNameOf,
  buildPodName,
  type BuildStatus,
  type ImageStream,
  imageStreamRepository,
  isApiError,
  isBuildFinished,
  objectKey,
  parseImageStreamTagName,
  type Pod,
  resolveImageReference,
  strategyFrom,
  strategyType,
  unlessNotFound,
  withTagEvent,
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
import { buildPod, isBuildPodOf, PLACEHOLDER_BUILDER_IMAGE } from './build-pod.js';
import { durationNanos, finishedBuild, podStartTime, toSeconds } from './build-result.js';
import type { BuildClient } from './client.js';
import { runPolicyDecision } from './run-policy.js';

/** `source.component` of build events, as OpenShift's build controller. */
export const BUILD_CONTROLLER_COMPONENT = 'build-controller';
/** Builds indexed by `namespace/buildconfig`. */
export const BUILDS_BY_CONFIG = 'buildconfig';

export function buildsByConfig(build: Build): string | undefined {
  const config = buildConfigNameOf(build);
  return config ? `${build.metadata.namespace ?? ''}/${config}` : undefined;
}

export interface BuildControllerOptions {
  builds: Informer<Build>;
  pods: Informer<Pod>;
  buildConfigs: Informer<BuildConfig>;
  imageStreams: Informer<ImageStream>;
  client: BuildClient;
  recorder: Recorder;
  logger: Logger;
  /** The cluster registry (`HOST:PORT`) builds push to; undefined: none configured. */
  registry: string | undefined;
  clock?: Clock;
  now?: () => Date;
  workers?: number;
}

/** RFC 3339 at second precision. */
function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function podFinished(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * Runs builds (OpenShift's build controller): a New build waits for its turn (runPolicy) and
 * for its builder image, gets its output reference and its pod; the pod's phase is mirrored
 * (Pending, Running); when the pod ends, its BuildResult becomes the build's final status and a
 * Complete build moves its output ImageStream tag. Cancelled builds lose their pod; a build
 * pod deleted before the end makes the build Error/BuildPodDeleted; a build pod whose build is
 * gone is deleted (Slipway has no garbage collector). Finished builds keep their pod, for logs.
 */
export class BuildController {
  readonly #builds: Informer<Build>;
  readonly #pods: Informer<Pod>;
  readonly #configs: Informer<BuildConfig>;
  readonly #streams: Informer<ImageStream>;
  readonly #client: BuildClient;
  readonly #recorder: Recorder;
  readonly #log: Logger;
  readonly #registry: string | undefined;
  readonly #now: () => Date;
  readonly #queue: WorkQueue<string>;
  readonly #controller: Controller<string>;

  constructor(options: BuildControllerOptions) {
    this.#builds = options.builds;
    this.#pods = options.pods;
    this.#configs = options.buildConfigs;
    this.#streams = options.imageStreams;
    this.#client = options.client;
    this.#recorder = options.recorder;
    this.#log = options.logger.child({ component: 'build-controller' });
    this.#registry = options.registry;
    this.#now = options.now ?? (() => new Date());
    this.#queue = new WorkQueue<string>({
      clock: options.clock ?? systemClock,
      rateLimiter: new ItemExponentialFailureRateLimiter({ baseDelayMs: 500, maxDelayMs: 60_000 }),
    });
    this.#controller = new Controller({
      name: 'build-controller',
      queue: this.#queue,
      workers: options.workers ?? 2,
      logger: options.logger,
      waitFor: [this.#builds, this.#pods, this.#configs, this.#streams],
      reconcile: (key, signal, log) => this.reconcile(key, signal, log),
    });

    this.#builds.addIndex(BUILDS_BY_CONFIG, buildsByConfig);
    this.#builds.addEventHandler({
      onAdd: (b) => this.#queue.add(objectKey(b)),
      onUpdate: (_old, b) => {
        this.#queue.add(objectKey(b));
        this.#wakeQueued(buildsByConfig(b));
      },
      onDelete: (b) => {
        this.#queue.add(objectKey(b));
        this.#wakeQueued(buildsByConfig(b));
      },
    });
    const podChanged = (pod: Pod): void => {
      const build = pod.metadata.annotations?.[BUILD_NAME_ANNOTATION];
      if (build) this.#queue.add(`${pod.metadata.namespace ?? ''}/${build}`);
    };
    this.#pods.addEventHandler({
      onAdd: podChanged,
      onUpdate: (_old, pod) => podChanged(pod),
      onDelete: podChanged,
    });
    // A builder or output stream appearing or moving may let waiting builds start.
    const wakeAllQueued = (): void => {
      for (const b of this.#builds.list()) {
        if ((b.status?.phase ?? 'New') === 'New') this.#queue.add(objectKey(b));
      }
    };
    this.#streams.addEventHandler({
      onAdd: wakeAllQueued,
      onUpdate: (old, is) => {
        if (old !== is) wakeAllQueued();
      },
    });
    this.#configs.addEventHandler({
      onUpdate: (old, bc) => {
        if (old !== bc) this.#wakeQueued(objectKey(bc));
      },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return this.#controller.run(signal);
  }

  /** Queued builds of a configuration get another look (one of theirs moved on). */
  #wakeQueued(configKey: string | undefined): void {
    if (!configKey) return;
    for (const b of this.#builds.byIndex(BUILDS_BY_CONFIG, configKey)) {
      if ((b.status?.phase ?? 'New') === 'New') this.#queue.add(objectKey(b));
    }
  }

  #stream(namespace: string, name: string): ImageStream | undefined {
    return this.#streams.get(`${namespace}/${name}`);
  }

  async reconcile(
    key: string,
    signal: AbortSignal,
    log: Logger = this.#log,
  ): Promise<ReconcileResult | void> {
    const build = this.#builds.get(key);
    const [namespace = '', name = ''] = key.split('/');
    const pod = this.#pods.get(`${namespace}/${buildPodName(name)}`);
    if (!build) {
      await this.#removeOrphanPod(namespace, name, pod, signal, log);
      return;
    }
    const phase = build.status?.phase ?? 'New';
    if (isBuildFinished(phase)) return;
    const owned = pod && isBuildPodOf(pod, build) ? pod : undefined;
    if (build.status?.cancelled && !(owned && podFinished(owned))) {
      await this.#cancel(build, owned, signal, log);
      return;
    }
    if (phase === 'New') return this.#start(build, pod, signal, log);
    return this.#follow(build, owned, signal, log);
  }

  /** A build pod whose build no longer exists (or is another build by now) is deleted. */
  async #removeOrphanPod(
    namespace: string,
    name: string,
    pod: Pod | undefined,
    signal: AbortSignal,
    log: Logger,
  ): Promise<void> {
    const owner = pod?.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'Build');
    if (!pod || !owner || pod.metadata.deletionTimestamp) return;
    const live = await this.#client.getBuild(namespace, name, signal);
    if (live && live.metadata.uid === owner.uid) return;
    log.info({ pod: pod.metadata.name }, 'deleting the pod of a deleted build');
    await this.#client.deletePod(pod, signal);
  }

  async #write(build: Build, status: BuildStatus, signal: AbortSignal): Promise<Build | undefined> {
    return unlessNotFound(this.#client.updateBuild({ ...build, status }, signal));
  }

  #event(build: Build, type: 'Normal' | 'Warning', reason: string, message: string): void {
    if (type === 'Normal') this.#recorder.normal(build, reason, message);
    else this.#recorder.warning(build, reason, message);
  }

  #ref(build: Build): string {
    return `${build.metadata.namespace ?? ''}/${build.metadata.name ?? ''}`;
  }

  async #cancel(
    build: Build,
    pod: Pod | undefined,
    signal: AbortSignal,
    log: Logger,
    message: string = BUILD_REASON_MESSAGES.CancelledBuild!,
  ): Promise<void> {
    if (pod && !pod.metadata.deletionTimestamp) await this.#client.deletePod(pod, signal);
    const now = timestamp(this.#now());
    const status: BuildStatus = {
      ...build.status,
      phase: 'Cancelled',
      reason: 'CancelledBuild',
      message,
      completionTimestamp: now,
    };
    const duration = durationNanos(status.startTimestamp, now);
    if (duration !== undefined) status.duration = duration;
    if (await this.#write(build, status, signal)) {
      log.info({}, 'build cancelled');
      this.#event(
        build,
        'Normal',
        'BuildCancelled',
        `Build ${this.#ref(build)} has been cancelled`,
      );
    }
  }

  async #fail(
    build: Build,
    phase: 'Failed' | 'Error',
    reason: string,
    message: string,
    signal: AbortSignal,
  ): Promise<void> {
    const now = timestamp(this.#now());
    const status: BuildStatus = {
      ...build.status,
      phase,
      reason,
      message,
      completionTimestamp: now,
    };
    const duration = durationNanos(status.startTimestamp, now);
    if (duration !== undefined) status.duration = duration;
    if (await this.#write(build, status, signal)) {
      this.#event(build, 'Warning', 'BuildFailed', `Build ${this.#ref(build)} failed: ${message}`);
    }
  }

  /** A New build: its turn, its images, its pod. */
  async #start(
    build: Build,
    pod: Pod | undefined,
    signal: AbortSignal,
    log: Logger,
  ): Promise<ReconcileResult | void> {
    const namespace = build.metadata.namespace ?? '';
    if (pod) {
      if (!isBuildPodOf(pod, build)) {
        await this.#fail(
          build,
          'Error',
          'BuildPodExists',
          BUILD_REASON_MESSAGES.BuildPodExists!,
          signal,
        );
        return;
      }
      // Created by an earlier attempt whose status write was lost: just record it.
      await this.#write(build, { ...build.status, phase: 'Pending' }, signal);
      return;
    }

    const config = buildConfigNameOf(build);
    if (config) {
      const bc = this.#configs.get(`${namespace}/${config}`);
      const siblings = this.#builds.byIndex(BUILDS_BY_CONFIG, `${namespace}/${config}`);
      const decision = runPolicyDecision(build, siblings, bc?.spec.runPolicy);
      if (decision === 'wait') return;
      if (decision === 'cancel') {
        await this.#cancel(
          build,
          undefined,
          signal,
          log,
          'Cancelled because a newer build of the configuration was queued (runPolicy SerialLatestOnly).',
        );
        return;
      }
    }

    // The builder image.
    const lookup = (ns: string, name: string): ImageStream | undefined => this.#stream(ns, name);
    const from = strategyFrom(build.spec.strategy);
    let builderImage = PLACEHOLDER_BUILDER_IMAGE;
    if (from) {
      const resolved = resolveImageReference(from, namespace, lookup);
      if (!resolved.ok) {
        const message = `${BUILD_REASON_MESSAGES.InvalidImageReference!.replace(/\.$/, '')}: ${resolved.message}.`;
        if (build.status?.reason !== 'InvalidImageReference' || build.status.message !== message) {
          await this.#write(
            build,
            { ...build.status, phase: 'New', reason: 'InvalidImageReference', message },
            signal,
          );
          this.#event(build, 'Warning', 'InvalidImageReference', message);
        }
        return;
      }
      builderImage = resolved.dockerImageReference;
    } else if (strategyType(build.spec.strategy) === 'Source') {
      await this.#fail(
        build,
        'Failed',
        'InvalidImageReference',
        'A Source build needs a builder image (spec.strategy.sourceStrategy.from).',
        signal,
      );
      return;
    }

    // The output.
    const to = build.spec.output?.to;
    let outputImage: string | undefined;
    if (to?.kind === 'ImageStreamTag') {
      const parsed = parseImageStreamTagName(to.name);
      const toNamespace = to.namespace || namespace;
      if (!this.#registry) {
        await this.#fail(
          build,
          'Failed',
          'InvalidOutputReference',
          'Output image could not be resolved: no image registry is configured for the cluster (start the master with --registry or SLIPWAY_REGISTRY).',
          signal,
        );
        return;
      }
      if (!parsed || !this.#stream(toNamespace, parsed.stream)) {
        const stream = parsed ? `${toNamespace}/${parsed.stream}` : to.name;
        await this.#fail(
          build,
          'Failed',
          'InvalidOutputReference',
          `Output image could not be resolved: the image stream ${stream} does not exist; create it before building into it.`,
          signal,
        );
        return;
      }
      outputImage = `${imageStreamRepository(this.#registry, toNamespace, parsed.stream)}:${parsed.tag}`;
    } else if (to?.kind === 'DockerImage') {
      outputImage = to.name;
    }

    try {
      await this.#client.createPod(buildPod(build, { builderImage, outputImage }), signal);
    } catch (err) {
      if (isApiError(err, 'AlreadyExists')) return { requeue: true };
      if (isApiError(err, 'Forbidden') || isApiError(err, 'Invalid')) {
        await this.#fail(
          build,
          'Error',
          'CannotCreateBuildPod',
          `${BUILD_REASON_MESSAGES.CannotCreateBuildPod!} ${err.message}`,
          signal,
        );
        return;
      }
      throw err;
    }
    log.info({ builderImage, outputImage }, 'build pod created');
    const status: BuildStatus = { ...build.status, phase: 'Pending' };
    delete status.reason;
    delete status.message;
    if (outputImage) status.outputDockerImageReference = outputImage;
    await this.#write(build, status, signal);
  }

  /** A Pending or Running build: mirror its pod; finish it when the pod ends. */
  async #follow(
    build: Build,
    pod: Pod | undefined,
    signal: AbortSignal,
    log: Logger,
  ): Promise<ReconcileResult | void> {
    const namespace = build.metadata.namespace ?? '';
    const podName = buildPodName(build.metadata.name ?? '');
    const gone = !pod || (pod.metadata.deletionTimestamp !== undefined && !podFinished(pod));
    if (gone) {
      // The cache may lag behind a pod just created: ask the API before concluding.
      const live = await this.#client.getPod(namespace, podName, signal);
      const really =
        !live ||
        !isBuildPodOf(live, build) ||
        (live.metadata.deletionTimestamp !== undefined && !podFinished(live));
      if (!really) return { requeueAfter: 1000 };
      log.info({}, 'build pod deleted before the build finished');
      await this.#fail(
        build,
        'Error',
        'BuildPodDeleted',
        BUILD_REASON_MESSAGES.BuildPodDeleted!,
        signal,
      );
      return;
    }
    switch (pod.status?.phase) {
      case 'Running': {
        if (build.status?.phase === 'Running') return;
        const started = toSeconds(podStartTime(pod)) ?? timestamp(this.#now());
        if (
          await this.#write(
            build,
            {
              ...build.status,
              phase: 'Running',
              startTimestamp: build.status?.startTimestamp ?? started,
            },
            signal,
          )
        ) {
          this.#event(build, 'Normal', 'BuildStarted', `Build ${this.#ref(build)} is now running`);
        }
        return;
      }
      case 'Succeeded':
      case 'Failed':
        await this.#finish(build, pod, signal, log);
        return;
      default:
        if (build.status?.phase !== 'Pending') {
          await this.#write(build, { ...build.status, phase: 'Pending' }, signal);
        }
    }
  }

  async #finish(build: Build, pod: Pod, signal: AbortSignal, log: Logger): Promise<void> {
    const now = timestamp(this.#now());
    const { status, result } = finishedBuild(build, pod, now);
    if (status.phase === 'Complete')
      await this.#moveOutputTag(
        build,
        status,
        result?.outputDockerImageReference,
        now,
        signal,
        log,
      );
    const next: Build = { ...build, status };
    if (result?.revision?.commit && !build.spec.revision?.git?.commit) {
      next.spec = { ...build.spec, revision: { type: 'Git', git: result.revision } };
    }
    let written: Build | undefined;
    try {
      written = await this.#client.updateBuild(next, signal);
    } catch (err) {
      if (isApiError(err, 'NotFound')) return;
      throw err;
    }
    if (!written) return;
    log.info({ phase: status.phase, reason: status.reason }, 'build finished');
    const ref = this.#ref(build);
    switch (status.phase) {
      case 'Complete':
        this.#event(build, 'Normal', 'BuildCompleted', `Build ${ref} completed successfully`);
        break;
      case 'Cancelled':
        this.#event(build, 'Normal', 'BuildCancelled', `Build ${ref} has been cancelled`);
        break;
      default:
        this.#event(
          build,
          'Warning',
          'BuildFailed',
          `Build ${ref} failed: ${status.message ?? status.reason ?? ''}`,
        );
    }
  }

  /** A Complete build's output tag: its image becomes the tag's newest, history kept. */
  async #moveOutputTag(
    build: Build,
    status: BuildStatus,
    reported: string | undefined,
    now: string,
    signal: AbortSignal,
    log: Logger,
  ): Promise<void> {
    const to = build.spec.output?.to;
    if (to?.kind !== 'ImageStreamTag' || !this.#registry) return;
    const parsed = parseImageStreamTagName(to.name);
    if (!parsed) return;
    const namespace = to.namespace || build.metadata.namespace || '';
    const stream = this.#stream(namespace, parsed.stream);
    if (!stream) {
      log.warn({ stream: `${namespace}/${parsed.stream}` }, 'the output image stream is gone');
      this.#event(
        build,
        'Warning',
        'InvalidOutputReference',
        `The output image stream ${namespace}/${parsed.stream} no longer exists; the image was pushed but no tag moved.`,
      );
      return;
    }
    const repository = imageStreamRepository(this.#registry, namespace, parsed.stream);
    const digest = status.output?.to?.imageDigest;
    const reference =
      reported ??
      (digest
        ? `${repository}@${digest}`
        : (status.outputDockerImageReference ?? `${repository}:${parsed.tag}`));
    const next = withTagEvent(stream.status, parsed.tag, {
      created: now,
      dockerImageReference: reference,
      ...(digest ? { image: digest } : {}),
      generation: stream.metadata.generation ?? 1,
    });
    if (next === stream.status) return;
    const updated = { ...next, dockerImageRepository: next.dockerImageRepository ?? repository };
    await this.#client.updateImageStreamStatus({ ...stream, status: updated }, signal);
    log.info(
      { stream: `${namespace}/${parsed.stream}`, tag: parsed.tag, reference },
      'output tag moved',
    );
  }
}

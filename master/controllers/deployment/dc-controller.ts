import {
  isApiError,
  objectKey,
  podKind,
  replicationControllerKind,
  type ApiObject,
  type Pod,
} from '../../../src/api/index.js';
import { deploymentConfigKind } from '../../../src/api/kinds/index.js';
import {
  DC_ANNOTATIONS,
  DC_DEFAULTS,
  DC_REASONS,
  dcFenceposts,
  decodeDeploymentConfig,
  deploymentPhaseOf,
  deploymentVersionOf,
  imageChangeTriggers,
  isCancelled,
  isTerminatedPhase,
  type DeploymentConfig,
} from '../../../src/api/kinds/deployment-config.js';
import {
  imagesResolved,
  triggerActivated,
  withTriggeredImages,
} from '../../../src/api/kinds/deployment-config-triggers.js';
import {
  parseImageStreamTagName,
  type ImageStream,
  type StreamLookup,
} from '../../../src/api/kinds/image-stream.js';
import type { ReplicationController } from '../../../src/api/kinds/replication-controller.js';
import {
  Controller,
  CONTROLLER_UID_INDEX,
  controllerUidIndex,
  enqueueControllerOwner,
  WorkQueue,
  type Clock,
  type Informer,
  type Logger,
  type ReconcileResult,
} from '../../../src/reconcile/index.js';
import type { Recorder } from '../client.js';
import { writeStatus, type WorkloadClient } from './client.js';
import { makeDeployment } from './dc-deployment.js';
import { calculateDcStatus, DC_CONDITION_REASONS, type ExtraCondition } from './dc-status.js';
import { hookOf, hookPodName, hookProgress, makeHookPod, type HookType } from './hooks.js';
import { recreateStep, rollingStep, type Step } from './rollout.js';
import {
  controlledBy,
  currentProgress,
  enqueueSetOwner,
  formatProgress,
  hookAnnotation,
  PROGRESS_ANNOTATION,
  requeueAfter,
  setCounter,
} from './sets.js';

export const DC_CONTROLLER_COMPONENT = 'deploymentconfig-controller';

/** DeploymentConfigs by the `namespace/stream` of each ImageChange trigger. */
const STREAM_INDEX = 'deploymentconfig.imageStreams';

export interface DeploymentConfigControllerOptions {
  deploymentConfigs: Informer<DeploymentConfig>;
  /** Shared with the replication controller. */
  replicationControllers: Informer<ReplicationController>;
  /** The controller-manager's shared pod informer. */
  pods: Informer<Pod>;
  imageStreams: Informer<ImageStream>;
  client: WorkloadClient;
  recorder: Recorder;
  logger: Logger;
  /** Queue timing. */
  clock?: Clock;
  /** Wall time: pods' ready times, deadlines, condition timestamps. */
  now?: () => Date;
  workers?: number;
}

/** Copies of cached RCs being changed in one reconcile, each written once at the end. */
class Drafts {
  readonly #drafts = new Map<string, ReplicationController>();

  edit(rc: ReplicationController): ReplicationController {
    const key = rc.metadata.name ?? '';
    let draft = this.#drafts.get(key);
    if (!draft) {
      draft = structuredClone(rc);
      draft.metadata.annotations = { ...draft.metadata.annotations };
      this.#drafts.set(key, draft);
    }
    return draft;
  }

  annotate(rc: ReplicationController, key: string, value: string | undefined): void {
    const annotations = this.edit(rc).metadata.annotations!;
    if (value === undefined) delete annotations[key];
    else annotations[key] = value;
  }

  async flush(write: (rc: ReplicationController) => Promise<unknown>): Promise<void> {
    for (const draft of this.#drafts.values()) await write(draft);
    this.#drafts.clear();
  }
}

function streamKeys(dc: DeploymentConfig): string[] {
  const namespace = dc.metadata.namespace ?? '';
  return imageChangeTriggers(dc).flatMap((t) => {
    const from = t.imageChangeParams!.from;
    const stream = parseImageStreamTagName(from.name)?.stream;
    return stream ? [`${from.namespace || namespace}/${stream}`] : [];
  });
}

/**
 * OpenShift's DeploymentConfig controllers in one, keyed by `namespace/name`: the image trigger
 * controller (automatic ImageChange triggers put their tag's image into the template), the
 * DeploymentConfigController (triggers bump `status.latestVersion`; version N gets RC `NAME-N`;
 * a newer version cancels rollouts in flight; the active RC follows `spec.replicas`, others go to
 * 0; old RCs beyond revisionHistoryLimit are deleted; status and conditions from the RCs) and
 * the deployer (the strategy, as level-triggered steps of the rollout engine, with hooks,
 * timeouts and cancellation; the RC's `openshift.io/deployment.phase` records where it is).
 */
export class DeploymentConfigController {
  readonly #dcs: Informer<DeploymentConfig>;
  readonly #rcs: Informer<ReplicationController>;
  readonly #pods: Informer<Pod>;
  readonly #streams: Informer<ImageStream>;
  readonly #client: WorkloadClient;
  readonly #recorder: Recorder;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #queue: WorkQueue<string>;
  readonly #controller: Controller<string>;
  /** When each configuration last scaled an RC during a rollout (updatePeriodSeconds). */
  readonly #lastScale = new Map<string, number>();

  constructor(options: DeploymentConfigControllerOptions) {
    this.#dcs = options.deploymentConfigs;
    this.#rcs = options.replicationControllers;
    this.#pods = options.pods;
    this.#streams = options.imageStreams;
    this.#client = options.client;
    this.#recorder = options.recorder;
    this.#log = options.logger.child({ component: DC_CONTROLLER_COMPONENT });
    this.#now = options.now ?? (() => new Date());
    this.#queue = new WorkQueue<string>(options.clock ? { clock: options.clock } : {});
    this.#controller = new Controller({
      name: DC_CONTROLLER_COMPONENT,
      queue: this.#queue,
      workers: options.workers ?? 2,
      logger: options.logger,
      waitFor: [this.#dcs, this.#rcs, this.#pods, this.#streams],
      reconcile: (key, signal) => this.reconcile(key, signal),
    });
    this.#rcs.addIndex(CONTROLLER_UID_INDEX, controllerUidIndex);
    this.#pods.addIndex(CONTROLLER_UID_INDEX, controllerUidIndex);
    this.#dcs.addIndex(STREAM_INDEX, (dc) => streamKeys(dc));
    const enqueue = (obj: ApiObject): void => this.#queue.add(objectKey(obj));
    this.#dcs.addEventHandler({
      onAdd: enqueue,
      onUpdate: (_old, dc) => enqueue(dc),
      onDelete: (dc) => this.#lastScale.delete(objectKey(dc)),
    });
    this.#rcs.addEventHandler(enqueueControllerOwner(this.#queue, 'DeploymentConfig'));
    // Hook pods are owned by their RC, not controlled: any reference to an RC counts.
    this.#pods.addEventHandler(
      enqueueSetOwner(this.#queue, this.#rcs, 'ReplicationController', 'DeploymentConfig', true),
    );
    const streamChanged = (is: ImageStream): void => {
      for (const dc of this.#dcs.byIndex(STREAM_INDEX, objectKey(is))) enqueue(dc);
    };
    this.#streams.addEventHandler({
      onAdd: streamChanged,
      onUpdate: (_old, is) => streamChanged(is),
      onDelete: streamChanged,
    });
  }

  /** Runs until `signal` aborts (after the caches have synced). */
  run(signal: AbortSignal): Promise<void> {
    return this.#controller.run(signal);
  }

  readonly #lookup: StreamLookup = (namespace, name) => this.#streams.get(`${namespace}/${name}`);

  /** The RCs the configuration controls, oldest version first. */
  #owned(dc: DeploymentConfig): ReplicationController[] {
    return controlledBy(this.#rcs, dc).sort(
      (a, b) => deploymentVersionOf(a) - deploymentVersionOf(b),
    );
  }

  #podsOf(rc: ReplicationController): Pod[] {
    return controlledBy(this.#pods, rc);
  }

  /** One look at DeploymentConfig `key` (`namespace/name`); public for tests. */
  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | void> {
    const dc = this.#dcs.get(key);
    if (!dc || dc.metadata.deletionTimestamp) return;
    const now = this.#now();
    const rcs = this.#owned(dc);

    if (!dc.spec.paused) {
      const updated = withTriggeredImages(dc, this.#lookup);
      if (updated) {
        await this.#client.update(deploymentConfigKind, updated, signal);
        this.#log.info({ dc: key }, 'image change triggers updated the pod template');
        return;
      }
    }

    const latestVersion = dc.status?.latestVersion ?? 0;
    const newest = rcs.at(-1);
    if (newest && deploymentVersionOf(newest) > latestVersion) {
      // An RC newer than the status says (the status write was lost): catch up one by one.
      await this.#writeStatus(dc, { ...dc.status, latestVersion: latestVersion + 1 }, signal);
      return;
    }
    const latest =
      latestVersion > 0 ? rcs.find((rc) => deploymentVersionOf(rc) === latestVersion) : undefined;

    if (dc.spec.paused) {
      await this.#cleanup(dc, rcs, signal);
      await this.#updateStatus(dc, rcs, now, signal, [
        {
          type: 'Progressing',
          status: 'Unknown',
          reason: DC_CONDITION_REASONS.paused,
          message: 'deployment config is paused',
        },
      ]);
      return;
    }

    if (latestVersion > 0 && !latest) {
      if (await this.#cancelRunning(dc, rcs, signal)) return;
      if (!imagesResolved(dc)) {
        await this.#updateStatus(dc, rcs, now, signal);
        return;
      }
    }

    const decision = triggerActivated(dc, latest, this.#lookup);
    if (decision.action === 'wait') {
      await this.#updateStatus(dc, rcs, now, signal, [
        {
          type: 'Progressing',
          status: 'Unknown',
          reason: DC_CONDITION_REASONS.waitingForImage,
          message: `waiting for the image of an ImageChange trigger: ${decision.why}`,
        },
      ]);
      return;
    }
    if (decision.action === 'rollout') {
      await this.#writeStatus(
        dc,
        { ...dc.status, latestVersion: latestVersion + 1, details: decision.details },
        signal,
      );
      this.#log.info(
        { dc: key, version: latestVersion + 1, cause: decision.details.message },
        'new version',
      );
      return;
    }
    if (latestVersion === 0) {
      await this.#updateStatus(dc, rcs, now, signal);
      return;
    }
    if (!latest) return this.#createDeployment(dc, rcs, now, signal);
    if (!isTerminatedPhase(deploymentPhaseOf(latest))) {
      return this.#rollout(dc, latest, rcs, now, signal);
    }
    await this.#reconcileDeployments(dc, rcs, signal);
    await this.#cleanup(dc, rcs, signal);
    await this.#updateStatus(dc, rcs, now, signal);
  }

  // -------------------------------------------------------------------------------------------
  // Versions

  async #createDeployment(
    dc: DeploymentConfig,
    rcs: readonly ReplicationController[],
    now: Date,
    signal: AbortSignal,
  ): Promise<void> {
    const rc = makeDeployment(dc);
    const version = dc.status?.latestVersion ?? 0;
    let created: ReplicationController;
    try {
      created = await this.#client.create(replicationControllerKind, rc, signal);
    } catch (err) {
      if (!isApiError(err, 'AlreadyExists')) throw err;
      const existing = this.#rcs.get(objectKey(rc));
      if (existing && controllerUidIndex(existing) === dc.metadata.uid) {
        throw new Error(`the cache has not seen replication controller ${objectKey(rc)} yet`, {
          cause: err,
        });
      }
      const message = `replication controller "${rc.metadata.name ?? ''}" already exists and is not this deployment config's`;
      this.#recorder.warning(
        dc,
        'DeploymentCreationFailed',
        `Couldn't deploy version ${version}: ${message}`,
      );
      await this.#updateStatus(dc, rcs, now, signal, [
        {
          type: 'Progressing',
          status: 'False',
          reason: DC_CONDITION_REASONS.createFailed,
          message,
        },
      ]);
      return;
    }
    const message = `Created new replication controller "${created.metadata.name ?? ''}" for version ${version}`;
    this.#recorder.normal(dc, 'DeploymentCreated', message);
    this.#log.info(
      { dc: objectKey(dc), rc: created.metadata.name },
      'replication controller created',
    );
    const all = [...rcs, created];
    await this.#cleanup(dc, all, signal);
    await this.#updateStatus(dc, all, now, signal, [
      {
        type: 'Progressing',
        status: 'True',
        reason: DC_CONDITION_REASONS.newRcCreated,
        message,
      },
    ]);
  }

  /** Rollouts of older versions still in flight are cancelled (they fail at once: nothing else
   * runs them). True when it wrote something. */
  async #cancelRunning(
    dc: DeploymentConfig,
    rcs: readonly ReplicationController[],
    signal: AbortSignal,
  ): Promise<boolean> {
    const drafts = new Drafts();
    let wrote = false;
    for (const rc of rcs) {
      if (isTerminatedPhase(deploymentPhaseOf(rc))) continue;
      if (!isCancelled(rc)) {
        drafts.annotate(rc, DC_ANNOTATIONS.cancelled, 'true');
        drafts.annotate(rc, DC_ANNOTATIONS.statusReason, DC_REASONS.cancelledByNewer);
        this.#recorder.normal(
          dc,
          'DeploymentCancelled',
          `Cancelled deployment "${rc.metadata.name ?? ''}" superceded by version ${dc.status?.latestVersion ?? 0}`,
        );
      }
      drafts.annotate(rc, DC_ANNOTATIONS.phase, 'Failed');
      await this.#deleteHookPods(rc, signal);
      wrote = true;
    }
    await drafts.flush((draft) => this.#client.update(replicationControllerKind, draft, signal));
    return wrote;
  }

  /** The active RC (the newest Complete one) follows `spec.replicas`; every other goes to 0. */
  async #reconcileDeployments(
    dc: DeploymentConfig,
    rcs: readonly ReplicationController[],
    signal: AbortSignal,
  ): Promise<void> {
    const active = [...rcs].reverse().find((rc) => deploymentPhaseOf(rc) === 'Complete');
    for (const rc of rcs) {
      const from = rc.spec.replicas ?? 0;
      const to = rc === active && !dc.spec.test ? (dc.spec.replicas ?? 0) : 0;
      if (from === to) continue;
      const draft = structuredClone(rc);
      draft.spec.replicas = to;
      await this.#client.update(replicationControllerKind, draft, signal);
      this.#recorder.normal(
        dc,
        'ReplicationControllerScaled',
        `Scaled replication controller "${rc.metadata.name ?? ''}" from ${from} to ${to}`,
      );
    }
  }

  /**
   * OpenShift's cleanupOldDeployments: beyond revisionHistoryLimit, the oldest RCs older than
   * the active one (all but the latest when none is active) are deleted, once they are at 0
   * replicas and their pods are gone (so no pod of the rollout escapes the counts).
   */
  async #cleanup(
    dc: DeploymentConfig,
    rcs: readonly ReplicationController[],
    signal: AbortSignal,
  ): Promise<void> {
    const limit = dc.spec.revisionHistoryLimit ?? DC_DEFAULTS.revisionHistoryLimit;
    const active = [...rcs].reverse().find((rc) => deploymentPhaseOf(rc) === 'Complete');
    const latestVersion = dc.status?.latestVersion ?? 0;
    const prunable = rcs.filter((rc) =>
      active
        ? rc !== active && deploymentVersionOf(rc) < deploymentVersionOf(active)
        : deploymentVersionOf(rc) !== latestVersion,
    );
    for (const rc of prunable.slice(0, Math.max(0, prunable.length - limit))) {
      if ((rc.spec.replicas ?? 0) !== 0 || (rc.status?.replicas ?? 0) !== 0) continue;
      if (this.#podsOf(rc).length > 0) continue;
      await this.#client.delete(replicationControllerKind, rc, signal);
      this.#log.info(
        { dc: objectKey(dc), rc: rc.metadata.name },
        'old replication controller deleted',
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // The rollout of the latest version

  async #rollout(
    dc: DeploymentConfig,
    latest: ReplicationController,
    rcs: readonly ReplicationController[],
    now: Date,
    signal: AbortSignal,
  ): Promise<ReconcileResult | void> {
    const key = objectKey(dc);
    const config = decodeDeploymentConfig(latest) ?? dc;
    const strategy = config.spec.strategy ?? {};
    const recreate = strategy.type === 'Recreate';
    const replicas = dc.spec.replicas ?? 0;
    const minReady = dc.spec.minReadySeconds ?? 0;
    const drafts = new Drafts();
    const waits: number[] = [];
    const write = (draft: ReplicationController) =>
      this.#client.update(replicationControllerKind, draft, signal);

    if (isCancelled(latest)) {
      await this.#fail(dc, latest, drafts, 'cancelled', signal);
      return;
    }
    if (deploymentPhaseOf(latest) !== 'Running') {
      drafts.annotate(latest, DC_ANNOTATIONS.phase, 'Running');
    }

    const count = setCounter((rc: ReplicationController) => this.#podsOf(rc), minReady, now, waits);
    const next = count(latest);
    const old = rcs
      .filter((rc) => rc !== latest && deploymentVersionOf(rc) < deploymentVersionOf(latest))
      .map(count)
      .filter((s) => s.replicas > 0 || s.existing > 0);

    // Deadlines: no progress for timeoutSeconds; the whole rollout within activeDeadlineSeconds.
    const resumed = dc.status?.conditions?.some(
      (c) => c.type === 'Progressing' && c.reason === DC_CONDITION_REASONS.paused,
    );
    const progress = currentProgress(latest, next, old, now);
    if (resumed) progress.progress.at = now.getTime();
    if (progress.changed || resumed) {
      drafts.annotate(
        latest,
        PROGRESS_ANNOTATION,
        formatProgress(new Date(progress.progress.at), progress.progress.mark),
      );
    }
    const timeoutSeconds =
      (recreate
        ? strategy.recreateParams?.timeoutSeconds
        : strategy.rollingParams?.timeoutSeconds) ?? DC_DEFAULTS.timeoutSeconds;
    const started = Date.parse(latest.metadata.creationTimestamp ?? '') || now.getTime();
    const deadline = Math.min(
      progress.progress.at + timeoutSeconds * 1000,
      started + (strategy.activeDeadlineSeconds ?? DC_DEFAULTS.activeDeadlineSeconds) * 1000,
    );
    if (now.getTime() > deadline) {
      await this.#fail(dc, latest, drafts, 'timeout', signal, timeoutSeconds);
      return;
    }
    waits.push(deadline - now.getTime() + 10);

    const hook = async (type: HookType): Promise<'done' | 'wait' | 'failed'> => {
      const h = hookOf(config, type);
      if (!h?.execNewPod) return 'done';
      const podKey = `${latest.metadata.namespace ?? ''}/${hookPodName(latest.metadata.name ?? '', type)}`;
      const cached = this.#pods.get(podKey);
      const pod = cached?.metadata.ownerReferences?.some((r) => r.uid === latest.metadata.uid)
        ? cached
        : undefined;
      const state = hookProgress(latest, type, h, pod);
      switch (state.state) {
        case 'done':
          if (!latest.metadata.annotations?.[hookAnnotation(type)]) {
            drafts.annotate(latest, hookAnnotation(type), 'Complete');
          }
          return 'done';
        case 'start':
          if (cached && !pod) {
            throw new Error(`pod ${podKey} exists and is not this rollout's hook pod`);
          }
          try {
            await this.#client.create(podKind, makeHookPod(config, latest, h, type), signal);
          } catch (err) {
            if (!isApiError(err, 'AlreadyExists')) throw err;
          }
          this.#log.info({ dc: key, hook: type }, 'hook pod created');
          return 'wait';
        case 'running':
          return 'wait';
        case 'failed':
          if (state.policy === 'Retry') {
            await this.#client.delete(podKind, pod!, signal);
            return 'wait';
          }
          if (state.policy === 'Ignore') {
            drafts.annotate(latest, hookAnnotation(type), 'Ignored');
            this.#recorder.warning(
              dc,
              'HookFailed',
              `${state.message}; ignored (failurePolicy Ignore)`,
            );
            return 'done';
          }
          this.#recorder.warning(
            dc,
            'HookFailed',
            `${state.message}; the rollout fails (failurePolicy Abort)`,
          );
          await this.#fail(dc, latest, drafts, 'hook', signal, 0, state.message);
          return 'failed';
      }
    };

    const finish = async (result: ReconcileResult | void): Promise<ReconcileResult | void> => {
      await drafts.flush(write);
      await this.#updateStatus(dc, rcs, now, signal);
      return result;
    };
    const requeue = (): ReconcileResult | void => requeueAfter(waits);

    const pre = await hook('pre');
    if (pre === 'failed') return;
    if (pre === 'wait') return finish(requeue());

    let step: Step = recreate
      ? recreateStep(replicas, next, old, Boolean(hookOf(config, 'mid')))
      : rollingStep(replicas, dcFenceposts(config, replicas), next, old);
    if (step.type === 'old-gone') {
      const mid = await hook('mid');
      if (mid === 'failed') return;
      if (mid === 'wait') return finish(requeue());
      step = recreateStep(replicas, next, old);
    }
    switch (step.type) {
      case 'scale': {
        const period =
          (strategy.rollingParams?.updatePeriodSeconds ?? DC_DEFAULTS.updatePeriodSeconds) * 1000;
        const since = now.getTime() - (this.#lastScale.get(key) ?? 0);
        if (!recreate && since < period) {
          waits.push(period - since);
          return finish(requeue());
        }
        for (const s of step.scales) {
          const rc = rcs.find((r) => r.metadata.name === s.name)!;
          drafts.edit(rc).spec.replicas = s.to;
          this.#recorder.normal(
            dc,
            'ReplicationControllerScaled',
            `Scaled replication controller "${s.name}" from ${s.from} to ${s.to}`,
          );
        }
        this.#lastScale.set(key, now.getTime());
        return finish(requeue());
      }
      case 'complete': {
        const post = await hook('post');
        if (post === 'failed') return;
        if (post === 'wait') return finish(requeue());
        drafts.annotate(latest, DC_ANNOTATIONS.phase, 'Complete');
        drafts.annotate(latest, DC_ANNOTATIONS.replicas, String(replicas));
        drafts.annotate(latest, DC_ANNOTATIONS.desiredReplicas, undefined);
        this.#lastScale.delete(key);
        this.#log.info({ dc: key, rc: latest.metadata.name }, 'rollout complete');
        return finish();
      }
      default:
        return finish(requeue());
    }
  }

  /** The rollout of `latest` fails: phase Failed (hook pods stopped); the next look scales it
   * to 0 and the active RC back up. */
  async #fail(
    dc: DeploymentConfig,
    latest: ReplicationController,
    drafts: Drafts,
    why: 'cancelled' | 'timeout' | 'hook',
    signal: AbortSignal,
    timeoutSeconds = 0,
    message = '',
  ): Promise<void> {
    const name = `${latest.metadata.namespace ?? ''}/${latest.metadata.name ?? ''}`;
    drafts.annotate(latest, DC_ANNOTATIONS.phase, 'Failed');
    if (why === 'hook') drafts.annotate(latest, DC_ANNOTATIONS.statusReason, message);
    await drafts.flush((draft) => this.#client.update(replicationControllerKind, draft, signal));
    await this.#deleteHookPods(latest, signal);
    this.#lastScale.delete(objectKey(dc));
    if (why === 'cancelled') {
      this.#recorder.normal(dc, 'RolloutCancelled', `Rollout for "${name}" cancelled`);
    } else if (why === 'timeout') {
      this.#recorder.warning(
        dc,
        'RolloutTimeout',
        `Rollout for "${name}" failed: no progress for ${timeoutSeconds}s (timeoutSeconds); scaling back to the last complete version`,
      );
    }
    this.#log.info({ dc: objectKey(dc), rc: latest.metadata.name, why }, 'rollout failed');
  }

  async #deleteHookPods(rc: ReplicationController, signal: AbortSignal): Promise<void> {
    for (const type of ['pre', 'mid', 'post'] as const) {
      const pod = this.#pods.get(
        `${rc.metadata.namespace ?? ''}/${hookPodName(rc.metadata.name ?? '', type)}`,
      );
      if (!pod || !pod.metadata.ownerReferences?.some((r) => r.uid === rc.metadata.uid)) continue;
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed' || pod.metadata.deletionTimestamp) continue;
      await this.#client.delete(podKind, pod, signal);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Status

  async #updateStatus(
    dc: DeploymentConfig,
    rcs: readonly ReplicationController[],
    now: Date,
    signal: AbortSignal,
    extra: ExtraCondition[] = [],
  ): Promise<void> {
    const status = calculateDcStatus(dc, rcs, now, { updateObservedGeneration: true, extra });
    await this.#writeStatus(dc, status, signal);
  }

  async #writeStatus(
    dc: DeploymentConfig,
    status: DeploymentConfig['status'],
    signal: AbortSignal,
  ): Promise<void> {
    await writeStatus(this.#client, deploymentConfigKind, dc, status, signal);
  }
}

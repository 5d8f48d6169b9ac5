import {
  isApiError,
  objectKey,
  replicaSetKind,
  type ApiObject,
  type Pod,
} from '../../../src/api/index.js';
import { deploymentKind } from '../../../src/api/kinds/index.js';
import {
  DEPLOYMENT_ANNOTATIONS,
  DEPLOYMENT_DEFAULTS,
  deploymentFenceposts,
  revisionOf,
  type Deployment,
} from '../../../src/api/kinds/deployment.js';
import type { ReplicaSet } from '../../../src/api/kinds/replica-set.js';
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
import { getCondition } from './conditions.js';
import {
  calculateDeploymentStatus,
  DEPLOYMENT_CONDITION_REASONS as REASONS,
  makeReplicaSet,
  runsTemplate,
  type Progressing,
} from './replica-sets.js';
import { recreateStep, rollingStep } from './rollout.js';
import {
  isScalingEvent,
  needsScale,
  replicasAnnotations,
  scaleSets,
  type SetScale,
} from './scale.js';
import {
  controlledBy,
  currentProgress,
  enqueueSetOwner,
  formatProgress,
  PROGRESS_ANNOTATION,
  requeueAfter,
  setCounter,
} from './sets.js';

export const DEPLOYMENT_CONTROLLER_COMPONENT = 'deployment-controller';

export interface DeploymentControllerOptions {
  deployments: Informer<Deployment>;
  /** Shared with the replication controller. */
  replicaSets: Informer<ReplicaSet>;
  /** The controller-manager's shared pod informer. */
  pods: Informer<Pod>;
  client: WorkloadClient;
  recorder: Recorder;
  logger: Logger;
  clock?: Clock;
  now?: () => Date;
  workers?: number;
}

/**
 * Kubernetes' deployment controller, keyed by `namespace/name`, over the same rollout engine
 * as DeploymentConfigs: the ReplicaSet whose template is the Deployment's is the new one
 * (created as `NAME-<pod-template-hash>` with the next revision when there is none; an old one
 * whose template comes back gets the next revision), the others are old; RollingUpdate or
 * Recreate steps; `progressDeadlineSeconds` without progress sets Progressing=False
 * ProgressDeadlineExceeded and the rollout carries on (Kubernetes does not roll back); paused
 * Deployments only follow `spec.replicas`; old ReplicaSets beyond revisionHistoryLimit go.
 */
export class DeploymentController {
  readonly #deployments: Informer<Deployment>;
  readonly #rss: Informer<ReplicaSet>;
  readonly #pods: Informer<Pod>;
  readonly #client: WorkloadClient;
  readonly #recorder: Recorder;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #queue: WorkQueue<string>;
  readonly #controller: Controller<string>;

  constructor(options: DeploymentControllerOptions) {
    this.#deployments = options.deployments;
    this.#rss = options.replicaSets;
    this.#pods = options.pods;
    this.#client = options.client;
    this.#recorder = options.recorder;
    this.#log = options.logger.child({ component: DEPLOYMENT_CONTROLLER_COMPONENT });
    this.#now = options.now ?? (() => new Date());
    this.#queue = new WorkQueue<string>(options.clock ? { clock: options.clock } : {});
    this.#controller = new Controller({
      name: DEPLOYMENT_CONTROLLER_COMPONENT,
      queue: this.#queue,
      workers: options.workers ?? 2,
      logger: options.logger,
      waitFor: [this.#deployments, this.#rss, this.#pods],
      reconcile: (key, signal) => this.reconcile(key, signal),
    });
    this.#rss.addIndex(CONTROLLER_UID_INDEX, controllerUidIndex);
    this.#pods.addIndex(CONTROLLER_UID_INDEX, controllerUidIndex);
    const enqueue = (obj: ApiObject): void => this.#queue.add(objectKey(obj));
    this.#deployments.addEventHandler({
      onAdd: enqueue,
      onUpdate: (_old, d) => enqueue(d),
      onDelete: enqueue,
    });
    this.#rss.addEventHandler(enqueueControllerOwner(this.#queue, 'Deployment'));
    this.#pods.addEventHandler(enqueueSetOwner(this.#queue, this.#rss, 'ReplicaSet', 'Deployment'));
  }

  run(signal: AbortSignal): Promise<void> {
    return this.#controller.run(signal);
  }

  #owned(d: Deployment): ReplicaSet[] {
    return controlledBy(this.#rss, d).sort((a, b) => revisionOf(a) - revisionOf(b));
  }

  #podsOf(rs: ReplicaSet): Pod[] {
    return controlledBy(this.#pods, rs);
  }

  /** One look at Deployment `key`; public for tests. */
  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | void> {
    const d = this.#deployments.get(key);
    if (!d || d.metadata.deletionTimestamp) return;
    const now = this.#now();
    const all = this.#owned(d);
    const newRs = all.find((rs) => runsTemplate(rs, d));
    const old = all.filter((rs) => rs !== newRs);
    const maxOldRevision = Math.max(0, ...old.map(revisionOf));
    const replicas = d.spec.replicas ?? DEPLOYMENT_DEFAULTS.replicas;

    if (d.spec.paused) {
      // Paused: no new ReplicaSet and no rollout, but spec.replicas is followed (spread over
      // the ReplicaSets of a rollout the pause stopped midway).
      if (await this.#applyScale(d, scaleSets(d, newRs, old), signal)) return;
      await this.#cleanup(d, old, signal);
      await this.#writeStatus(d, all, newRs, now, signal, {
        type: 'Progressing',
        status: 'Unknown',
        reason: REASONS.paused,
        message: 'Deployment is paused',
      });
      return;
    }

    if (!newRs) {
      const rs = makeReplicaSet(d, maxOldRevision + 1);
      try {
        const created = await this.#client.create(replicaSetKind, rs, signal);
        this.#log.info({ deployment: key, rs: created.metadata.name }, 'replica set created');
      } catch (err) {
        if (!isApiError(err, 'AlreadyExists')) throw err;
        const existing = this.#rss.get(objectKey(rs));
        const owner = existing ? controllerUidIndex(existing) : undefined;
        if (!existing || (owner && owner === d.metadata.uid && runsTemplate(existing, d))) {
          // Ours, and the cache has not caught up with it yet: look again later.
          throw new Error(`replica set ${objectKey(rs)} exists but is not in the cache yet`, {
            cause: err,
          });
        }
        // Another ReplicaSet has the name (another owner, or another template with the same
        // hash): a hash collision. As Kubernetes does, status.collisionCount goes up, and the
        // next hash takes it in.
        const collisionCount = (d.status?.collisionCount ?? 0) + 1;
        await this.#client.updateStatus(
          deploymentKind,
          { ...structuredClone(d), status: { ...d.status, collisionCount } },
          signal,
        );
        this.#log.info(
          { deployment: key, rs: rs.metadata.name, collisionCount },
          'replica set name taken: hash collision counted',
        );
        return;
      }
      await this.#writeStatus(d, all, undefined, now, signal, {
        type: 'Progressing',
        status: 'True',
        reason: REASONS.newRsCreated,
        message: `Created new replica set "${rs.metadata.name ?? ''}"`,
      });
      return;
    }
    const revision = revisionOf(newRs);
    if (revision <= maxOldRevision) {
      // An old template is back (rollout undo): it becomes the newest revision.
      const draft = structuredClone(newRs);
      draft.metadata.annotations = {
        ...draft.metadata.annotations,
        [DEPLOYMENT_ANNOTATIONS.revision]: String(maxOldRevision + 1),
      };
      await this.#client.update(replicaSetKind, draft, signal);
      return;
    }
    if (d.metadata.annotations?.[DEPLOYMENT_ANNOTATIONS.revision] !== String(revision)) {
      const draft = structuredClone(d);
      draft.metadata.annotations = {
        ...draft.metadata.annotations,
        [DEPLOYMENT_ANNOTATIONS.revision]: String(revision),
      };
      await this.#client.update(deploymentKind, draft, signal);
      return;
    }

    if (isScalingEvent(all, replicas)) {
      // spec.replicas changed: the sets are resized first (in proportion, mid-rollout), the
      // rollout goes on from there at the next look.
      await this.#applyScale(d, scaleSets(d, newRs, old), signal);
      await this.#writeStatus(d, all, newRs, now, signal, undefined);
      return;
    }

    const minReady = d.spec.minReadySeconds ?? 0;
    const waits: number[] = [];
    const count = setCounter((rs: ReplicaSet) => this.#podsOf(rs), minReady, now, waits);
    const next = count(newRs);
    const oldCounts = old.map(count).filter((s) => s.replicas > 0 || s.existing > 0);
    const step =
      d.spec.strategy?.type === 'Recreate'
        ? recreateStep(replicas, next, oldCounts)
        : rollingStep(replicas, deploymentFenceposts(d, replicas), next, oldCounts);

    const { progress, changed } = currentProgress(newRs, next, oldCounts, now);
    const resumed = getCondition(d.status?.conditions, 'Progressing')?.reason === REASONS.paused;
    if (resumed) progress.at = now.getTime();
    let progressing: Progressing | undefined;
    const rsName = newRs.metadata.name ?? '';
    const deadlineSeconds =
      d.spec.progressDeadlineSeconds ?? DEPLOYMENT_DEFAULTS.progressDeadlineSeconds;
    const deadline = progress.at + deadlineSeconds * 1000;
    if (step.type === 'complete') {
      progressing = {
        type: 'Progressing',
        status: 'True',
        reason: REASONS.newRsAvailable,
        message: `ReplicaSet "${rsName}" has successfully progressed.`,
      };
    } else if (now.getTime() > deadline) {
      progressing = {
        type: 'Progressing',
        status: 'False',
        reason: REASONS.timedOut,
        message: `ReplicaSet "${rsName}" has timed out progressing.`,
      };
    } else {
      waits.push(deadline - now.getTime() + 10);
      const current = getCondition(d.status?.conditions, 'Progressing');
      if (changed || resumed || !current || current.reason === REASONS.newRsAvailable) {
        progressing = {
          type: 'Progressing',
          status: 'True',
          reason: REASONS.rsUpdated,
          message: `ReplicaSet "${rsName}" is progressing.`,
        };
      }
    }

    if (changed || resumed) {
      const draft = structuredClone(newRs);
      draft.metadata.annotations = {
        ...draft.metadata.annotations,
        [PROGRESS_ANNOTATION]: formatProgress(new Date(progress.at), progress.mark),
      };
      if (step.type === 'scale') {
        const mine = step.scales.find((s) => s.name === rsName);
        if (mine) {
          draft.spec.replicas = mine.to;
          Object.assign(draft.metadata.annotations, replicasAnnotations(d));
        }
      }
      await this.#client.update(replicaSetKind, draft, signal);
    }
    if (step.type === 'scale') {
      for (const s of step.scales) {
        if (changed && s.name === rsName) {
          this.#scaledEvent(d, s.name, s.from, s.to);
          continue;
        }
        const rs = all.find((r) => r.metadata.name === s.name)!;
        await this.#scale(d, rs, s.to, signal);
      }
    }
    if (step.type === 'complete') await this.#cleanup(d, old, signal);
    await this.#writeStatus(d, all, newRs, now, signal, progressing);
    return requeueAfter(waits);
  }

  /** Sizes `rs` for `d` (its replicas annotations too); false when it already was. */
  async #scale(d: Deployment, rs: ReplicaSet, to: number, signal: AbortSignal): Promise<boolean> {
    if (!needsScale(rs, d, to)) return false;
    const from = rs.spec.replicas ?? 0;
    const draft = structuredClone(rs);
    draft.spec.replicas = to;
    draft.metadata.annotations = { ...draft.metadata.annotations, ...replicasAnnotations(d) };
    await this.#client.update(replicaSetKind, draft, signal);
    if (to !== from) this.#scaledEvent(d, rs.metadata.name ?? '', from, to);
    return true;
  }

  /** Writes the sizes `scaleSets` decided; false when nothing needed a write. */
  async #applyScale(d: Deployment, scales: SetScale[], signal: AbortSignal): Promise<boolean> {
    let wrote = false;
    for (const { rs, to } of scales) wrote = (await this.#scale(d, rs, to, signal)) || wrote;
    return wrote;
  }

  #scaledEvent(d: Deployment, name: string, from: number, to: number): void {
    const direction = to > from ? 'up' : 'down';
    this.#recorder.normal(
      d,
      'ScalingReplicaSet',
      `Scaled ${direction} replica set ${name} from ${from} to ${to}`,
    );
  }

  /** Old ReplicaSets beyond revisionHistoryLimit, oldest revision first, once at 0 with no
   * pods left. */
  async #cleanup(d: Deployment, old: readonly ReplicaSet[], signal: AbortSignal): Promise<void> {
    const limit = d.spec.revisionHistoryLimit ?? DEPLOYMENT_DEFAULTS.revisionHistoryLimit;
    const candidates = old.filter((rs) => (rs.spec.replicas ?? 0) === 0);
    for (const rs of candidates.slice(0, Math.max(0, candidates.length - limit))) {
      if ((rs.status?.replicas ?? 0) !== 0 || this.#podsOf(rs).length > 0) continue;
      await this.#client.delete(replicaSetKind, rs, signal);
    }
  }

  async #writeStatus(
    d: Deployment,
    all: readonly ReplicaSet[],
    newRs: ReplicaSet | undefined,
    now: Date,
    signal: AbortSignal,
    progressing: Progressing | undefined,
  ): Promise<void> {
    const status = calculateDeploymentStatus(d, all, newRs, now, progressing);
    await writeStatus(this.#client, deploymentKind, d, status, signal);
  }
}

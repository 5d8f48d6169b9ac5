/**
 * Build pods in the pod reconciler: the pod reconciler hands every build pod (build-pod.ts) to
 * `sync` instead of running its container, and tells `forget` when a pod is gone.
 *
 * - A new build pod: its build starts in the background (runner.ts); the pod is Pending, then
 *   Running once the build is under way, then Succeeded or Failed with the result.
 * - What a build leaves is in its workspace (result.json, the log), so a finished build is
 *   reported from there after an agent restart. A build the agent finds started but without a
 *   result was cut short by an agent restart: its containers are removed and it fails with
 *   reason Error, saying so (a build cannot be resumed: its process was the agent).
 * - A pod being deleted, or gone, cancels its build (Cancelled); a gone pod's workspace and log
 *   are removed, as kubelet removes a pod's logs.
 */
import { isApiError, type Pod, type PodStatus } from '../../src/api/index.js';
import type { Logger as KeyLogger, ReconcileResult } from '../../src/reconcile/index.js';
import type { Logger } from '../../src/util/logger.js';
import type { BuildNetwork } from '../docker/build-engine.js';
import type { PodInventory } from '../docker/inventory.js';
import { sameStatus } from '../pods/status.js';
import { BuildLogWriter, Redactor } from './build-log.js';
import { isBuildPod, parseBuildPod, type BuildPodSpec } from './build-pod.js';
import { buildPodStatus, type BuildPodState } from './build-status.js';
import type { BuildApi, BuildDocker, BuildSettings } from './context.js';
import { runBuild } from './runner.js';
import { BuildFailure, isBuildFailure, type BuildOutcome } from './types.js';
import { BuildWorkspace, isSafeUid, listBuildDirs } from './workspace.js';

export interface BuildPodEvents {
  normal(pod: Pod, reason: string, message: string): void;
  warning(pod: Pod, reason: string, message: string): void;
}

export interface BuildPodsOptions {
  buildsDir: string;
  docker: BuildDocker;
  api: BuildApi & {
    updateStatus(pod: Pod, status: PodStatus, signal: AbortSignal): Promise<void>;
  };
  events: BuildPodEvents;
  network: { ensure(): Promise<BuildNetwork>; close(): Promise<void> };
  settings: BuildSettings;
  hostIP: () => string | undefined;
  /** Look at this pod again (the work queue). */
  onChange: (uid: string) => void;
  logger: Logger;
  now?: () => Date;
}

interface Run {
  controller: AbortController;
  state: BuildPodState;
  done: Promise<BuildOutcome>;
}

export const RESTARTED_MESSAGE =
  'the node agent restarted during the build; the build was stopped and its containers removed';
export const STOPPED_MESSAGE = 'the node agent stopped during the build';

function stamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

function bounded<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

export class BuildPods {
  readonly #o: BuildPodsOptions;
  readonly #runs = new Map<string, Run>();
  readonly #log: Logger;
  readonly #now: () => Date;
  #closed = false;

  constructor(options: BuildPodsOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'build-pods' });
    this.#now = options.now ?? (() => new Date());
  }

  /** Whether the pod is a build pod (run by this, not as a container). */
  handles(pod: Pod): boolean {
    return isBuildPod(pod);
  }

  /** Builds under way on this node (uids). */
  running(): string[] {
    return [...this.#runs.keys()];
  }

  /** One pass for a build pod: start, report, or cancel its build. */
  async sync(
    pod: Pod,
    inventory: PodInventory | undefined,
    signal: AbortSignal,
    log: KeyLogger,
  ): Promise<ReconcileResult | void> {
    const uid = pod.metadata.uid ?? '';
    if (!isSafeUid(uid)) return;
    const workspace = new BuildWorkspace(this.#o.buildsDir, uid);
    const run = this.#runs.get(uid);
    if (pod.metadata.deletionTimestamp) {
      await this.#cancel(uid, 'The build was cancelled: its pod is being deleted');
      const outcome = await workspace.readResult();
      if (outcome) {
        try {
          await this.#report(pod, { phase: 'Done', outcome }, signal);
        } catch (err) {
          if (!isApiError(err, 'Conflict')) throw err;
        }
      }
      return;
    }
    if (run) return this.#report(pod, run.state, signal);
    const outcome = await workspace.readResult();
    if (outcome) return this.#report(pod, { phase: 'Done', outcome }, signal);
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return; // reported before; nothing left here
    const leftovers = inventory?.containers.length ?? 0;
    if ((await workspace.started()) || phase === 'Running' || leftovers > 0) {
      log.info({ pod: `${pod.metadata.namespace}/${pod.metadata.name}` }, RESTARTED_MESSAGE);
      const cut = await this.#cutShort(pod, workspace);
      return this.#report(pod, { phase: 'Done', outcome: cut }, signal);
    }
    if (this.#closed) return;
    let spec: BuildPodSpec;
    try {
      spec = parseBuildPod(pod);
    } catch (err) {
      if (!isBuildFailure(err)) throw err;
      const failed = await this.#failAtOnce(pod, workspace, err);
      return this.#report(pod, { phase: 'Done', outcome: failed }, signal);
    }
    this.#start(pod, spec, workspace);
    return this.#report(pod, this.#runs.get(uid)?.state ?? { phase: 'Pending' }, signal);
  }

  #start(pod: Pod, spec: BuildPodSpec, workspace: BuildWorkspace): void {
    const uid = spec.podUid;
    const controller = new AbortController();
    const entry: Run = {
      controller,
      state: { phase: 'Pending' },
      done: Promise.resolve(undefined as never),
    };
    this.#runs.set(uid, entry);
    const events = {
      normal: (reason: string, message: string) => this.#o.events.normal(pod, reason, message),
      warning: (reason: string, message: string) => this.#o.events.warning(pod, reason, message),
    };
    entry.done = runBuild({
      spec,
      workspace,
      docker: this.#o.docker,
      api: this.#o.api,
      settings: this.#o.settings,
      network: () => this.#o.network.ensure(),
      events,
      logger: this.#o.logger,
      signal: controller.signal,
      now: this.#now,
      onRunning: () => {
        entry.state = { phase: 'Running', startedAt: stamp(this.#now()) };
        events.normal('Started', `Started build container ${spec.containerName}`);
        this.#o.onChange(uid);
      },
    })
      .catch(async (err: unknown) => {
        // Only the workspace itself failing gets here.
        const failed = await this.#failAtOnce(
          pod,
          workspace,
          new BuildFailure('Error', `the build could not start: ${(err as Error).message}`),
        );
        return failed;
      })
      .then((outcome) => {
        entry.state = { phase: 'Done', outcome };
        this.#runs.delete(uid);
        this.#o.onChange(uid);
        return outcome;
      });
  }

  async #report(pod: Pod, state: BuildPodState, signal: AbortSignal): Promise<void> {
    const container = pod.spec.containers[0];
    if (!container) return;
    const status = buildPodStatus(
      pod,
      container.name,
      container.image,
      state,
      this.#o.hostIP(),
      stamp(this.#now()),
    );
    if (sameStatus(status, pod.status)) return;
    try {
      await this.#o.api.updateStatus(pod, status, signal);
    } catch (err) {
      if (!isApiError(err, 'NotFound')) throw err;
    }
  }

  /** Fails a build that cannot even start (a malformed build pod), with a log saying why. */
  async #failAtOnce(pod: Pod, workspace: BuildWorkspace, err: BuildFailure): Promise<BuildOutcome> {
    const at = stamp(this.#now());
    const outcome: BuildOutcome = {
      reason: err.reason,
      exitCode: 1,
      result: { message: new Redactor().redact(err.message) },
      startedAt: at,
      finishedAt: at,
    };
    try {
      await workspace.markStarted(at);
      const writer = new BuildLogWriter(workspace.logPath, new Redactor());
      writer.line(`error: ${outcome.result.message}`);
      await writer.close();
      await workspace.writeResult(outcome);
    } catch (e) {
      this.#log.warn({ err: (e as Error).message }, 'cannot write the build result');
    }
    this.#o.events.warning(pod, 'Failed', `Build failed: ${outcome.result.message}`);
    return outcome;
  }

  /** The agent restarted mid-build: remove what the build left running and fail it. */
  async #cutShort(pod: Pod, workspace: BuildWorkspace): Promise<BuildOutcome> {
    const uid = pod.metadata.uid!;
    for (const id of await this.#o.docker.listContainers(uid)) {
      await this.#o.docker.removeContainer(id);
    }
    const startedAt = pod.status?.startTime ?? stamp(this.#now());
    const outcome: BuildOutcome = {
      reason: 'Error',
      exitCode: 1,
      result: { message: RESTARTED_MESSAGE },
      startedAt,
      finishedAt: stamp(this.#now()),
    };
    await workspace.markStarted(startedAt).catch(() => undefined);
    const writer = new BuildLogWriter(workspace.logPath, new Redactor());
    writer.line(`error: ${RESTARTED_MESSAGE}`);
    await writer.close();
    await workspace.cleanWork().catch(() => undefined);
    await workspace.writeResult(outcome);
    this.#o.events.warning(pod, 'Failed', `Build failed: ${RESTARTED_MESSAGE}`);
    return outcome;
  }

  /** Stops the pod's build, if one runs here, and waits (bounded) for its clean-up. */
  async #cancel(
    uid: string,
    message: string,
    reason: BuildFailure['reason'] = 'Cancelled',
  ): Promise<void> {
    const run = this.#runs.get(uid);
    if (!run) return;
    run.controller.abort(new BuildFailure(reason, message));
    await bounded(run.done, 60_000);
  }

  /** The pod is gone: cancel its build and remove its workspace and log. */
  async forget(uid: string): Promise<void> {
    if (!isSafeUid(uid)) return;
    await this.#cancel(uid, 'The build was cancelled: its pod was deleted');
    if (this.#runs.has(uid)) return; // still cleaning up; the next pass removes the rest
    await new BuildWorkspace(this.#o.buildsDir, uid).remove();
  }

  /** Removes the workspaces of pods that no longer exist (`exists` answers from the cache). */
  async sweep(exists: (uid: string) => boolean): Promise<void> {
    for (const uid of await listBuildDirs(this.#o.buildsDir)) {
      if (!exists(uid) && !this.#runs.has(uid)) {
        await new BuildWorkspace(this.#o.buildsDir, uid).remove().catch(() => undefined);
      }
    }
  }

  /** Stops every build (each fails: the agent stopped), then the build network. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      [...this.#runs.keys()].map((uid) => this.#cancel(uid, STOPPED_MESSAGE, 'Error')),
    );
    await this.#o.network.close();
  }
}

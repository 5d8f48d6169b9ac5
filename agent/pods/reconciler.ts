/**
 * The pod reconciler: kubelet's SyncPod for Docker, keyed by pod uid, level-triggered and
 * stateless. Each pass reads the desired pod from the informer cache and the actual pod from
 * Docker (containers and volumes carrying this node's labels), takes every step that brings
 * them together, observes Docker again and writes the pod's status through `/status` when it
 * changed. What a restarted agent needs (attempts, restart counts, restart back-off, preStop
 * hooks, grace periods) is in the containers' labels; the only memory is what kubelet also keeps
 * in memory (probe results, image-pull back-off).
 *
 * - Pod being deleted (deletionTimestamp): preStop hooks, stop within what remains of its grace
 *   period, final status, remove containers and volumes, then confirm the deletion to the
 *   master, which only then removes the object.
 * - Pod gone from the cache (force-deleted, its project deleted, or moved to another node):
 *   preStop hooks, stop with the grace period from the labels, remove containers and volumes.
 * - Pod refused by the security policy: phase Failed with the reason, a warning, nothing runs.
 * - Sandbox missing, dead or changed: containers are stopped and a new sandbox is created (not
 *   for a finished pod, nor for restartPolicy Never once something ran, as kubelet).
 * - Init containers run one at a time, each to success, before the app containers.
 * - App containers: created when missing (image pulled per pull policy, with back-off);
 *   replaced when their spec hash changed (F3) or their liveness/startup probe failed; restarted
 *   per restartPolicy with the restart back-off (CrashLoopBackOff); left stopped when done.
 */
import {
  isApiError,
  type Pod,
  type PodStatus,
  type ApiObject,
  type ObjectMeta,
  pullCredentials,
  type Secret,
} from '../../src/api/index.js';
import { podSecurityPolicy } from '../../src/api/scc.js';
import { podSecurityError } from '../../src/api/security-policy.js';
import type { Logger as KeyLogger, ReconcileResult } from '../../src/reconcile/index.js';
import type { BackoffConfig } from '../config.js';
import { isRuntimeError } from '../docker/errors.js';
import type { ContainerStateName, ManagedContainer, PodInventory } from '../docker/inventory.js';
import type { RegistryAuth } from '../docker/images.js';
import type { ContainerInfo, DockerRuntime } from '../docker/runtime.js';
import { formatDuration, PullBackoff, restartTiming } from './backoff.js';
import { runHandler, type Handler } from './handlers.js';
import {
  planPod,
  PodPlanError,
  type ContainerPlan,
  type ContainerPlanResult,
  type PlanOptions,
  type PodPlan,
} from './plan.js';
import type { ProbeManager, ProbeTarget } from './probes.js';
import type { PodSources } from './sources.js';
import {
  computePodStatus,
  sameStatus,
  type ContainerObservation,
  type InstanceObservation,
} from './status.js';

export type PodRuntime = Pick<
  DockerRuntime,
  | 'listPods'
  | 'inspect'
  | 'runSandbox'
  | 'createContainer'
  | 'startContainer'
  | 'stopContainer'
  | 'removeContainer'
  | 'removePod'
  | 'ensureImage'
  | 'imageInfo'
  | 'execInContainer'
>;

/** What the reconciler asks of the master. */
export interface PodApi {
  sources(pod: Pod, signal: AbortSignal): Promise<PodSources>;
  /** PUT /status with the pod's resourceVersion and uid as preconditions. */
  updateStatus(pod: Pod, status: PodStatus, signal: AbortSignal): Promise<void>;
  /**
   * Confirms a graceful deletion once the pod's containers are gone: DELETE with grace 0 and
   * the pod's uid as a precondition (a newer pod of the same name is never deleted). A pod
   * already gone, or replaced, counts as confirmed.
   */
  confirmDeletion(pod: Pod, signal: AbortSignal): Promise<void>;
}

export type InvolvedPod = Pick<ApiObject, 'apiVersion' | 'kind'> & { metadata: ObjectMeta };

export interface PodEvents {
  normal(pod: InvolvedPod, reason: string, message: string): void;
  warning(pod: InvolvedPod, reason: string, message: string): void;
}

export interface PodReconcilerOptions {
  nodeName: string;
  runtime: PodRuntime;
  api: PodApi;
  events: PodEvents;
  /** The informer cache, keyed by pod uid. */
  pods: { get(uid: string): Pod | undefined };
  probes: ProbeManager;
  /** Node-level planning settings (hostIP and capacity may change over time). */
  planOptions: () => PlanOptions;
  hostIP: () => string | undefined;
  backoff: BackoffConfig;
  /** Runs build pods (agent/builds); without it they run as plain pods. */
  builds?: BuildPodHandler;
  /** The node's own credentials for an image (the cluster registry's token), used when the
   * pod's pull secrets have none for it. */
  registryAuth?: (image: string, signal: AbortSignal) => Promise<RegistryAuth | undefined>;
  now?: () => number;
}

/** What runs build pods instead of the reconciler's container logic. */
export interface BuildPodHandler {
  handles(pod: Pod): boolean;
  sync(
    pod: Pod,
    inventory: PodInventory | undefined,
    signal: AbortSignal,
    log: KeyLogger,
  ): Promise<ReconcileResult | void>;
  /** The pod is gone: stop its build and forget it. */
  forget(uid: string): Promise<void>;
}

interface Waiting {
  reason: string;
  message?: string;
}

/** What one pass learned besides Docker's state: waiting reasons and when to look again. */
class Pass {
  readonly waiting = new Map<string, Waiting>();
  requeueAfter: number | undefined;
  /** The pod's Secrets as this pass read them (image pull credentials among them). */
  secrets: Readonly<Record<string, Secret>> = {};

  want(ms: number): void {
    const v = Math.max(1, Math.ceil(ms));
    this.requeueAfter = this.requeueAfter === undefined ? v : Math.min(this.requeueAfter, v);
  }
}

const RUNNING_STATES = new Set<ContainerStateName>(['running', 'paused', 'restarting']);

function ms(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

function podRefOf(inv: PodInventory): InvolvedPod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: inv.name, namespace: inv.namespace, uid: inv.uid },
  };
}

function shouldRestart(pod: Pod, exitCode: number): boolean {
  const policy = pod.spec.restartPolicy ?? 'Always';
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

/** Exit code as the restart policy sees it (a failed start is a failure). */
function exitCodeOf(info: ContainerInfo): number {
  if (info.state === 'created') return info.exitCode || 128;
  return info.exitCode;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class PodReconciler {
  readonly #o: PodReconcilerOptions;
  readonly #runtime: PodRuntime;
  readonly #events: PodEvents;
  readonly #probes: ProbeManager;
  readonly #pulls: PullBackoff;
  readonly #now: () => number;
  readonly #imageIDs = new Map<string, string>();

  constructor(options: PodReconcilerOptions) {
    this.#o = options;
    this.#runtime = options.runtime;
    this.#events = options.events;
    this.#probes = options.probes;
    this.#pulls = new PullBackoff(options.backoff);
    this.#now = options.now ?? Date.now;
  }

  /** One pass for the pod with this uid. */
  async reconcile(
    uid: string,
    signal: AbortSignal,
    log: KeyLogger,
  ): Promise<ReconcileResult | void> {
    const pod = this.#o.pods.get(uid);
    const inventory = await this.#inventory(uid);
    if (!pod || pod.spec.nodeName !== this.#o.nodeName) {
      this.#probes.forgetPod(uid);
      this.#pulls.forgetPod(uid);
      await this.#o.builds?.forget(uid);
      if (inventory) await this.#terminate(inventory, log);
      return;
    }
    if (this.#o.builds?.handles(pod)) {
      // Build pods run as builds (agent/builds), not as containers of the pod's spec.
      const result = await this.#o.builds.sync(pod, inventory, signal, log);
      if (!pod.metadata.deletionTimestamp) return result;
      // Cancelled and reported: remove what is left and confirm the deletion.
      if (await this.#inventory(uid)) await this.#runtime.removePod(uid, { graceSeconds: 0 });
      await this.#finishDeletion(pod, undefined, signal, log);
      return;
    }
    if (pod.metadata.deletionTimestamp) {
      this.#probes.forgetPod(uid);
      this.#pulls.forgetPod(uid);
      await this.#finishDeletion(pod, inventory, signal, log);
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      // Finished: nothing runs any more; containers stay (stopped) for logs until deletion.
      this.#probes.forgetPod(uid);
      if (inventory) await this.#stopPod(pod, inventory, pod.spec.terminationGracePeriodSeconds);
      return;
    }
    return this.#sync(pod, inventory, signal, log);
  }

  async #inventory(uid: string): Promise<PodInventory | undefined> {
    const [inv] = await this.#runtime.listPods({ uid });
    return inv;
  }

  // ---- the pod is gone or finished ---------------------------------------------------------

  /** The pod no longer exists (for this node): preStop, stop gracefully, remove everything. */
  async #terminate(inv: PodInventory, log: KeyLogger): Promise<void> {
    const ref = podRefOf(inv);
    const podIP = inv.sandboxes.find((s) => s.state === 'running')?.ip;
    const running = inv.containers.filter((c) => RUNNING_STATES.has(c.state));
    await Promise.all(
      running.map((c) =>
        this.#kill(ref, c, c.gracePeriodSeconds ?? 30, `Stopping container ${c.containerName}`, {
          podIP,
        }),
      ),
    );
    const removed = await this.#runtime.removePod(inv.uid);
    log.info(
      {
        pod: `${inv.namespace}/${inv.name}`,
        containers: removed.containers.length,
        volumes: removed.volumes.length,
      },
      'pod deleted; removed its containers and volumes',
    );
  }

  /**
   * The pod is being deleted: preStop, the stop signal and SIGKILL within what remains of the
   * grace period (kubelet's order), the final status, then its containers and volumes are
   * removed and the deletion confirmed, so the object disappears only once nothing of it runs.
   * Every step is idempotent: an agent that stops half-way finishes on its next pass.
   */
  async #finishDeletion(
    pod: Pod,
    inv: PodInventory | undefined,
    signal: AbortSignal,
    log: KeyLogger,
  ): Promise<void> {
    if (inv) {
      const grace = this.#remainingGrace(pod);
      await this.#stopPod(pod, inv, grace);
      try {
        const sandbox = inv.sandboxes[0];
        await this.#finish(
          pod,
          new Pass(),
          sandbox?.ip ? { id: sandbox.id, ip: sandbox.ip } : undefined,
          signal,
        );
      } catch (err) {
        // The final status is a courtesy: a pod changed meanwhile (a shorter grace period) is
        // still deleted.
        if (!isApiError(err, 'Conflict')) throw err;
      }
      this.#probes.forgetPod(pod.metadata.uid!);
      const removed = await this.#runtime.removePod(inv.uid, { graceSeconds: grace });
      log.info(
        {
          pod: `${inv.namespace}/${inv.name}`,
          containers: removed.containers.length,
          volumes: removed.volumes.length,
        },
        'pod terminated; removed its containers and volumes',
      );
    }
    await this.#o.api.confirmDeletion(pod, signal);
  }

  /** Seconds left until the pod's deletionTimestamp, within its deletionGracePeriodSeconds. */
  #remainingGrace(pod: Pod): number {
    const granted =
      pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    const deadline = ms(pod.metadata.deletionTimestamp);
    if (deadline === undefined) return granted;
    return Math.max(0, Math.min(granted, Math.ceil((deadline - this.#now()) / 1000)));
  }

  /** Stops what still runs of a pod that must not run (finished or being deleted). */
  async #stopPod(pod: Pod, inv: PodInventory, grace: number | undefined): Promise<void> {
    const podIP = inv.sandboxes.find((s) => s.state === 'running')?.ip;
    const running = inv.containers.filter((c) => RUNNING_STATES.has(c.state));
    await Promise.all(
      running.map((c) =>
        this.#kill(
          pod,
          c,
          grace ?? c.gracePeriodSeconds ?? 30,
          `Stopping container ${c.containerName}`,
          {
            podIP,
            spec: this.#specOf(pod, c.containerName),
          },
        ),
      ),
    );
    for (const s of inv.sandboxes) {
      if (RUNNING_STATES.has(s.state)) await this.#runtime.stopContainer(s.id, 2);
    }
  }

  #specOf(pod: Pod, name: string): Pod['spec']['containers'][number] | undefined {
    return [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find(
      (c) => c.name === name,
    );
  }

  /**
   * preStop (bounded by the grace period), then the stop signal and SIGKILL after what remains
   * of the grace period (at least 2 s once a hook ran, as kubelet).
   */
  async #kill(
    pod: InvolvedPod,
    c: ManagedContainer,
    graceSeconds: number,
    message: string,
    target: { podIP: string | undefined; spec?: Pod['spec']['containers'][number] | undefined },
  ): Promise<void> {
    this.#events.normal(pod, 'Killing', message);
    let remaining = Math.max(0, graceSeconds);
    let info: ContainerInfo | undefined;
    try {
      info = await this.#runtime.inspect(c.id);
    } catch (err) {
      if (isRuntimeError(err, 'ContainerNotFound')) return;
      throw err;
    }
    const preStop = (target.spec?.lifecycle?.preStop ?? info.labels?.preStop) as
      Handler | undefined;
    if (info.running && preStop && graceSeconds > 0) {
      const started = this.#now();
      const outcome = await runHandler(
        this.#runtime,
        preStop,
        { containerId: c.id, podIP: target.podIP, spec: target.spec ?? {} },
        graceSeconds * 1000,
      );
      if (!outcome.ok) {
        this.#events.warning(
          pod,
          'FailedPreStopHook',
          `PreStopHook failed for container ${c.containerName}: ${outcome.output}`,
        );
      }
      const elapsed = (this.#now() - started) / 1000;
      remaining = Math.max(Math.ceil(graceSeconds - elapsed), Math.min(2, graceSeconds));
    }
    await this.#runtime.stopContainer(c.id, remaining);
  }

  // ---- the pod should run ------------------------------------------------------------------

  async #sync(
    pod: Pod,
    inventory: PodInventory | undefined,
    signal: AbortSignal,
    log: KeyLogger,
  ): Promise<ReconcileResult | void> {
    const pass = new Pass();
    const sources = await this.#o.api.sources(pod, signal);
    pass.secrets = sources.secrets;
    // The policy the master admitted the pod under (restricted unless the project was granted
    // anyuid), checked again here before anything runs.
    const options: PlanOptions = { ...this.#o.planOptions(), policy: podSecurityPolicy(pod) };
    let plan: PodPlan;
    try {
      plan = planPod({ pod, ...sources }, options);
    } catch (err) {
      if (!(err instanceof PodPlanError)) throw err;
      if (err.reason === 'FailedMount') {
        this.#events.warning(pod, 'FailedMount', `MountVolume.SetUp failed: ${err.message}`);
        pass.want(this.#o.backoff.baseMs);
        return this.#finish(pod, pass, undefined, signal);
      }
      const message =
        err.reason === 'Forbidden'
          ? podSecurityError(pod, err.causes, options.policy).message
          : `pod cannot run: ${err.message}`;
      log.warn({ reason: err.reason, message }, 'refusing pod');
      this.#events.warning(pod, err.reason, message);
      if (inventory) await this.#stopPod(pod, inventory, 0);
      return this.#finish(pod, pass, undefined, signal, { reason: err.reason, message });
    }

    const sandbox = await this.#syncSandbox(pod, plan, inventory, pass, log);
    if (!sandbox) return this.#finish(pod, pass, undefined, signal);

    let planned = plan;
    if (sandbox.ip) {
      try {
        planned = planPod({ pod, ...sources, podIP: sandbox.ip }, options);
      } catch {
        planned = plan;
      }
    }
    // Observe again when the sandbox changed: containers may have been stopped meanwhile.
    const inv = sandbox.fresh ? await this.#inventory(pod.metadata.uid!) : inventory;
    const initDone = await this.#syncInit(pod, planned, sandbox, inv, pass, signal);
    for (const r of planned.containers) {
      if (!initDone) {
        if (!this.#instances(inv, r.name).length) {
          pass.waiting.set(r.name, { reason: 'PodInitializing' });
        }
        continue;
      }
      await this.#syncContainer(pod, planned, r, sandbox, inv, pass, signal);
    }
    return this.#finish(pod, pass, sandbox, signal);
  }

  #instances(inv: PodInventory | undefined, name: string): ManagedContainer[] {
    return (inv?.containers ?? []).filter((c) => c.containerName === name);
  }

  /** Nothing of the pod needs to start again: every container ran and its policy says done. */
  #podDone(pod: Pod, inv: PodInventory | undefined): boolean {
    if ((pod.spec.restartPolicy ?? 'Always') === 'Always') return false;
    return pod.spec.containers.every((c) => {
      const cur = this.#instances(inv, c.name)[0];
      if (!cur || cur.state === 'created' || RUNNING_STATES.has(cur.state)) return false;
      return !shouldRestart(pod, cur.exitCode ?? 1);
    });
  }

  /** Makes sure the pod's sandbox runs; undefined when the pod must not get one. */
  async #syncSandbox(
    pod: Pod,
    plan: PodPlan,
    inv: PodInventory | undefined,
    pass: Pass,
    log: KeyLogger,
  ): Promise<{ id: string; ip: string; fresh: boolean } | undefined> {
    const sandboxes = inv?.sandboxes ?? [];
    const newest = sandboxes[0];
    for (const s of sandboxes.slice(1)) {
      if (RUNNING_STATES.has(s.state)) await this.#runtime.stopContainer(s.id, 2);
    }
    // A running sandbox is adopted even if the agent would create it differently now (another
    // version, other node settings): as kubelet, only a sandbox that is not running is replaced,
    // so upgrading the agent never restarts workloads.
    if (newest && newest.state === 'running') {
      return { id: newest.id, ip: newest.ip ?? '', fresh: false };
    }
    const everRan = (inv?.containers.length ?? 0) > 0;
    const never = (pod.spec.restartPolicy ?? 'Always') === 'Never';
    if (newest && everRan && (never || this.#podDone(pod, inv))) {
      // As kubelet: a finished pod, or a restartPolicy Never pod that already ran something,
      // gets no new sandbox; what still runs in the old one is stopped.
      await this.#stopPod(pod, inv!, plan.gracePeriodSeconds);
      return undefined;
    }
    if (newest && newest.state !== 'created') {
      this.#events.normal(
        pod,
        'SandboxChanged',
        'Pod sandbox changed, it will be killed and re-created.',
      );
    }
    if (inv) {
      const podIP = newest?.ip;
      await Promise.all(
        inv.containers
          .filter((c) => RUNNING_STATES.has(c.state))
          .map((c) =>
            this.#kill(pod, c, plan.gracePeriodSeconds, `Stopping container ${c.containerName}`, {
              podIP,
              spec: this.#specOf(pod, c.containerName),
            }),
          ),
      );
      if (newest && RUNNING_STATES.has(newest.state))
        await this.#runtime.stopContainer(newest.id, 2);
    }
    const attempt = !newest
      ? 0
      : newest.state === 'created' && newest.hash === plan.sandbox.hash
        ? newest.attempt
        : newest.attempt + 1;
    try {
      const s = await this.#runtime.runSandbox(plan, { attempt });
      log.debug({ sandbox: s.id, ip: s.ip, attempt }, 'sandbox running');
      return { id: s.id, ip: s.ip, fresh: true };
    } catch (err) {
      if (isRuntimeError(err, 'EngineUnavailable')) throw err;
      log.warn({ err: errorMessage(err), attempt }, 'cannot run the sandbox');
      // A sandbox that was made but would not start (one created while the engine was shutting
      // down can never start: its network endpoint is lost) is removed, so the next pass makes
      // a new one instead of retrying it for ever.
      const failed = (await this.#inventory(pod.metadata.uid!))?.sandboxes.find(
        (s) => s.attempt === attempt && !RUNNING_STATES.has(s.state),
      );
      if (failed) {
        await this.#runtime.removeContainer(failed.id, { force: true }).catch((e: unknown) => {
          log.warn({ err: errorMessage(e), sandbox: failed.id }, 'cannot remove the sandbox');
        });
      }
      this.#events.warning(
        pod,
        'FailedCreatePodSandBox',
        `Failed to create pod sandbox: ${errorMessage(err)}`,
      );
      pass.want(this.#o.backoff.baseMs);
      return undefined;
    }
  }

  /** Stops stale instances (older than the newest) that still run; removes never-started ones. */
  async #cleanOld(
    pod: Pod,
    instances: ManagedContainer[],
    grace: number,
    podIP: string,
  ): Promise<void> {
    for (const old of instances.slice(1)) {
      if (RUNNING_STATES.has(old.state)) {
        await this.#kill(pod, old, grace, `Stopping container ${old.containerName}`, {
          podIP,
          spec: this.#specOf(pod, old.containerName),
        });
      } else if (old.state === 'created') {
        await this.#runtime.removeContainer(old.id);
      }
    }
  }

  async #inspect(id: string): Promise<ContainerInfo | undefined> {
    try {
      return await this.#runtime.inspect(id);
    } catch (err) {
      if (isRuntimeError(err, 'ContainerNotFound')) return undefined;
      throw err;
    }
  }

  /** Runs init containers in order; true once every one has succeeded. */
  async #syncInit(
    pod: Pod,
    plan: PodPlan,
    sandbox: { id: string; ip: string },
    inv: PodInventory | undefined,
    pass: Pass,
    signal: AbortSignal,
  ): Promise<boolean> {
    if (plan.initContainers.length === 0) return true;
    // App containers already run in this sandbox: initialization happened.
    const appNames = new Set(pod.spec.containers.map((c) => c.name));
    if (
      (inv?.containers ?? []).some(
        (c) => appNames.has(c.containerName) && c.sandboxId === sandbox.id,
      )
    ) {
      return true;
    }
    for (const r of plan.initContainers) {
      const instances = this.#instances(inv, r.name);
      await this.#cleanOld(pod, instances, plan.gracePeriodSeconds, sandbox.ip);
      const cur = instances[0];
      const info = cur ? await this.#inspect(cur.id) : undefined;
      const inSandbox = cur !== undefined && cur.sandboxId === sandbox.id;
      if (r.error) {
        this.#configError(pod, r, pass);
        return false;
      }
      if (!cur || !info || !inSandbox) {
        await this.#startNew(pod, plan, r.plan, sandbox, cur, cur?.backoffMs ?? 0, pass, signal);
        return false;
      }
      if (info.running) return false;
      if (info.state === 'created' && !info.error && info.exitCode === 0) {
        await this.#start(pod, r.plan, info.id, sandbox, pass);
        return false;
      }
      const code = exitCodeOf(info);
      if (code === 0 && info.state !== 'created') continue;
      if ((pod.spec.restartPolicy ?? 'Always') === 'Never') return false;
      await this.#restartAfterBackoff(pod, plan, r.plan, sandbox, cur, info, pass, signal);
      return false;
    }
    return true;
  }

  #configError(pod: Pod, r: ContainerPlanResult, pass: Pass): void {
    const message = r.error?.message ?? 'invalid container configuration';
    pass.waiting.set(r.name, { reason: 'CreateContainerConfigError', message });
    this.#events.warning(pod, 'Failed', `Error: ${message}`);
    pass.want(this.#o.backoff.baseMs);
  }

  async #syncContainer(
    pod: Pod,
    plan: PodPlan,
    r: ContainerPlanResult,
    sandbox: { id: string; ip: string },
    inv: PodInventory | undefined,
    pass: Pass,
    signal: AbortSignal,
  ): Promise<void> {
    const name = r.name;
    const instances = this.#instances(inv, name);
    await this.#cleanOld(pod, instances, plan.gracePeriodSeconds, sandbox.ip);
    const cur = instances[0];
    let info = cur ? await this.#inspect(cur.id) : undefined;
    const inSandbox = cur !== undefined && cur.sandboxId === sandbox.id;
    if (r.error) {
      // A running instance stays: its configuration was fine when it started.
      if (info?.running && inSandbox) return;
      this.#configError(pod, r, pass);
      return;
    }
    const cp = r.plan;
    if (!cur || !info) {
      await this.#startNew(pod, plan, cp, sandbox, cur, cur?.backoffMs ?? 0, pass, signal);
      return;
    }
    const spec = cp.spec;
    if (info.running) {
      if (!inSandbox) {
        await this.#kill(pod, cur, plan.gracePeriodSeconds, `Stopping container ${name}`, {
          podIP: sandbox.ip,
          spec,
        });
        await this.#startNew(pod, plan, cp, sandbox, cur, cur.backoffMs, pass, signal);
        return;
      }
      if (cur.hash !== cp.hash) {
        await this.#kill(
          pod,
          cur,
          plan.gracePeriodSeconds,
          `Container ${name} definition changed, will be restarted`,
          { podIP: sandbox.ip, spec },
        );
        await this.#startNew(pod, plan, cp, sandbox, cur, 0, pass, signal);
        return;
      }
      const failed = this.#probes.failed(cur.id);
      if (!failed) return; // running as it should: adopted
      const probe = failed === 'liveness' ? spec.livenessProbe : spec.startupProbe;
      const grace = probe?.terminationGracePeriodSeconds ?? plan.gracePeriodSeconds;
      const restarts = (pod.spec.restartPolicy ?? 'Always') !== 'Never';
      await this.#kill(
        pod,
        cur,
        grace,
        `Container ${name} failed ${failed} probe${restarts ? ', will be restarted' : ''}`,
        {
          podIP: sandbox.ip,
          spec,
        },
      );
      info = await this.#inspect(cur.id);
      if (!info) {
        await this.#startNew(pod, plan, cp, sandbox, cur, cur.backoffMs, pass, signal);
        return;
      }
    }
    if (info.state === 'created' && !info.error && info.exitCode === 0) {
      // Created but never started (the agent stopped in between).
      if (inSandbox && cur.hash === cp.hash) {
        await this.#start(pod, cp, info.id, sandbox, pass);
        return;
      }
      // Never ran (created in a sandbox that died meanwhile, or before a hash change): replaced
      // without counting a restart.
      await this.#runtime.removeContainer(cur.id);
      await this.#startNew(pod, plan, cp, sandbox, cur, cur.backoffMs, pass, signal, false);
      return;
    }
    if (!shouldRestart(pod, exitCodeOf(info))) return; // done: stays terminated
    if (!inSandbox) {
      // The sandbox was re-created: start again at once.
      await this.#startNew(pod, plan, cp, sandbox, cur, cur.backoffMs, pass, signal);
      return;
    }
    await this.#restartAfterBackoff(pod, plan, cp, sandbox, cur, info, pass, signal);
  }

  /** CrashLoopBackOff: wait the instance's back-off after it finished, then start the next. */
  async #restartAfterBackoff(
    pod: Pod,
    plan: PodPlan,
    cp: ContainerPlan,
    sandbox: { id: string; ip: string },
    cur: ManagedContainer,
    info: ContainerInfo,
    pass: Pass,
    signal: AbortSignal,
  ): Promise<void> {
    const finishedAt = ms(info.finishedAt) ?? ms(info.createdAt) ?? this.#now();
    const timing = restartTiming(
      { backoffMs: cur.backoffMs, startedAt: ms(info.startedAt), finishedAt },
      this.#o.backoff,
    );
    const readyAt = finishedAt + timing.waitMs;
    const now = this.#now();
    if (now < readyAt) {
      const { name, namespace, uid } = pod.metadata;
      pass.waiting.set(cp.name, {
        reason: 'CrashLoopBackOff',
        message: `back-off ${formatDuration(timing.waitMs)} restarting failed container=${cp.name} pod=${name}_${namespace}(${uid})`,
      });
      this.#events.warning(
        pod,
        'BackOff',
        `Back-off restarting failed container ${cp.name} in pod ${name}_${namespace}(${uid})`,
      );
      pass.want(readyAt - now);
      return;
    }
    await this.#startNew(pod, plan, cp, sandbox, cur, timing.nextBackoffMs, pass, signal);
  }

  /** Pulls as the pull policy says, with back-off; false (and a waiting reason) when not there. */
  async #ensureImage(
    pod: Pod,
    cp: ContainerPlan,
    pass: Pass,
    signal: AbortSignal,
  ): Promise<boolean> {
    const image = cp.image;
    const key = `${pod.metadata.uid}/${cp.name}`;
    if (cp.pullPolicy !== 'Always') {
      if (await this.#runtime.imageInfo(image)) {
        this.#events.normal(pod, 'Pulled', `Container image "${image}" already present on machine`);
        return true;
      }
      if (cp.pullPolicy === 'Never') {
        const message = `Container image "${image}" is not present with pull policy of Never`;
        this.#events.warning(pod, 'ErrImageNeverPull', message);
        pass.waiting.set(cp.name, { reason: 'ErrImageNeverPull', message });
        pass.want(this.#o.backoff.baseMs);
        return false;
      }
    }
    const remaining = this.#pulls.remaining(key, image, this.#now());
    if (remaining > 0) {
      const message = `Back-off pulling image "${image}"`;
      this.#events.normal(pod, 'BackOff', message);
      pass.waiting.set(cp.name, { reason: 'ImagePullBackOff', message });
      pass.want(remaining);
      return false;
    }
    const { auth, missing } = pullCredentials(pod, image, pass.secrets);
    if (missing.length > 0) {
      this.#events.warning(
        pod,
        'FailedToRetrieveImagePullSecret',
        `Unable to retrieve some image pull secrets (${missing.join(', ')}); attempting to pull the image may not succeed.`,
      );
    }
    this.#events.normal(pod, 'Pulling', `Pulling image "${image}"`);
    const started = this.#now();
    try {
      const credentials = auth ?? (await this.#o.registryAuth?.(image, signal));
      await this.#runtime.ensureImage(image, {
        pullPolicy: 'Always',
        signal,
        ...(credentials ? { auth: credentials } : {}),
      });
    } catch (err) {
      if (isRuntimeError(err, 'EngineUnavailable') || signal.aborted) throw err;
      const delay = this.#pulls.failed(key, image, this.#now());
      const message = errorMessage(err);
      this.#events.warning(pod, 'Failed', `Failed to pull image "${image}": ${message}`);
      this.#events.warning(pod, 'Failed', 'Error: ErrImagePull');
      pass.waiting.set(cp.name, { reason: 'ErrImagePull', message });
      // Look again soon, so the status moves on to ImagePullBackOff as kubelet's does.
      pass.want(Math.min(delay / 2, 1000));
      return false;
    }
    this.#pulls.succeeded(key);
    this.#events.normal(
      pod,
      'Pulled',
      `Successfully pulled image "${image}" in ${formatDuration(this.#now() - started)}`,
    );
    return true;
  }

  /**
   * Creates and starts the next instance of a container. `previousRan` false: the previous
   * instance never started, so this one is not a restart.
   */
  async #startNew(
    pod: Pod,
    plan: PodPlan,
    cp: ContainerPlan,
    sandbox: { id: string; ip: string },
    previous: ManagedContainer | undefined,
    backoffMs: number,
    pass: Pass,
    signal: AbortSignal,
    previousRan = true,
  ): Promise<void> {
    if (!(await this.#ensureImage(pod, cp, pass, signal))) return;
    const attempt = previous ? previous.attempt + 1 : 0;
    const restartCount = previous ? previous.restartCount + (previousRan ? 1 : 0) : 0;
    let id: string;
    try {
      id = await this.#runtime.createContainer(plan, cp, sandbox.id, {
        attempt,
        restartCount,
        backoffMs,
      });
    } catch (err) {
      if (isRuntimeError(err, 'EngineUnavailable')) throw err;
      const message = errorMessage(err);
      this.#events.warning(pod, 'Failed', `Error: ${message}`);
      pass.waiting.set(cp.name, { reason: 'CreateContainerError', message });
      pass.want(this.#o.backoff.baseMs);
      return;
    }
    this.#events.normal(pod, 'Created', `Created container ${cp.name}`);
    await this.#start(pod, cp, id, sandbox, pass);
  }

  async #start(
    pod: Pod,
    cp: ContainerPlan,
    id: string,
    sandbox: { id: string; ip: string },
    pass: Pass,
  ): Promise<void> {
    try {
      await this.#runtime.startContainer(id);
    } catch (err) {
      if (isRuntimeError(err, 'EngineUnavailable')) throw err;
      // Docker keeps the container `created` with the error: the next pass sees a failed
      // start (ContainerCannotRun) and applies the restart policy and back-off.
      this.#events.warning(pod, 'Failed', `Error: ${errorMessage(err)}`);
      pass.want(1);
      return;
    }
    this.#events.normal(pod, 'Started', `Started container ${cp.name}`);
    const postStart = cp.spec.lifecycle?.postStart as Handler | undefined;
    if (!postStart) return;
    const outcome = await runHandler(
      this.#runtime,
      postStart,
      { containerId: id, podIP: sandbox.ip, spec: cp.spec },
      Math.max(1, cp.gracePeriodSeconds) * 1000,
    );
    if (outcome.ok) return;
    this.#events.warning(pod, 'FailedPostStartHook', outcome.output);
    this.#events.normal(pod, 'Killing', 'FailedPostStartHook');
    await this.#runtime.stopContainer(id, cp.gracePeriodSeconds);
  }

  // ---- status ------------------------------------------------------------------------------

  async #imageID(info: ContainerInfo): Promise<string> {
    const known = this.#imageIDs.get(info.imageID);
    if (known) return known;
    let value = `docker://${info.imageID}`;
    try {
      const image = await this.#runtime.imageInfo(info.imageID);
      const digest = image?.repoDigests[0];
      if (digest) value = `docker-pullable://${digest}`;
    } catch {
      // keep the plain ID
    }
    if (this.#imageIDs.size > 1000) this.#imageIDs.clear();
    this.#imageIDs.set(info.imageID, value);
    return value;
  }

  async #observe(c: ManagedContainer): Promise<InstanceObservation | undefined> {
    const info = await this.#inspect(c.id);
    if (!info) return undefined;
    return {
      id: info.id,
      state: info.state,
      running: info.running,
      exitCode: info.exitCode,
      oomKilled: info.oomKilled,
      error: info.error,
      startedAt: info.startedAt,
      finishedAt: info.finishedAt,
      image: info.image,
      imageID: await this.#imageID(info),
      restartCount: c.restartCount,
    };
  }

  /** Observes Docker once more, syncs probes, computes the status and writes it if it changed. */
  async #finish(
    pod: Pod,
    pass: Pass,
    sandbox: { id: string; ip: string } | undefined,
    signal: AbortSignal,
    failure?: { reason: string; message: string },
  ): Promise<ReconcileResult | void> {
    const uid = pod.metadata.uid!;
    const inv = await this.#inventory(uid);
    const previous = new Map(
      [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].map(
        (s) => [s.containerID ?? '', s],
      ),
    );
    const targets: ProbeTarget[] = [];
    const observe = async (
      c: Pod['spec']['containers'][number],
      probed: boolean,
    ): Promise<ContainerObservation> => {
      const instances = this.#instances(inv, c.name);
      const cur = instances[0] ? await this.#observe(instances[0]) : undefined;
      let prev: InstanceObservation | undefined;
      for (const older of instances.slice(1)) {
        if (older.state !== 'exited' && older.state !== 'dead') continue;
        prev = await this.#observe(older);
        if (prev) break;
      }
      const runningHere =
        cur !== undefined &&
        cur.running &&
        sandbox !== undefined &&
        instances[0]!.sandboxId === sandbox.id;
      if (probed && runningHere && cur) {
        const before = previous.get(`docker://${cur.id}`);
        targets.push({
          podUid: uid,
          containerName: c.name,
          containerId: cur.id,
          startedAt: ms(cur.startedAt) ?? this.#now(),
          spec: c,
          podIP: sandbox.ip,
          ...(before ? { wasReady: before.ready, wasStarted: before.started === true } : {}),
        });
      }
      return {
        name: c.name,
        specImage: c.image,
        current: cur,
        previous: prev,
        waiting: pass.waiting.get(c.name),
        ready: true,
        started: true,
      };
    };
    const init: ContainerObservation[] = [];
    for (const c of pod.spec.initContainers ?? []) init.push(await observe(c, false));
    const containers: ContainerObservation[] = [];
    for (const c of pod.spec.containers) containers.push(await observe(c, true));
    this.#probes.sync(uid, failure ? [] : targets);
    for (const o of containers) {
      const id = o.current?.id;
      if (!id) continue;
      o.ready = this.#probes.ready(id);
      o.started = this.#probes.started(id);
    }
    const status = computePodStatus({
      pod,
      initContainers: init,
      containers,
      podIP: sandbox?.ip,
      hostIP: this.#o.hostIP(),
      // Kubernetes times have second precision.
      now: new Date(this.#now()).toISOString().replace(/\.\d+Z$/, 'Z'),
      failure,
    });
    if (status.phase === 'Succeeded' || status.phase === 'Failed') {
      this.#probes.forgetPod(uid);
      for (const s of inv?.sandboxes ?? []) {
        if (RUNNING_STATES.has(s.state)) await this.#runtime.stopContainer(s.id, 2);
      }
    }
    if (!sameStatus(status, pod.status)) {
      try {
        await this.#o.api.updateStatus(pod, status, signal);
      } catch (err) {
        if (!isApiError(err, 'NotFound')) throw err;
        // Deleted meanwhile: the informer brings the delete and the next pass cleans up.
      }
    }
    return pass.requeueAfter === undefined ? undefined : { requeueAfter: pass.requeueAfter };
  }
}

/**
 * Liveness, readiness and startup probes, as kubelet runs them: one timer per probe of each
 * running container instance, started `initialDelaySeconds` after the container started and
 * repeated every `periodSeconds`; a result flips after `successThreshold` successes or
 * `failureThreshold` failures in a row. A startup probe holds the other two until it passes.
 * Readiness starts as failure, liveness as success. Every failed probe records an `Unhealthy`
 * warning. Results live in memory keyed by container ID: a new instance starts over, and a
 * restarted agent probes from scratch (kubelet does the same). A changed result wakes the pod's
 * reconcile, which acts on it (not ready; or kill and restart).
 */
import type { Container } from '../../src/api/index.js';
import type { Logger } from '../../src/util/logger.js';
import { runHandler, type ExecRuntime, type Handler, type HandlerOutcome } from './handlers.js';

export type ProbeType = 'liveness' | 'readiness' | 'startup';
export type ProbeResult = 'success' | 'failure';

export interface ProbeSpec extends Handler {
  initialDelaySeconds?: number | undefined;
  periodSeconds?: number | undefined;
  timeoutSeconds?: number | undefined;
  successThreshold?: number | undefined;
  failureThreshold?: number | undefined;
}

/** A running container instance whose probes should run. */
export interface ProbeTarget {
  podUid: string;
  containerName: string;
  containerId: string;
  /** When the instance started (ms since the epoch). */
  startedAt: number;
  spec: Container;
  podIP: string | undefined;
  /** What the pod's status last said about this instance (an agent restart adopts it), so a
   * restarted agent does not flip a ready container to unready until a probe says so. */
  wasReady?: boolean;
  wasStarted?: boolean;
}

export interface ProbeEvents {
  /** A probe failed once (kubelet's `Unhealthy` event). */
  unhealthy(target: ProbeTarget, type: ProbeType, output: string): void;
}

export type ProbeRunner = (
  probe: ProbeSpec,
  target: ProbeTarget,
  timeoutMs: number,
) => Promise<HandlerOutcome>;

/** The real runner: exec through the runtime, HTTP/TCP to the pod IP. */
export function handlerProbeRunner(runtime: ExecRuntime): ProbeRunner {
  return (probe, target, timeoutMs) =>
    runHandler(
      runtime,
      probe,
      { containerId: target.containerId, podIP: target.podIP, spec: target.spec },
      timeoutMs,
    );
}

export interface ProbeManagerOptions {
  run: ProbeRunner;
  events: ProbeEvents;
  /** A result changed: reconcile the pod. */
  onChange: (podUid: string) => void;
  logger: Logger;
  now?: () => number;
}

const TYPES: readonly ProbeType[] = ['startup', 'liveness', 'readiness'];
const LABEL: Record<ProbeType, string> = {
  liveness: 'Liveness',
  readiness: 'Readiness',
  startup: 'Startup',
};

function specOf(container: Container, type: ProbeType): ProbeSpec | undefined {
  if (type === 'liveness') return container.livenessProbe;
  if (type === 'readiness') return container.readinessProbe;
  return container.startupProbe;
}

class ProbeWorker {
  readonly type: ProbeType;
  readonly probe: ProbeSpec;
  readonly target: ProbeTarget;
  result: ProbeResult | undefined;
  #successes = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #manager: ProbeManager;

  constructor(manager: ProbeManager, type: ProbeType, probe: ProbeSpec, target: ProbeTarget) {
    this.#manager = manager;
    this.type = type;
    this.probe = probe;
    this.target = target;
    this.result =
      type === 'readiness'
        ? target.wasReady
          ? 'success'
          : 'failure'
        : type === 'liveness'
          ? 'success'
          : target.wasStarted
            ? 'success'
            : undefined;
  }

  get periodMs(): number {
    return Math.max(1, this.probe.periodSeconds ?? 10) * 1000;
  }

  start(now: number): void {
    const first = this.target.startedAt + (this.probe.initialDelaySeconds ?? 0) * 1000;
    this.#schedule(Math.max(0, first - now));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#tick();
    }, ms);
    this.#timer.unref?.();
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    // Liveness and readiness wait for the startup probe; startup stops once it passed.
    if (this.type !== 'startup' && !this.#manager.started(this.target.containerId)) {
      this.#schedule(this.periodMs);
      return;
    }
    const timeoutMs = Math.max(1, this.probe.timeoutSeconds ?? 1) * 1000;
    let outcome: HandlerOutcome;
    try {
      outcome = await this.#manager.run(this.probe, this.target, timeoutMs);
    } catch (err) {
      outcome = { ok: false, output: (err as Error).message };
    }
    if (this.#stopped) return;
    const before = this.result;
    if (outcome.ok) {
      this.#failures = 0;
      this.#successes++;
      // Liveness and startup need one success (Kubernetes refuses anything else).
      const needed = this.type === 'readiness' ? Math.max(1, this.probe.successThreshold ?? 1) : 1;
      if (this.#successes >= needed) this.result = 'success';
    } else {
      this.#successes = 0;
      this.#failures++;
      this.#manager.events.unhealthy(this.target, this.type, outcome.output);
      if (this.#failures >= Math.max(1, this.probe.failureThreshold ?? 3)) this.result = 'failure';
    }
    if (before !== this.result) this.#manager.changed(this);
    // Startup is done once it passed; a failed liveness/startup probe waits for the next
    // instance (the reconcile kills this one).
    if (this.type === 'startup' && this.result === 'success') return;
    if (this.type !== 'readiness' && this.result === 'failure') return;
    this.#schedule(this.periodMs);
  }
}

/** All probe workers of the node. */
export class ProbeManager {
  readonly events: ProbeEvents;
  readonly #run: ProbeRunner;
  readonly #onChange: (podUid: string) => void;
  readonly #log: Logger;
  readonly #now: () => number;
  /** containerId -> type -> worker */
  readonly #workers = new Map<string, Map<ProbeType, ProbeWorker>>();
  /** podUid -> containerIds */
  readonly #byPod = new Map<string, Set<string>>();
  #closed = false;

  constructor(options: ProbeManagerOptions) {
    this.#run = options.run;
    this.events = options.events;
    this.#onChange = options.onChange;
    this.#log = options.logger.child({ component: 'probes' });
    this.#now = options.now ?? Date.now;
  }

  run(probe: ProbeSpec, target: ProbeTarget, timeoutMs: number): Promise<HandlerOutcome> {
    return this.#run(probe, target, timeoutMs);
  }

  changed(worker: ProbeWorker): void {
    this.#log.debug(
      {
        pod: worker.target.podUid,
        container: worker.target.containerName,
        probe: worker.type,
        result: worker.result,
      },
      'probe result changed',
    );
    this.#onChange(worker.target.podUid);
  }

  /**
   * The pod's running instances: starts workers for new ones, stops those of instances that are
   * no longer running (so a timer never outlives its container).
   */
  sync(podUid: string, targets: readonly ProbeTarget[]): void {
    if (this.#closed) return;
    const wanted = new Set(targets.map((t) => t.containerId));
    for (const id of this.#byPod.get(podUid) ?? []) {
      if (!wanted.has(id)) this.#stopContainer(id);
    }
    const now = this.#now();
    for (const target of targets) {
      if (this.#workers.has(target.containerId)) continue;
      const workers = new Map<ProbeType, ProbeWorker>();
      for (const type of TYPES) {
        const spec = specOf(target.spec, type);
        if (spec) workers.set(type, new ProbeWorker(this, type, spec, target));
      }
      if (workers.size === 0) continue;
      this.#workers.set(target.containerId, workers);
      let ids = this.#byPod.get(podUid);
      if (!ids) this.#byPod.set(podUid, (ids = new Set()));
      ids.add(target.containerId);
      for (const w of workers.values()) w.start(now);
    }
    if (this.#byPod.get(podUid)?.size === 0) this.#byPod.delete(podUid);
  }

  /** Stops every probe of the pod. */
  forgetPod(podUid: string): void {
    for (const id of this.#byPod.get(podUid) ?? []) this.#stopContainer(id);
    this.#byPod.delete(podUid);
  }

  #stopContainer(id: string): void {
    const workers = this.#workers.get(id);
    if (!workers) return;
    for (const w of workers.values()) w.stop();
    this.#workers.delete(id);
    const podUid = [...workers.values()][0]?.target.podUid;
    if (podUid) this.#byPod.get(podUid)?.delete(id);
  }

  /** The startup probe passed, or there is none. */
  started(containerId: string): boolean {
    const w = this.#workers.get(containerId)?.get('startup');
    return w === undefined || w.result === 'success';
  }

  /** Ready: the readiness probe passes (or there is none) and the container has started. */
  ready(containerId: string): boolean {
    if (!this.started(containerId)) return false;
    const w = this.#workers.get(containerId)?.get('readiness');
    return w === undefined || w.result === 'success';
  }

  /** The probe whose failure means the instance must be killed, if any. */
  failed(containerId: string): 'liveness' | 'startup' | undefined {
    const workers = this.#workers.get(containerId);
    if (workers?.get('startup')?.result === 'failure') return 'startup';
    if (workers?.get('liveness')?.result === 'failure') return 'liveness';
    return undefined;
  }

  /** Whether the instance has workers (its probes are being run). */
  has(containerId: string): boolean {
    return this.#workers.has(containerId);
  }

  /** Stops every timer. */
  close(): void {
    this.#closed = true;
    for (const id of [...this.#workers.keys()]) this.#stopContainer(id);
    this.#byPod.clear();
  }
}

export function probeLabel(type: ProbeType): string {
  return LABEL[type];
}

/**
 * The service proxy: kube-proxy's iptables mode for this node. It watches Services and
 * Endpoints in every namespace and keeps this node's nat and filter chains (`iptables-rules.ts`)
 * equal to them, so a Service's ClusterIP:port reaches its ready endpoints, from pods and from
 * the node itself, and a port without endpoints refuses connections at once. The nodePorts of
 * NodePort and LoadBalancer Services reach them too, on the node's addresses (but loopback), also
 * from other hosts.
 *
 * Each sync reads the tables (`iptables-save`) and writes the whole set of owned chains in one
 * `iptables-restore --noflush`; changes are collected for `debounceMs` (100 ms) first, failures
 * are retried with back-off, and everything is re-synced every `resyncIntervalMs` to repair
 * what someone else removed. Stopping keeps the rules (an agent restart must not cut traffic);
 * the next start syncs once both informers have listed, which also deletes owned chains no
 * longer needed. `removeServiceRules` deletes everything of a node. After a sync, UDP flows
 * still going to endpoints a port no longer has are deleted (`conntrack.ts`).
 */
import type { Endpoints } from '../../src/api/kinds/endpoints.js';
import type { Service } from '../../src/api/kinds/service.js';
import type { EventHandler } from '../../src/reconcile/index.js';
import type { Logger } from '../../src/util/logger.js';
import {
  changedUdpTargets,
  ConntrackMissingError,
  hostConntrack,
  removeStaleUdpFlows,
  type ConntrackTools,
} from './conntrack.js';
import { hostIptables, type IptablesTools } from './iptables.js';
import { parseSave, renderCleanup, renderSync } from './iptables-rules.js';
import {
  servicePortEntries,
  type BackendOverride,
  type ServicePortEntry,
} from './service-ports.js';

/** The informer methods the proxy uses. */
export interface Source<T> {
  list(): T[];
  get(key: string): T | undefined;
  addEventHandler(handler: EventHandler<T>): () => void;
  waitForSync(signal?: AbortSignal): Promise<boolean>;
}

export interface ServiceProxyOptions {
  nodeName: string;
  services: Source<Service>;
  endpoints: Source<Endpoints>;
  iptables?: IptablesTools;
  /** The host's connection tracking, for UDP flows to endpoints that went away. */
  conntrack?: ConntrackTools;
  /** Backends that replace some Endpoints (the cluster DNS served by the agent). */
  override?: BackendOverride;
  /** Called after each sync with every backend IP (hairpin set-up); failures are logged. */
  afterSync?: (backendIPs: ReadonlySet<string>) => Promise<void>;
  logger: Logger;
  debounceMs?: number;
  resyncIntervalMs?: number;
  /** Retry delays after a failed sync, doubling. Default 1 s to 30 s. */
  backoff?: { initialMs: number; maxMs: number };
}

const TABLES = ['nat', 'filter'] as const;

/** Removes every rule and chain of `nodeName`'s service proxy; false when there was none. */
export async function removeServiceRules(
  nodeName: string,
  iptables: IptablesTools = hostIptables,
): Promise<boolean> {
  const input = renderCleanup({ nodeName, saved: parseSave(await iptables.save(TABLES)) });
  if (!input) return false;
  await iptables.restore(input);
  return true;
}

export class ServiceProxy {
  readonly nodeName: string;
  readonly #services: Source<Service>;
  readonly #endpoints: Source<Endpoints>;
  readonly #iptables: IptablesTools;
  readonly #conntrack: ConntrackTools;
  #conntrackMissing = false;
  /** A clean-up failed: the next sync looks at every UDP port, as the first one does. */
  #recheckFlows = true;
  readonly #override: BackendOverride | undefined;
  readonly #afterSync: ((ips: ReadonlySet<string>) => Promise<void>) | undefined;
  readonly #log: Logger;
  readonly #debounceMs: number;
  readonly #resyncMs: number;
  readonly #backoff: { initialMs: number; maxMs: number };
  #dirty = true;
  #wake: (() => void) | undefined;
  #entries: ServicePortEntry[] | undefined;
  #syncs = 0;
  readonly #listeners = new Set<() => void>();

  constructor(options: ServiceProxyOptions) {
    this.nodeName = options.nodeName;
    this.#services = options.services;
    this.#endpoints = options.endpoints;
    this.#iptables = options.iptables ?? hostIptables;
    this.#conntrack = options.conntrack ?? hostConntrack;
    this.#override = options.override;
    this.#afterSync = options.afterSync;
    this.#log = options.logger.child({ component: 'service-proxy' });
    this.#debounceMs = options.debounceMs ?? 100;
    this.#resyncMs = options.resyncIntervalMs ?? 30_000;
    this.#backoff = options.backoff ?? { initialMs: 1000, maxMs: 30_000 };
  }

  /** What the last successful sync programmed; undefined before one succeeded. */
  get entries(): readonly ServicePortEntry[] | undefined {
    return this.#entries;
  }

  /** Successful syncs so far. */
  get syncs(): number {
    return this.#syncs;
  }

  /** Calls `listener` after each successful sync; returns the unsubscribe function. */
  onSync(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Asks for a sync (collected with others for the debounce period). */
  requestSync(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  /** Syncs until `signal` aborts; the rules stay when it does. */
  async run(signal: AbortSignal): Promise<void> {
    const handler = <T>(): EventHandler<T> => ({
      onAdd: () => this.requestSync(),
      onUpdate: (old, cur) => {
        if (old !== cur) this.requestSync();
      },
      onDelete: () => this.requestSync(),
    });
    const off = [
      this.#services.addEventHandler(handler<Service>()),
      this.#endpoints.addEventHandler(handler<Endpoints>()),
    ];
    try {
      const synced = await Promise.all([
        this.#services.waitForSync(signal),
        this.#endpoints.waitForSync(signal),
      ]);
      if (!synced.every(Boolean)) return;
      let failures = 0;
      while (!signal.aborted) {
        if (!this.#dirty) {
          await this.#sleep(this.#resyncMs, signal, true);
          this.#dirty = true;
          continue;
        }
        await this.#sleep(this.#debounceMs, signal, false);
        if (signal.aborted) break;
        this.#dirty = false;
        try {
          await this.sync();
          failures = 0;
        } catch (err) {
          this.#dirty = true;
          const delay = Math.min(
            this.#backoff.maxMs,
            this.#backoff.initialMs * 2 ** Math.min(failures, 20),
          );
          failures += 1;
          this.#log.warn(
            { err: (err as Error).message, retryInMs: delay },
            'cannot program the service rules',
          );
          await this.#sleep(delay, signal, false);
        }
      }
    } finally {
      for (const f of off) f();
    }
  }

  /** One sync now: read the tables, write this node's chains in one restore. */
  async sync(): Promise<void> {
    const entries = servicePortEntries(
      this.#services.list(),
      (namespace, name) => this.#endpoints.get(`${namespace}/${name}`),
      this.#override,
    );
    const saved = parseSave(await this.#iptables.save(TABLES));
    await this.#iptables.restore(renderSync({ nodeName: this.nodeName, entries, saved }));
    const previous = this.#entries;
    const first = previous === undefined;
    this.#entries = entries;
    this.#syncs += 1;
    if (first) this.#log.info({ servicePorts: entries.length }, 'service rules programmed');
    else this.#log.debug({ servicePorts: entries.length }, 'service rules synced');
    for (const listener of this.#listeners) listener();
    if (this.#afterSync) {
      const ips = new Set(entries.flatMap((e) => e.backends.map((b) => b.ip)));
      await this.#afterSync(ips).catch((err: unknown) =>
        this.#log.debug({ err: (err as Error).message }, 'after-sync step failed'),
      );
    }
    await this.#removeStaleFlows(this.#recheckFlows ? undefined : previous, entries);
  }

  /**
   * After the rules changed: deletes the UDP flows that still go to endpoints a service port
   * no longer has (conntrack.ts). After a failure, which is logged, the next sync (at the
   * latest the periodic one) looks at every UDP port again.
   */
  async #removeStaleFlows(
    previous: readonly ServicePortEntry[] | undefined,
    entries: readonly ServicePortEntry[],
  ): Promise<void> {
    const targets = changedUdpTargets(previous, entries);
    this.#recheckFlows = false;
    if (targets.length === 0 || this.#conntrackMissing) return;
    try {
      const removed = await removeStaleUdpFlows(this.#conntrack, targets);
      if (removed > 0) this.#log.debug({ removed }, 'removed UDP flows to gone endpoints');
    } catch (err) {
      if (err instanceof ConntrackMissingError) {
        this.#conntrackMissing = true;
        this.#log.warn(
          {},
          'conntrack is not installed (Debian: apt-get install conntrack): UDP flows to a removed endpoint keep going there until their conntrack entry times out',
        );
        return;
      }
      this.#recheckFlows = true;
      this.#log.warn({ err: (err as Error).message }, 'cannot remove stale UDP flows');
    }
  }

  /** Removes this node's rules (the agent does so only when told to). */
  async cleanup(): Promise<void> {
    await removeServiceRules(this.nodeName, this.#iptables);
    this.#entries = undefined;
  }

  /** Waits `ms`, or less when aborted (or, if `wakeable`, when a sync is requested). */
  #sleep(ms: number, signal: AbortSignal, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      if (wakeable) this.#wake = done;
    });
  }
}

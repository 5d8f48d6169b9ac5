/**
 * Registers this node with the master and keeps its status fresh: creates the Node (or adopts
 * an existing one, adding the agent's labels without touching spec, so a cordon survives),
 * then posts the full status through `/status` every heartbeat interval as a merge patch.
 * Conditions come from the engine (Ready) and the host (memory, disk); their transitions are
 * recorded as node events as kubelet records them.
 */
import { readFile, statfs } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import {
  isApiError,
  nodeKind,
  type Node,
  type NodeCondition,
  type NodeStatus,
} from '../../src/api/index.js';
import type { ApiClient } from '../../src/client/index.js';
import type { Logger } from '../../src/util/logger.js';
import type { EngineInfo } from '../docker/runtime.js';
import {
  buildNodeStatus,
  conditionEventReason,
  nodeLabels,
  type HostStats,
  type NodeReport,
} from './status.js';

export interface NodeEventSink {
  normal(involved: Node, reason: string, message: string): void;
  warning(involved: Node, reason: string, message: string): void;
}

export interface NodeManagerOptions {
  nodeName: string;
  version: string;
  client: Pick<ApiClient, 'get' | 'create' | 'patch'>;
  events: NodeEventSink;
  /** The engine's info; throws when Docker does not answer. */
  engineInfo: () => Promise<EngineInfo>;
  logger: Logger;
  heartbeatIntervalMs: number;
  /** Configured InternalIP; else the bridge gateway of a local engine, else a host address. */
  nodeIP?: string | undefined;
  /** The port of the agent's logs/exec server, reported as status.daemonEndpoints. */
  daemonPort?: number | undefined;
  /** The engine runs on this machine (host statistics describe it). */
  localEngine: boolean;
  /** For tests: host statistics. */
  hostStats?: (dockerRootDir: string) => Promise<HostStats>;
}

/** The Node as events name it (its uid is its name, as the kubelet's events have it). */
export function nodeRef(nodeName: string): Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName, uid: nodeName } };
}

/** MemAvailable from /proc/meminfo and the free space of the Docker root's filesystem. */
export async function localHostStats(dockerRootDir: string): Promise<HostStats> {
  let memoryAvailableBytes: number | undefined;
  try {
    const meminfo = await readFile('/proc/meminfo', 'utf8');
    const m = /^MemAvailable:\s+(\d+)\s+kB/m.exec(meminfo);
    if (m) memoryAvailableBytes = Number(m[1]) * 1024;
  } catch {
    memoryAvailableBytes = undefined;
  }
  return { memoryAvailableBytes, disk: await diskUsage(dockerRootDir) };
}

/** Size and free space of the filesystem under `dir`; undefined when it cannot be read. */
export async function diskUsage(dir: string): Promise<HostStats['disk']> {
  try {
    const s = await statfs(dir || '/');
    return { totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
  } catch {
    return undefined;
  }
}

/** The host's first non-internal IPv4 address. */
export function primaryAddress(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal) return a.address;
    }
  }
  return undefined;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class NodeManager {
  readonly nodeName: string;
  readonly #o: NodeManagerOptions;
  readonly #log: Logger;
  #engine: EngineInfo | undefined;
  /** The conditions last posted (their transition times carry over). */
  #conditions: NodeCondition[] = [];
  /** The condition values node events were last recorded for (empty after a start). */
  #announced: NodeCondition[] = [];
  #registered = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #beat: Promise<void> | undefined;
  #internalIP: string | undefined;

  constructor(options: NodeManagerOptions) {
    this.#o = options;
    this.nodeName = options.nodeName;
    this.#log = options.logger.child({ component: 'node', node: options.nodeName });
  }

  /** The node's InternalIP (the pods' hostIP). */
  get internalIP(): string | undefined {
    return this.#internalIP;
  }

  /** CPU and memory capacity, for env resourceFieldRef without limits. */
  get capacity(): { cpu: string; memory: string } | undefined {
    const e = this.#engine;
    return e ? { cpu: String(e.cpus), memory: String(e.memoryBytes) } : undefined;
  }

  get registered(): boolean {
    return this.#registered;
  }

  #ref(): Node {
    return nodeRef(this.nodeName);
  }

  async #report(): Promise<NodeReport> {
    let engine: EngineInfo | undefined;
    let engineError: string | undefined;
    try {
      engine = await withTimeout(this.#o.engineInfo(), 10_000, 'docker info');
      this.#engine = engine;
    } catch (err) {
      engineError = (err as Error).message;
    }
    const known = engine ?? this.#engine;
    const host: HostStats =
      this.#o.localEngine || this.#o.hostStats
        ? await (this.#o.hostStats ?? localHostStats)(known?.dockerRootDir ?? '/')
        : { memoryAvailableBytes: undefined, disk: undefined };
    this.#internalIP =
      this.#o.nodeIP ??
      (this.#o.localEngine ? known?.bridgeGateway : undefined) ??
      primaryAddress() ??
      '127.0.0.1';
    return {
      nodeName: this.nodeName,
      version: this.#o.version,
      engine,
      engineError,
      lastEngine: this.#engine,
      host,
      internalIP: this.#internalIP,
      daemonPort: this.#o.daemonPort,
    };
  }

  /**
   * Creates the Node, or adds the agent's labels to the existing one (spec untouched), then
   * posts its status. Throws what the API said (Unauthorized/Forbidden are not worth retrying).
   */
  async register(): Promise<void> {
    const report = await this.#report();
    const labels = nodeLabels(this.nodeName, report.engine ?? report.lastEngine);
    let existing: Node | undefined;
    try {
      existing = await this.#o.client.get<Node>(nodeKind, this.nodeName);
    } catch (err) {
      if (!isApiError(err, 'NotFound')) throw err;
    }
    if (!existing) {
      const status = buildNodeStatus(report, [], new Date().toISOString());
      try {
        existing = await this.#o.client.create<Node>(nodeKind, {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: this.nodeName, labels },
          status,
        });
        this.#log.info({}, 'registered the node');
      } catch (err) {
        if (!isApiError(err, 'AlreadyExists') && !isApiError(err, 'Conflict')) throw err;
        existing = await this.#o.client.get<Node>(nodeKind, this.nodeName);
      }
    } else {
      const current = existing.metadata.labels ?? {};
      const missing = Object.fromEntries(
        Object.entries(labels).filter(([k, v]) => current[k] !== v),
      );
      if (Object.keys(missing).length > 0) {
        existing = await this.#o.client.patch<Node>(nodeKind, this.nodeName, {
          metadata: { labels: missing },
        });
      }
      this.#log.info({ unschedulable: existing.spec?.unschedulable === true }, 'adopted the node');
    }
    this.#conditions = [...(existing.status?.conditions ?? [])];
    // A (re)started agent announces every condition once, as kubelet does.
    this.#announced = [];
    this.#registered = true;
    this.#o.events.normal(this.#ref(), 'Starting', 'Starting slipway agent.');
    await this.#post(report);
  }

  /** Posts the status once (the heartbeat). Re-registers when the Node was deleted. */
  async heartbeat(): Promise<void> {
    if (!this.#registered) {
      await this.register();
      return;
    }
    await this.#post(await this.#report());
  }

  async #post(report: NodeReport): Promise<void> {
    const status: NodeStatus = buildNodeStatus(report, this.#conditions, new Date().toISOString());
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#o.client.patch<Node>(
          nodeKind,
          this.nodeName,
          { status },
          { subresource: 'status' },
        );
        break;
      } catch (err) {
        if (isApiError(err, 'NotFound')) {
          this.#log.warn({}, 'the Node object is gone; registering again');
          this.#registered = false;
          await this.register();
          return;
        }
        if (isApiError(err, 'Conflict') && attempt < 3) continue;
        throw err;
      }
    }
    this.#recordTransitions(status.conditions ?? []);
    this.#conditions = status.conditions ?? [];
    this.#announced = this.#conditions;
  }

  #recordTransitions(next: readonly NodeCondition[]): void {
    for (const c of next) {
      const prev = this.#announced.find((p) => p.type === c.type);
      if (prev && prev.status === c.status) continue;
      const reason = conditionEventReason(c.type, c.status);
      if (!reason) continue;
      const message = `Node ${this.nodeName} status is now: ${reason}`;
      if (c.type === 'Ready' && c.status !== 'True')
        this.#o.events.warning(this.#ref(), reason, message);
      else this.#o.events.normal(this.#ref(), reason, message);
    }
  }

  /** Heartbeats until stop(); failures are logged and retried at the next beat. */
  start(): void {
    const loop = (): void => {
      if (this.#stopped) return;
      this.#timer = setTimeout(() => {
        this.#beat = this.heartbeat()
          .catch((err: unknown) => {
            this.#log.warn({ err: (err as Error).message }, 'node heartbeat failed');
          })
          .finally(() => {
            this.#beat = undefined;
            loop();
          });
      }, this.#o.heartbeatIntervalMs);
    };
    loop();
  }

  /** Stops heartbeating (waits for a beat in flight). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#beat;
  }
}

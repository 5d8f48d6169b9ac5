import {
  eventKind,
  isApiError,
  type ApiObject,
  type Event,
  type ObjectReference,
} from '../api/index.js';
import type { Logger } from '../util/logger.js';
import type { ApiClient } from './api-client.js';

export type EventType = 'Normal' | 'Warning';

/** Where events of cluster-scoped objects (nodes, projects) are written, as in Kubernetes.
 * The `default` project must exist for them to be stored: the master creates it at start-up;
 * if it is missing the server refuses the event and the recorder logs that. */
export const CLUSTER_EVENTS_NAMESPACE = 'default';

const REASON_MAX = 128;
const MESSAGE_MAX = 4096;

export interface EventRecorderOptions {
  client: Pick<ApiClient, 'create' | 'patch'>;
  /** `source.component`: who reports, e.g. `build-controller` or `agent`. */
  component: string;
  /** `source.host`, e.g. the node name for agents. */
  host?: string;
  logger: Logger;
  now?: () => Date;
  /** Identical events within this window are counted on one Event. Default 10 minutes. */
  aggregateWindowMs?: number;
  /** How many distinct recent events are remembered for aggregation. Default 4096. */
  cacheSize?: number;
}

/** What the object to report on must have. */
export type InvolvedObject = Pick<ApiObject, 'apiVersion' | 'kind' | 'metadata'>;

interface Recent {
  namespace: string;
  name: string;
  count: number;
  lastTime: number;
}

/**
 * Records Kubernetes Events about objects, for `describe` and `get events`. Recording never
 * fails the caller: `event()` returns at once and problems are logged. Repeated identical events
 * (same object, type, reason and message) within the window bump `count` and `lastTimestamp`
 * of one Event instead of creating new ones. Writes for the same event are serialized, so
 * aggregation holds under bursts. `flush()` waits for everything pending (tests, shutdown).
 */
export class EventRecorder {
  private readonly client: EventRecorderOptions['client'];
  private readonly component: string;
  private readonly host: string | undefined;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly windowMs: number;
  private readonly cacheSize: number;
  /** Least recently used first. */
  private readonly recent = new Map<string, Recent>();
  private readonly chains = new Map<string, Promise<void>>();
  private sequence = 0;

  constructor(options: EventRecorderOptions) {
    this.client = options.client;
    this.component = options.component;
    this.host = options.host;
    this.logger = options.logger.child({ component: 'event-recorder' });
    this.now = options.now ?? (() => new Date());
    this.windowMs = options.aggregateWindowMs ?? 10 * 60_000;
    this.cacheSize = options.cacheSize ?? 4096;
  }

  event(involved: InvolvedObject, type: EventType, reason: string, message: string): void {
    const ref = referenceTo(involved);
    const namespace = involved.metadata.namespace || CLUSTER_EVENTS_NAMESPACE;
    const key = [namespace, ref.kind, ref.name, ref.uid ?? '', type, reason, message].join(
      '\u0000',
    );
    const at = this.now();
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(() =>
        this.record(
          key,
          at,
          namespace,
          ref,
          type,
          truncate(reason, REASON_MAX),
          truncate(message, MESSAGE_MAX),
        ),
      )
      .catch((err: unknown) => {
        this.logger.warn(
          { err: describe(err), kind: ref.kind, name: ref.name, namespace, reason },
          'could not record event',
        );
      });
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  normal(involved: InvolvedObject, reason: string, message: string): void {
    this.event(involved, 'Normal', reason, message);
  }

  warning(involved: InvolvedObject, reason: string, message: string): void {
    this.event(involved, 'Warning', reason, message);
  }

  /** Resolves when every event recorded so far has been written (or failed and was logged). */
  async flush(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  private async record(
    key: string,
    now: Date,
    namespace: string,
    ref: ObjectReference,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const timestamp = now.toISOString();
    const recent = this.recent.get(key);
    if (recent && now.getTime() - recent.lastTime < this.windowMs) {
      try {
        await this.client.patch(
          eventKind,
          recent.name,
          { count: recent.count + 1, lastTimestamp: timestamp },
          { namespace: recent.namespace },
        );
        recent.count++;
        recent.lastTime = now.getTime();
        this.remember(key, recent);
        return;
      } catch (err) {
        // Gone (deleted or expired): start a new Event below.
        if (!isApiError(err, 'NotFound')) throw err;
        this.recent.delete(key);
      }
    }
    const suffix = this.suffix(now);
    const name = `${ref.name.slice(0, 252 - suffix.length).replace(/[.-]+$/, '')}.${suffix}`;
    const event: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      source: this.host
        ? { component: this.component, host: this.host }
        : { component: this.component },
    };
    await this.client.create(eventKind, event, { namespace });
    this.remember(key, { namespace, name, count: 1, lastTime: now.getTime() });
  }

  private remember(key: string, value: Recent): void {
    this.recent.delete(key);
    this.recent.set(key, value);
    while (this.recent.size > this.cacheSize) {
      const oldest = this.recent.keys().next().value;
      if (oldest === undefined) break;
      this.recent.delete(oldest);
    }
  }

  /** Kubernetes names events `NAME.%x` of the Unix nanoseconds; a counter keeps two events in
   * the same millisecond apart. */
  private suffix(now: Date): string {
    this.sequence = (this.sequence + 1) % 1_000_000;
    return (BigInt(now.getTime()) * 1_000_000n + BigInt(this.sequence)).toString(16);
  }
}

/** involvedObject: cluster-scoped objects have no namespace here, even though their events
 * live in CLUSTER_EVENTS_NAMESPACE. */
function referenceTo(obj: InvolvedObject): ObjectReference {
  const ref: ObjectReference = {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata.name ?? '',
  };
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  if (obj.metadata.uid) ref.uid = obj.metadata.uid;
  return ref;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

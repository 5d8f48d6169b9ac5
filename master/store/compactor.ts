import { isStoreError, type Store } from './types.js';

export const DEFAULT_COMPACT_INTERVAL_MS = 5 * 60 * 1000;

type LogFn = (obj: object, msg?: string) => void;

/** The part of a pino logger the compactor uses. */
export interface CompactorLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** The timer the compactor schedules itself with; tests pass a fake one. */
export interface CompactorTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface CompactorOptions {
  logger: CompactorLogger;
  intervalMs?: number;
  timers?: CompactorTimers;
  /** Milliseconds, for reporting how long a compaction took. */
  now?: () => number;
}

const realTimers: CompactorTimers = {
  setTimeout(callback, ms) {
    // The compactor alone never keeps the process alive.
    return setTimeout(callback, ms).unref();
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/**
 * Periodic compaction, as the Kubernetes API server does it: every interval, compact to the
 * revision seen at the previous tick, then remember the current one. So at least one interval
 * of history always stays, and a watcher that is less than an interval behind can resume.
 */
export class Compactor {
  readonly intervalMs: number;
  private readonly store: Pick<Store, 'currentRevision' | 'compactedRevision' | 'compact'>;
  private readonly logger: CompactorLogger;
  private readonly timers: CompactorTimers;
  private readonly now: () => number;
  /** The revision seen at the previous tick: the next compaction target. */
  private observed: number | undefined;
  private timer: unknown;
  private running = false;
  private inFlight: Promise<void> | undefined;

  constructor(
    store: Pick<Store, 'currentRevision' | 'compactedRevision' | 'compact'>,
    options: CompactorOptions,
  ) {
    const intervalMs = options.intervalMs ?? DEFAULT_COMPACT_INTERVAL_MS;
    if (!(intervalMs > 0))
      throw new Error(`compaction interval must be positive, got ${intervalMs}`);
    this.store = store;
    this.intervalMs = intervalMs;
    this.logger = options.logger;
    this.timers = options.timers ?? realTimers;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.logger.debug({ intervalMs: this.intervalMs }, 'store compactor started');
    this.schedule();
  }

  /** Stops scheduling and waits for a compaction in progress. */
  async stop(): Promise<void> {
    if (this.running) {
      this.running = false;
      this.timers.clearTimeout(this.timer);
      this.timer = undefined;
      this.logger.debug({}, 'store compactor stopped');
    }
    await this.inFlight;
  }

  /** One step: compact to the revision seen at the previous step, then observe the current one. */
  async tick(): Promise<void> {
    const target = this.observed;
    try {
      if (target !== undefined && target > (await this.store.compactedRevision())) {
        const started = this.now();
        await this.store.compact(target);
        this.logger.info({ revision: target, ms: this.now() - started }, 'store compacted');
      }
      this.observed = await this.store.currentRevision();
    } catch (err) {
      if (isStoreError(err, 'Closed')) {
        this.logger.warn({}, 'store closed; compactor stopping');
        this.running = false;
        return;
      }
      // Keep the old target; the next tick tries again.
      this.logger.error({ err, revision: target }, 'store compaction failed');
    }
  }

  private schedule(): void {
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      const run = this.tick().finally(() => {
        this.inFlight = undefined;
        if (this.running) this.schedule();
      });
      this.inFlight = run;
    }, this.intervalMs);
  }
}

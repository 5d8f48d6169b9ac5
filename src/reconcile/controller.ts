import { isApiError } from '../api/index.js';
import type { Logger } from './types.js';
import type { WorkQueue } from './work-queue.js';

export interface ReconcileResult {
  /** Reconcile the key again after this many milliseconds; its back-off is reset. */
  requeueAfter?: number;
  /** Reconcile the key again after its back-off, without logging an error. */
  requeue?: boolean;
}

/**
 * One step toward the desired state of `key`. Re-read everything from caches, never mutate
 * cached objects, return when done; throw to be retried with back-off. `signal` aborts when
 * the controller stops. `logger` has the component and key bound.
 */
export type ReconcileFn<K> = (
  key: K,
  signal: AbortSignal,
  logger: Logger,
) => Promise<ReconcileResult | void>;

/** Anything whose cache must be filled before workers start (an Informer). */
export interface SyncWaiter {
  waitForSync(signal?: AbortSignal): Promise<boolean>;
}

export interface ControllerOptions<K> {
  name: string;
  queue: WorkQueue<K>;
  reconcile: ReconcileFn<K>;
  /** Keys reconciled concurrently (never the same key twice). Default 1. */
  workers?: number;
  logger: Logger;
  /** Caches to wait for before the first reconcile. */
  waitFor?: readonly SyncWaiter[];
}

/**
 * Runs reconcile workers over a work queue (sample-controller's runWorker loop). Success
 * forgets the key's back-off; `requeueAfter` re-adds it later; an error re-adds it with
 * back-off (a Conflict, which only means the cache was behind, is logged at debug level).
 */
export class Controller<K = string> {
  readonly name: string;
  readonly #queue: WorkQueue<K>;
  readonly #reconcile: ReconcileFn<K>;
  readonly #workers: number;
  readonly #log: Logger;
  readonly #waitFor: readonly SyncWaiter[];
  #running = false;

  constructor(options: ControllerOptions<K>) {
    this.name = options.name;
    this.#queue = options.queue;
    this.#reconcile = options.reconcile;
    this.#workers = Math.max(1, options.workers ?? 1);
    this.#log = options.logger.child({ component: options.name });
    this.#waitFor = options.waitFor ?? [];
  }

  /**
   * Waits for the caches, then runs the workers until `signal` aborts. On abort the queue shuts
   * down, no new reconcile starts, and this resolves once the ones in flight have finished.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error(`controller ${this.name} is already running`);
    this.#running = true;
    const stop = (): void => this.#queue.shutDown();
    if (signal.aborted) stop();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for (const cache of this.#waitFor) {
        if (!(await cache.waitForSync(signal))) return;
      }
      this.#log.info({ workers: this.#workers }, 'controller started');
      const workers = Array.from({ length: this.#workers }, () => this.#worker(signal));
      await Promise.all(workers);
      this.#log.info({}, 'controller stopped');
    } finally {
      signal.removeEventListener('abort', stop);
      this.#running = false;
    }
  }

  async #worker(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.#queue.get();
      if (key === undefined) return;
      if (signal.aborted) {
        this.#queue.done(key);
        return;
      }
      await this.#process(key, signal);
    }
  }

  async #process(key: K, signal: AbortSignal): Promise<void> {
    const log = this.#log.child({ key: String(key) });
    try {
      const result = await this.#reconcile(key, signal, log);
      if (result?.requeueAfter !== undefined && result.requeueAfter > 0) {
        this.#queue.forget(key);
        this.#queue.addAfter(key, result.requeueAfter);
      } else if (result?.requeue) {
        this.#queue.addRateLimited(key);
      } else {
        this.#queue.forget(key);
      }
    } catch (err) {
      if (signal.aborted) {
        log.debug({ err }, 'reconcile ended by shutdown');
      } else if (isApiError(err, 'Conflict')) {
        log.debug({ err: err.message }, 'conflict, the cache was behind; requeuing');
        this.#queue.addRateLimited(key);
      } else {
        log.error({ err, retries: this.#queue.numRequeues(key) }, 'reconcile failed; requeuing');
        this.#queue.addRateLimited(key);
      }
    } finally {
      this.#queue.done(key);
    }
  }
}

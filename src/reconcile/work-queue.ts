import { systemClock, type Clock } from './clock.js';
import { ItemExponentialFailureRateLimiter, type RateLimiter } from './rate-limiter.js';

export interface WorkQueueOptions<T> {
  /** Back-off for `addRateLimited`. Default: exponential from 5 ms doubling to 1000 s. */
  rateLimiter?: RateLimiter<T>;
  /** Time source for delayed adds. */
  clock?: Clock;
}

/**
 * client-go's rate-limited work queue.
 *
 * - Repeated adds of an item that is waiting collapse into one.
 * - An item handed out by `get` is "processing" until `done`; it is never handed to a second
 *   worker meanwhile. Adds during processing mark it dirty, and `done` puts it back in line.
 * - `addAfter` delays an add (a later, earlier-due addAfter wins); `addRateLimited` delays it by
 *   the item's back-off, which grows with every call until `forget`.
 * - After `shutDown`, adds are ignored and pending delayed adds dropped; `get` still hands out
 *   what is already queued, then resolves `undefined`.
 */
export class WorkQueue<T = string> {
  readonly #rateLimiter: RateLimiter<T>;
  readonly #clock: Clock;
  /** Items ready to be handed out, in order. Every item here is also in #dirty. */
  #queue: T[] = [];
  /** Items that need processing (queued, or re-added while processing). */
  readonly #dirty = new Set<T>();
  /** Items handed out and not yet done. */
  readonly #processing = new Set<T>();
  /** Delayed adds: one timer per item, for its earliest due time. */
  readonly #waiting = new Map<T, { readyAt: number; handle: unknown }>();
  /** Workers blocked in `get`. */
  #getters: ((item: T | undefined) => void)[] = [];
  /** `shutDownWithDrain` callers waiting for processing to finish. */
  #drainers: (() => void)[] = [];
  #shuttingDown = false;

  constructor(options: WorkQueueOptions<T> = {}) {
    this.#rateLimiter = options.rateLimiter ?? new ItemExponentialFailureRateLimiter<T>();
    this.#clock = options.clock ?? systemClock;
  }

  add(item: T): void {
    if (this.#shuttingDown || this.#dirty.has(item)) return;
    this.#dirty.add(item);
    if (this.#processing.has(item)) return;
    this.#queue.push(item);
    this.#dispatch();
  }

  /** Adds the item once `ms` have passed; `ms <= 0` adds it now. */
  addAfter(item: T, ms: number): void {
    if (this.#shuttingDown) return;
    if (!(ms > 0)) {
      this.add(item);
      return;
    }
    const readyAt = this.#clock.now() + ms;
    const existing = this.#waiting.get(item);
    if (existing) {
      if (existing.readyAt <= readyAt) return;
      this.#clock.clearTimeout(existing.handle);
    }
    const handle = this.#clock.setTimeout(() => {
      this.#waiting.delete(item);
      this.add(item);
    }, ms);
    this.#waiting.set(item, { readyAt, handle });
  }

  /** Adds the item after its back-off, and lengthens the back-off for next time. */
  addRateLimited(item: T): void {
    if (this.#shuttingDown) return;
    this.addAfter(item, this.#rateLimiter.when(item));
  }

  /** Resets the item's back-off (it succeeded, or is being given up on). */
  forget(item: T): void {
    this.#rateLimiter.forget(item);
  }

  /** Failures counted for the item since it was last forgotten. */
  numRequeues(item: T): number {
    return this.#rateLimiter.numRequeues(item);
  }

  /**
   * The next item to process, once one is ready; `undefined` when the queue has shut down and
   * nothing is left. The caller must call `done(item)` when finished with it.
   */
  get(): Promise<T | undefined> {
    if (this.#queue.length > 0) return Promise.resolve(this.#take());
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Marks the item finished; if it was added meanwhile, it goes back in line. */
  done(item: T): void {
    this.#processing.delete(item);
    if (this.#dirty.has(item)) {
      this.#queue.push(item);
      this.#dispatch();
    }
    if (this.#processing.size === 0 && this.#drainers.length > 0) {
      const drainers = this.#drainers;
      this.#drainers = [];
      for (const resolve of drainers) resolve();
    }
  }

  /** Items ready to be handed out (not counting those processing or delayed). */
  len(): number {
    return this.#queue.length;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Stops taking new items, drops delayed adds and releases blocked `get` callers. */
  shutDown(): void {
    if (!this.#shuttingDown) {
      this.#shuttingDown = true;
      for (const { handle } of this.#waiting.values()) this.#clock.clearTimeout(handle);
      this.#waiting.clear();
    }
    // Getters only wait while the queue is empty, so each of them is told "shut down".
    const getters = this.#getters;
    this.#getters = [];
    for (const resolve of getters) resolve(undefined);
  }

  /** `shutDown`, then waits until every item handed out has been marked done. */
  async shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return;
    await new Promise<void>((resolve) => this.#drainers.push(resolve));
  }

  #take(): T {
    const item = this.#queue.shift() as T;
    this.#processing.add(item);
    this.#dirty.delete(item);
    return item;
  }

  #dispatch(): void {
    while (this.#getters.length > 0 && this.#queue.length > 0) {
      const resolve = this.#getters.shift()!;
      resolve(this.#take());
    }
  }
}

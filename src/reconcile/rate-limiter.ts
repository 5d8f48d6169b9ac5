/** Decides how long a failing item waits before its next attempt (client-go's RateLimiter). */
export interface RateLimiter<T> {
  /** The delay before the next attempt; counts one more failure for the item. */
  when(item: T): number;
  /** Clears the item's failure history (call it when the item succeeds). */
  forget(item: T): void;
  /** How many failures the item has had since it was last forgotten. */
  numRequeues(item: T): number;
}

export interface ExponentialBackOffOptions {
  /** Delay after the first failure. Default 5 ms. */
  baseDelayMs?: number;
  /** Upper bound. Default 1000 s. */
  maxDelayMs?: number;
}

/**
 * Per-item exponential back-off, as client-go's ItemExponentialFailureRateLimiter:
 * base * 2^failures, capped at max.
 */
export class ItemExponentialFailureRateLimiter<T> implements RateLimiter<T> {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly #failures = new Map<T, number>();

  constructor(options: ExponentialBackOffOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 1_000_000;
  }

  when(item: T): number {
    const exp = this.#failures.get(item) ?? 0;
    this.#failures.set(item, exp + 1);
    const delay = this.baseDelayMs * 2 ** exp;
    return Number.isFinite(delay) ? Math.min(delay, this.maxDelayMs) : this.maxDelayMs;
  }

  forget(item: T): void {
    this.#failures.delete(item);
  }

  numRequeues(item: T): number {
    return this.#failures.get(item) ?? 0;
  }
}

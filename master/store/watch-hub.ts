import { StoreError, type StoreEvent } from './types.js';

/** How many undelivered events a watcher may hold before it is cut off as too slow. */
export const DEFAULT_WATCH_QUEUE_LIMIT = 10_000;

interface Subscriber {
  prefix: string;
  /** Live events at or below this revision are not for this watcher (a watch from the future). */
  afterRevision: number;
  queue: StoreEvent[];
  wake: (() => void) | undefined;
  error: StoreError | undefined;
  done: boolean;
}

/**
 * Fans committed events out to watchers. Drivers call `subscribe` with the replayed history in
 * the same synchronous step in which they read it, and `publish` right after each commit, so
 * no event falls between replay and live delivery and none is delivered twice.
 */
export class WatchHub {
  private readonly subscribers = new Set<Subscriber>();

  private readonly queueLimit: number;

  constructor(queueLimit = DEFAULT_WATCH_QUEUE_LIMIT) {
    this.queueLimit = queueLimit;
  }

  get size(): number {
    return this.subscribers.size;
  }

  publish(events: readonly StoreEvent[]): void {
    for (const sub of this.subscribers) {
      let pushed = false;
      for (const ev of events) {
        if (ev.revision <= sub.afterRevision || !ev.kv.key.startsWith(sub.prefix)) continue;
        sub.queue.push(ev);
        pushed = true;
      }
      if (sub.queue.length > this.queueLimit) {
        sub.error = new StoreError(
          'TooSlow',
          sub.prefix,
          'watcher fell too far behind; re-list and watch again',
        );
        sub.queue.length = 0;
        this.subscribers.delete(sub);
        pushed = true;
      }
      if (pushed) this.wakeUp(sub);
    }
  }

  /** Ends every watch with the given error (store closing). */
  closeAll(error: StoreError): void {
    for (const sub of this.subscribers) {
      sub.error = error;
      this.wakeUp(sub);
    }
    this.subscribers.clear();
  }

  subscribe(
    prefix: string,
    replay: readonly StoreEvent[],
    signal: AbortSignal,
    afterRevision = Number.NEGATIVE_INFINITY,
  ): AsyncIterable<StoreEvent> {
    const sub: Subscriber = {
      prefix,
      afterRevision,
      queue: [...replay],
      wake: undefined,
      error: undefined,
      done: false,
    };
    if (signal.aborted) sub.done = true;
    else this.subscribers.add(sub);
    const onAbort = (): void => {
      sub.done = true;
      this.subscribers.delete(sub);
      this.wakeUp(sub);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const subscribers = this.subscribers;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for (;;) {
            if (sub.done) return;
            const ev = sub.queue.shift();
            if (ev) {
              yield ev;
              continue;
            }
            if (sub.error) throw sub.error;
            await new Promise<void>((resolve) => {
              sub.wake = resolve;
            });
          }
        } finally {
          signal.removeEventListener('abort', onAbort);
          subscribers.delete(sub);
        }
      },
    };
  }

  private wakeUp(sub: Subscriber): void {
    const wake = sub.wake;
    sub.wake = undefined;
    wake?.();
  }
}

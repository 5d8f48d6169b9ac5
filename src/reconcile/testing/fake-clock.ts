import type { Clock } from '../clock.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that only moves when told. `advance` runs due timers in time order (ties in the
 * order they were set), including timers that those callbacks set within the window.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, Timer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers set and not yet fired or cleared. */
  pending(): number {
    return this.#timers.size;
  }

  /** When the next timer is due, or undefined. */
  nextDue(): number | undefined {
    return this.#next()?.at;
  }

  /** Moves time forward by `ms`, firing due timers synchronously. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (let t = this.#next(); t && t.at <= target; t = this.#next()) {
      this.#timers.delete(t.id);
      this.#now = t.at;
      t.fn();
    }
    this.#now = target;
  }

  /** Like `advance`, letting promises settle after each fired timer and at the end. */
  async tick(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flush();
    for (let t = this.#next(); t && t.at <= target; t = this.#next()) {
      this.#timers.delete(t.id);
      this.#now = t.at;
      t.fn();
      await flush();
    }
    this.#now = target;
    await flush();
  }

  #next(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.#timers.values()) {
      if (!best || t.at < best.at || (t.at === best.at && t.id < best.id)) best = t;
    }
    return best;
  }
}

/** Lets every pending promise chain run: one macrotask turn, repeated a few times so that
 * chains that hop through several awaits settle too. */
export async function flush(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

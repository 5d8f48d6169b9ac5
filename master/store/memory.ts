import { SynchronousStore } from './synchronous-store.js';
import type { KeyValue, StoreEvent } from './types.js';

/**
 * The in-memory driver: the reference implementation of the store semantics, used by unit
 * tests. Everything happens synchronously inside each call, which makes writes atomic.
 */
export class MemoryStore extends SynchronousStore {
  private readonly live = new Map<string, KeyValue>();
  /** Every change after `compacted`, in revision order. */
  private events: StoreEvent[] = [];

  constructor(options: { watchQueueLimit?: number } = {}) {
    super(options.watchQueueLimit);
  }

  compact(revision: number): Promise<void> {
    return this.run(() => {
      const upTo = Math.min(revision, this.revision);
      if (upTo > this.compacted) {
        this.events = this.events.filter((ev) => ev.revision > upTo);
        this.compacted = upTo;
      }
    });
  }

  protected read(key: string): KeyValue | undefined {
    return this.live.get(key);
  }

  protected readPrefix(prefix: string): KeyValue[] {
    return [...this.live.values()]
      .filter((kv) => kv.key.startsWith(prefix))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  protected history(prefix: string, after: number): StoreEvent[] {
    return this.events.filter((ev) => ev.revision > after && ev.kv.key.startsWith(prefix));
  }

  protected release(): void {
    // Nothing to release: the data goes with the object.
  }

  protected persist(events: readonly StoreEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'delete') this.live.delete(ev.kv.key);
      else this.live.set(ev.kv.key, ev.kv);
    }
    this.events.push(...events);
  }
}

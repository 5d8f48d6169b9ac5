import { SynchronousStore } from './synchronous-store.js';
import { StoreError, type KeyValue, type StoreEvent, type TxnOp } from './types.js';

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

  /** Checks every op against the state as the earlier ops leave it, then commits all. */
  protected apply(ops: readonly TxnOp[]): StoreEvent[] {
    const staged = new Map<string, KeyValue | undefined>();
    const current = (key: string): KeyValue | undefined =>
      staged.has(key) ? staged.get(key) : this.live.get(key);
    const events: StoreEvent[] = [];
    let rev = this.revision;
    for (const op of ops) {
      const prev = current(op.key);
      if (op.op === 'create') {
        if (prev)
          throw new StoreError(
            'KeyExists',
            op.key,
            `key ${op.key} already exists`,
            prev.modRevision,
          );
        rev += 1;
        const kv: KeyValue = {
          key: op.key,
          value: op.value,
          createRevision: rev,
          modRevision: rev,
        };
        staged.set(op.key, kv);
        events.push({ type: 'create', revision: rev, kv });
        continue;
      }
      if (!prev) throw new StoreError('NotFound', op.key, `key ${op.key} not found`);
      const expected = op.expectedModRevision;
      if (expected !== undefined && expected !== prev.modRevision) {
        throw new StoreError(
          'Conflict',
          op.key,
          `key ${op.key} is at revision ${prev.modRevision}, not ${expected}`,
          prev.modRevision,
        );
      }
      rev += 1;
      if (op.op === 'update') {
        const kv: KeyValue = {
          key: op.key,
          value: op.value,
          createRevision: prev.createRevision,
          modRevision: rev,
        };
        staged.set(op.key, kv);
        events.push({ type: 'update', revision: rev, kv, prev });
      } else {
        staged.set(op.key, undefined);
        events.push({ type: 'delete', revision: rev, kv: { ...prev, modRevision: rev }, prev });
      }
    }
    for (const [key, kv] of staged) {
      if (kv) this.live.set(key, kv);
      else this.live.delete(key);
    }
    this.revision = rev;
    this.events.push(...events);
    this.hub.publish(events);
    return events;
  }
}

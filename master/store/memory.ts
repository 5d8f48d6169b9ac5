import { WatchHub } from './watch-hub.js';
import {
  StoreError,
  type KeyValue,
  type ListResult,
  type Store,
  type StoreEvent,
  type TxnOp,
} from './types.js';

/**
 * The in-memory driver: the reference implementation of the store semantics, used by unit
 * tests. Everything happens synchronously inside each call, which makes writes atomic.
 */
export class MemoryStore implements Store {
  private readonly live = new Map<string, KeyValue>();
  /** Every change after `compacted`, in revision order. */
  private history: StoreEvent[] = [];
  private revision = 0;
  private compacted = 0;
  private closed = false;
  private readonly hub: WatchHub;

  constructor(options: { watchQueueLimit?: number } = {}) {
    this.hub = new WatchHub(options.watchQueueLimit);
  }

  currentRevision(): Promise<number> {
    return Promise.resolve(this.revision);
  }

  compactedRevision(): Promise<number> {
    return Promise.resolve(this.compacted);
  }

  get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    return Promise.resolve(this.live.get(key));
  }

  list(prefix: string): Promise<ListResult> {
    this.checkOpen();
    const items = [...this.live.values()]
      .filter((kv) => kv.key.startsWith(prefix))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return Promise.resolve({ items, revision: this.revision });
  }

  create(key: string, value: string): Promise<KeyValue> {
    return this.run(() => this.apply([{ op: 'create', key, value }])[0]!.kv);
  }

  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.run(() => this.apply([{ op: 'update', key, value, expectedModRevision }])[0]!.kv);
  }

  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    const op: TxnOp =
      expectedModRevision === undefined
        ? { op: 'delete', key }
        : { op: 'delete', key, expectedModRevision };
    return this.run(() => this.apply([op])[0]!.kv);
  }

  txn(ops: readonly TxnOp[]): Promise<number> {
    return this.run(() => {
      this.apply(ops);
      return this.revision;
    });
  }

  watch(prefix: string, afterRevision: number, signal: AbortSignal): AsyncIterable<StoreEvent> {
    this.checkOpen();
    if (afterRevision < this.compacted) {
      throw new StoreError(
        'Compacted',
        prefix,
        `revision ${afterRevision} has been compacted (oldest is ${this.compacted + 1})`,
        this.compacted,
      );
    }
    const replay = this.history.filter(
      (ev) => ev.revision > afterRevision && ev.kv.key.startsWith(prefix),
    );
    return this.hub.subscribe(prefix, replay, signal, afterRevision);
  }

  compact(revision: number): Promise<void> {
    this.checkOpen();
    const upTo = Math.min(revision, this.revision);
    if (upTo > this.compacted) {
      this.history = this.history.filter((ev) => ev.revision > upTo);
      this.compacted = upTo;
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.hub.closeAll(new StoreError('Closed', '', 'store closed'));
    }
    return Promise.resolve();
  }

  private run<T>(fn: () => T): Promise<T> {
    try {
      this.checkOpen();
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('Closed', '', 'store closed');
  }

  /** Checks every op against the state as the earlier ops leave it, then commits all. */
  private apply(ops: readonly TxnOp[]): StoreEvent[] {
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
    this.history.push(...events);
    this.hub.publish(events);
    return events;
  }
}

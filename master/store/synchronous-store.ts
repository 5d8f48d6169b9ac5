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
 * What the drivers share: both do their work synchronously inside each call (the memory driver
 * by nature, SQLite through `node:sqlite`), which is what makes a write atomic and lets a watch
 * read its history and subscribe in one step, with no commit in between. A driver supplies
 * reads, the history after a revision, atomic application of ops, and compaction.
 */
export abstract class SynchronousStore implements Store {
  protected revision = 0;
  protected compacted = 0;
  protected closed = false;
  protected readonly hub: WatchHub;

  protected constructor(watchQueueLimit?: number) {
    this.hub = new WatchHub(watchQueueLimit);
  }

  /** The live value of a key. */
  protected abstract read(key: string): KeyValue | undefined;
  /** The live values under a prefix, sorted by key. */
  protected abstract readPrefix(prefix: string): KeyValue[];
  /** Retained changes under a prefix with revision > after, in order. */
  protected abstract history(prefix: string, after: number): StoreEvent[];
  /** Writes the changes of one txn durably, all or none (throws to write none). */
  protected abstract persist(events: readonly StoreEvent[]): void;
  /** Releases the driver's resources; called once by close(). */
  protected abstract release(): void;
  abstract compact(revision: number): Promise<void>;

  currentRevision(): Promise<number> {
    return Promise.resolve(this.revision);
  }

  compactedRevision(): Promise<number> {
    return Promise.resolve(this.compacted);
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.run(() => this.read(key));
  }

  list(prefix: string): Promise<ListResult> {
    return this.run(() => ({ items: this.readPrefix(prefix), revision: this.revision }));
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
    // Read the history and subscribe in one synchronous step: no commit can fall in between.
    return this.hub.subscribe(prefix, this.history(prefix, afterRevision), signal, afterRevision);
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.release();
      this.hub.closeAll(new StoreError('Closed', '', 'store closed'));
    }
    return Promise.resolve();
  }

  /**
   * Checks every op against the state the earlier ops of the txn leave, gives each change the
   * next revision, persists them together, then publishes them to watchers.
   */
  protected apply(ops: readonly TxnOp[]): StoreEvent[] {
    const events = this.plan(ops);
    if (events.length === 0) return events;
    this.persist(events);
    this.revision = events[events.length - 1]!.revision;
    this.hub.publish(events);
    return events;
  }

  private plan(ops: readonly TxnOp[]): StoreEvent[] {
    const staged = new Map<string, KeyValue | undefined>();
    const current = (key: string): KeyValue | undefined =>
      staged.has(key) ? staged.get(key) : this.read(key);
    const events: StoreEvent[] = [];
    let rev = this.revision;
    for (const op of ops) {
      const prev = current(op.key);
      if (op.op === 'create') {
        if (prev) {
          throw new StoreError(
            'KeyExists',
            op.key,
            `key ${op.key} already exists`,
            prev.modRevision,
          );
        }
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
    return events;
  }

  /** Runs a synchronous step as a promise, refusing work once closed. */
  protected run<T>(fn: () => T): Promise<T> {
    try {
      this.checkOpen();
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  protected checkOpen(): void {
    if (this.closed) throw new StoreError('Closed', '', 'store closed');
  }
}

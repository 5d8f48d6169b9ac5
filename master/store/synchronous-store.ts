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
  /** Checks and commits every op or none, advances `revision`, publishes to the hub. */
  protected abstract apply(ops: readonly TxnOp[]): StoreEvent[];
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

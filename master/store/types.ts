/**
 * The store interface, after k3s's kine: a revisioned key-value log with watch. Every write
 * gets a new, strictly increasing revision; a watch from revision R yields every change after R,
 * in order, with no gap and no duplicate, as long as R has not been compacted away.
 *
 * Drivers: memory (tests), sqlite (the embedded default). An etcd driver fits the same shape.
 */

export interface KeyValue {
  key: string;
  /** The serialized object. The store never looks inside. */
  value: string;
  /** Revision of the write that created the key. */
  createRevision: number;
  /** Revision of the last write to the key (for a delete event: the delete's revision). */
  modRevision: number;
}

export interface StoreEvent {
  type: 'create' | 'update' | 'delete';
  /** The revision of this change. */
  revision: number;
  /** The key after the change; for delete, the last value with modRevision = revision. */
  kv: KeyValue;
  /** The key before the change (absent for create). */
  prev?: KeyValue;
}

export type TxnOp =
  | { op: 'create'; key: string; value: string }
  | { op: 'update'; key: string; value: string; expectedModRevision: number }
  | { op: 'delete'; key: string; expectedModRevision?: number };

export interface ListResult {
  items: KeyValue[];
  /** The store revision the listing is consistent with: watch from here to follow it. */
  revision: number;
}

export interface Store {
  /** The latest revision written. */
  currentRevision(): Promise<number>;
  /** Revisions at or below this one have been compacted away. */
  compactedRevision(): Promise<number>;
  get(key: string): Promise<KeyValue | undefined>;
  /** All live keys starting with prefix, sorted by key, as of one revision. */
  list(prefix: string): Promise<ListResult>;
  /** Fails with KeyExists if the key is live. */
  create(key: string, value: string): Promise<KeyValue>;
  /** Fails with NotFound, or Conflict when the key's modRevision is not the expected one. */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;
  /** Fails with NotFound, or Conflict when an expected revision is given and differs.
   * Returns the deleted value with modRevision = the delete's revision. */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  /**
   * Applies every op or none; fails with the first op's error. Each op takes its own revision,
   * consecutive and in op order, all committed together; a failed txn takes no revision.
   * Returns the final revision.
   */
  txn(ops: readonly TxnOp[]): Promise<number>;
  /**
   * Changes to keys under prefix with revision > afterRevision, first the retained history,
   * then live ones. Throws Compacted when afterRevision is below the compaction point; ends
   * with TooSlow when the consumer falls too far behind. Ends quietly when signal aborts.
   * afterRevision may be ahead of the current revision: changes up to it are then skipped.
   */
  watch(prefix: string, afterRevision: number, signal: AbortSignal): AsyncIterable<StoreEvent>;
  /** Forgets superseded values and delete records with revision <= revision. */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}

export type StoreErrorCode =
  'KeyExists' | 'NotFound' | 'Conflict' | 'Compacted' | 'TooSlow' | 'Closed';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  readonly key: string;
  /** For Conflict and KeyExists: the key's current modRevision. For Compacted: the compaction point. */
  readonly revision: number | undefined;

  constructor(code: StoreErrorCode, key: string, message: string, revision?: number) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
    this.key = key;
    this.revision = revision;
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}

import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLOutputValue, type StatementSync } from 'node:sqlite';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { SynchronousStore } from './synchronous-store.js';
import type { KeyValue, StoreEvent } from './types.js';

/** The schema this code reads and writes; recorded in the meta table. */
export const SQLITE_SCHEMA_VERSION = 1;

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
const DEFAULT_COMPACT_BATCH = 1_000;

/**
 * kine's shape: one append-only log, one row per change, keyed by the revision.
 * - `created`: the row creates the key; `deleted`: the row is a delete record (its value is the
 *   last value before the delete).
 * - `prev_revision`: the key's previous row (0 for the first). Compaction follows these links.
 * - AUTOINCREMENT makes SQLite remember the highest revision ever used (sqlite_sequence), so a
 *   revision is never reused, also after compaction removed the newest rows and a restart.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS kine (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kine_name_id ON kine (name, id);
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ${SQLITE_SCHEMA_VERSION});
INSERT OR IGNORE INTO meta (name, value) VALUES ('compact_revision', 0);
`;

/**
 * Keys under a prefix, as an exact byte-prefix range on the (name, id) index: no LIKE, so `%`
 * and `_` in keys are plain characters. 0xFF never occurs in UTF-8, so every key that starts
 * with the prefix sorts below prefix || 0xFF and every key that does not sorts outside the range.
 */
const UNDER_PREFIX = `name >= :prefix AND name < (:prefix || CAST(x'ff' AS TEXT))`;

const COLUMNS = 'id, name, created, deleted, create_revision, prev_revision, value';

export interface SqliteStoreOptions {
  /** How many undelivered events a watcher may hold before it ends with TooSlow. */
  watchQueueLimit?: number;
  /** How long to wait for a lock before failing (SQLite busy timeout). */
  busyTimeoutMs?: number;
  /** Revisions compacted per transaction; the event loop runs between batches. */
  compactBatchSize?: number;
}

interface Row {
  id: number;
  name: string;
  created: number;
  deleted: number;
  create_revision: number;
  prev_revision: number;
  value: string;
}

interface HistoryRow extends Row {
  prev_value: string | null;
}

/**
 * The embedded driver: an append-only SQLite table, after k3s's kine.
 *
 * - Durability: WAL with synchronous=FULL, so a write is acknowledged only after its commit
 *   is on disk; it survives kill -9 and power loss. Every write runs in an IMMEDIATE
 *   transaction, so a txn is all-or-nothing on disk too.
 * - One process: the database is opened with an exclusive lock. Watches are fed from this
 *   process's commits, so a second writer would make watchers miss changes; a second process
 *   fails to open the file instead.
 * - No gap, no duplicate: node:sqlite is synchronous, so a watch reads its history and
 *   subscribes to the hub in one synchronous step, and each write publishes to the hub right
 *   after its commit, before any other JavaScript runs.
 * - Revisions: each op of a txn gets its own revision, consecutive, committed together. A txn
 *   that fails is rolled back and consumes no revision, so watchers never see a hole.
 */
export class SqliteStore extends SynchronousStore {
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly compactBatchSize: number;
  /** Compactions run one at a time. */
  private compaction: Promise<void> = Promise.resolve();

  private readonly latestStmt: StatementSync;
  private readonly insertStmt: StatementSync;
  private readonly listStmt: StatementSync;
  private readonly historyStmt: StatementSync;
  private readonly compactSupersededStmt: StatementSync;
  private readonly compactDeletedStmt: StatementSync;
  private readonly setCompactStmt: StatementSync;

  /** Opens (and if needed creates) the database file and its schema. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    super(options.watchQueueLimit);
    this.path = path;
    this.compactBatchSize = Math.max(1, options.compactBatchSize ?? DEFAULT_COMPACT_BATCH);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      // The store holds secrets: owner-only, and SQLite gives its WAL the same mode.
      closeSync(openSync(path, 'a', 0o600));
      chmodSync(path, 0o600);
      this.db = new DatabaseSync(path, {
        timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
      });
    } catch (err) {
      throw openError(path, err);
    }
    try {
      // EXCLUSIVE before WAL: no shared-memory index, and the lock is held until close.
      this.db.exec('PRAGMA locking_mode = EXCLUSIVE');
      const mode = this.db.prepare('PRAGMA journal_mode = WAL').get()?.journal_mode;
      if (mode !== 'wal') {
        throw new Error(`could not switch ${path} to WAL mode (got ${String(mode)})`);
      }
      this.db.exec('PRAGMA synchronous = FULL');
      this.immediate(() => this.db.exec(SCHEMA));
      const version = this.meta('schema_version');
      if (version > SQLITE_SCHEMA_VERSION) {
        throw new Error(
          `${path} has schema version ${version}; this build understands up to ${SQLITE_SCHEMA_VERSION}`,
        );
      }
      this.compacted = this.meta('compact_revision');
      const seq = this.db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'kine'`).get();
      this.revision = Math.max(num(seq?.seq ?? 0), this.compacted);

      this.latestStmt = this.db.prepare(
        `SELECT ${COLUMNS} FROM kine WHERE name = ? ORDER BY id DESC LIMIT 1`,
      );
      this.insertStmt = this.db.prepare(
        `INSERT INTO kine (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      );
      this.listStmt = this.db.prepare(
        `SELECT k.id, k.name, k.created, k.deleted, k.create_revision, k.prev_revision, k.value
         FROM (SELECT MAX(id) AS id FROM kine WHERE ${UNDER_PREFIX} GROUP BY name) AS latest
         JOIN kine AS k ON k.id = latest.id
         WHERE k.deleted = 0
         ORDER BY k.name`,
      );
      // The previous row of any change after the compaction point is still there: compaction
      // only removes rows whose successor is at or below that point.
      this.historyStmt = this.db.prepare(
        `SELECT k.id, k.name, k.created, k.deleted, k.create_revision, k.prev_revision, k.value,
                p.value AS prev_value
         FROM kine AS k LEFT JOIN kine AS p ON p.id = k.prev_revision
         WHERE k.id > :after
           AND k.name >= :prefix AND k.name < (:prefix || CAST(x'ff' AS TEXT))
         ORDER BY k.id`,
      );
      this.compactSupersededStmt = this.db.prepare(
        `DELETE FROM kine WHERE id IN (
           SELECT prev_revision FROM kine WHERE id > ? AND id <= ? AND prev_revision > 0)`,
      );
      this.compactDeletedStmt = this.db.prepare(
        `DELETE FROM kine WHERE id > ? AND id <= ? AND deleted = 1`,
      );
      this.setCompactStmt = this.db.prepare(
        `UPDATE meta SET value = ? WHERE name = 'compact_revision'`,
      );
    } catch (err) {
      this.db.close();
      throw openError(path, err);
    }
  }

  protected read(key: string): KeyValue | undefined {
    const row = this.latestStmt.get(key) as unknown as Row | undefined;
    return row && !row.deleted ? toKeyValue(row) : undefined;
  }

  protected readPrefix(prefix: string): KeyValue[] {
    return (this.listStmt.all({ prefix }) as unknown as Row[]).map(toKeyValue);
  }

  protected history(prefix: string, after: number): StoreEvent[] {
    return (this.historyStmt.all({ after, prefix }) as unknown as HistoryRow[]).map(toEvent);
  }

  protected release(): void {
    this.db.close();
  }

  /**
   * Removes rows superseded at or below `revision` and delete records at or below it, in
   * batches of revisions, each its own transaction; the compaction point advances per batch.
   */
  compact(revision: number): Promise<void> {
    const run = this.compaction.then(() => this.compactTo(revision));
    this.compaction = run.catch(() => undefined);
    return run;
  }

  private async compactTo(revision: number): Promise<void> {
    this.checkOpen();
    const target = Math.min(revision, this.revision);
    while (this.compacted < target) {
      this.checkOpen();
      const from = this.compacted;
      const to = Math.min(target, from + this.compactBatchSize);
      this.immediate(() => {
        this.compactSupersededStmt.run(from, to);
        this.compactDeletedStmt.run(from, to);
        this.setCompactStmt.run(to);
      });
      this.compacted = to;
      if (this.compacted < target) await yieldToEventLoop();
    }
  }

  private meta(name: string): number {
    return num(this.db.prepare('SELECT value FROM meta WHERE name = ?').get(name)?.value ?? 0);
  }

  /** Runs fn in an IMMEDIATE transaction; rolls back and rethrows if anything fails. */
  private immediate<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  /** Appends one row per change in one IMMEDIATE transaction. Each row links to the key's
   * previous row (`prev_revision`), which is what watch events read their previous value from. */
  protected persist(events: readonly StoreEvent[]): void {
    const lastRow = new Map<string, number>();
    const previousRow = (key: string): number => {
      const staged = lastRow.get(key);
      if (staged !== undefined) return staged;
      const row = this.latestStmt.get(key) as unknown as Row | undefined;
      return row?.id ?? 0;
    };
    this.immediate(() => {
      for (const ev of events) {
        const { key } = ev.kv;
        const created = ev.type === 'create' ? 1 : 0;
        const deleted = ev.type === 'delete' ? 1 : 0;
        this.insertStmt.run(
          ev.revision,
          key,
          created,
          deleted,
          ev.kv.createRevision,
          previousRow(key),
          ev.kv.value,
        );
        lastRow.set(key, ev.revision);
      }
    });
  }
}

function num(value: SQLOutputValue): number {
  return typeof value === 'bigint' ? Number(value) : Number(value ?? 0);
}

function toKeyValue(row: Row): KeyValue {
  return {
    key: row.name,
    value: row.value,
    createRevision: row.create_revision,
    modRevision: row.id,
  };
}

function toEvent(row: HistoryRow): StoreEvent {
  const kv = toKeyValue(row);
  if (row.created) return { type: 'create', revision: row.id, kv };
  const event: StoreEvent = { type: row.deleted ? 'delete' : 'update', revision: row.id, kv };
  if (row.prev_value !== null) {
    event.prev = {
      key: row.name,
      value: row.prev_value,
      createRevision: row.create_revision,
      modRevision: row.prev_revision,
    };
  }
  return event;
}

function openError(path: string, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (/database is locked|SQLITE_BUSY/i.test(message)) {
    return new Error(`state database ${path} is in use by another process`, { cause: err });
  }
  return new Error(`cannot open state database ${path}: ${message}`, { cause: err });
}

import { statSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SQLITE_SCHEMA_VERSION, SqliteStore } from './sqlite.js';
import type { StoreEvent } from './types.js';

let tmp = '';
let n = 0;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'slipway-sqlite-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const opened: SqliteStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

function open(path: string, options: ConstructorParameters<typeof SqliteStore>[1] = {}) {
  const store = new SqliteStore(path, options);
  opened.push(store);
  return store;
}

const freshPath = (): string => join(tmp, `db-${++n}`, 'state.db');

/** Reads the file directly, after the store has closed it. */
function inspect<T>(path: string, fn: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('sqlite store', () => {
  it('creates the file, its directory and the schema, in WAL mode', async () => {
    const path = freshPath();
    const store = open(path);
    await store.create('a', 'v');
    // Owner-only: the store holds secrets.
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
    await store.close();
    inspect(path, (db) => {
      expect(db.prepare('PRAGMA journal_mode').get()?.journal_mode).toBe('wal');
      expect(db.prepare(`SELECT value FROM meta WHERE name = 'schema_version'`).get()?.value).toBe(
        SQLITE_SCHEMA_VERSION,
      );
      expect(db.prepare('SELECT id, name, created, deleted, value FROM kine').all()).toEqual([
        { id: 1, name: 'a', created: 1, deleted: 0, value: 'v' },
      ]);
    });
  });

  it('keeps data, revisions and the compaction point across a restart', async () => {
    const path = freshPath();
    let store = open(path);
    await store.create('a', 'a1');
    await store.create('b', 'b1');
    await store.update('a', 'a2', 1);
    await store.delete('b');
    await store.compact(2);
    const before = await store.list('');
    await store.close();

    store = open(path);
    expect(await store.currentRevision()).toBe(4);
    expect(await store.compactedRevision()).toBe(2);
    expect(await store.list('')).toEqual(before);
    const events: StoreEvent[] = [];
    const controller = new AbortController();
    for await (const ev of store.watch('', 2, controller.signal)) {
      events.push(ev);
      if (events.length === 2) break;
    }
    expect(events.map((ev) => [ev.type, ev.kv.key, ev.revision, ev.prev?.value])).toEqual([
      ['update', 'a', 3, 'a1'],
      ['delete', 'b', 4, 'b1'],
    ]);
    expect(() => store.watch('', 1, controller.signal)).toThrow(/compacted/);
    expect((await store.create('c', 'c1')).modRevision).toBe(5);
  });

  it('never reuses a revision, also when compaction removed the newest rows', async () => {
    const path = freshPath();
    let store = open(path);
    await store.create('a', 'v');
    await store.create('b', 'v');
    await store.delete('b');
    await store.delete('a');
    await store.compact(4);
    await store.close();
    expect(inspect(path, (db) => db.prepare('SELECT COUNT(*) AS n FROM kine').get()?.n)).toBe(0);

    store = open(path);
    expect(await store.currentRevision()).toBe(4);
    expect((await store.create('a', 'w')).modRevision).toBe(5);
  });

  it('compaction removes superseded rows and delete records at or below the point', async () => {
    const path = freshPath();
    const store = open(path, { compactBatchSize: 2 });
    for (const key of ['k1', 'k2', 'k3', 'k4', 'k5']) await store.create(key, 'v0'); // 1-5
    await store.update('k1', 'v1', 1); // 6
    await store.update('k1', 'v2', 6); // 7
    await store.update('k1', 'v3', 7); // 8
    await store.delete('k2'); // 9
    await store.update('k3', 'v1', 3); // 10
    await store.update('k3', 'v2', 10); // 11
    await store.compact(10);
    await store.close();
    inspect(path, (db) => {
      const rows = db.prepare('SELECT id, name FROM kine ORDER BY id').all();
      // k1@8 (latest), k3@10 (superseded only at 11, above the point), k3@11, k4, k5.
      expect(rows.map((r) => `${String(r.name)}@${String(r.id)}`)).toEqual([
        'k4@4',
        'k5@5',
        'k1@8',
        'k3@10',
        'k3@11',
      ]);
      expect(
        db.prepare(`SELECT value FROM meta WHERE name = 'compact_revision'`).get()?.value,
      ).toBe(10);
    });
  });

  it('refuses a second opener of the same file while it is open', async () => {
    const path = freshPath();
    const store = open(path);
    await store.create('a', 'v');
    expect(() => new SqliteStore(path, { busyTimeoutMs: 20 })).toThrow(/in use by another process/);
    await store.close();
    const again = open(path);
    expect((await again.get('a'))?.value).toBe('v');
  });

  it('refuses a file written by a newer schema', async () => {
    const path = freshPath();
    await open(path).close();
    const db = new DatabaseSync(path);
    db.exec(`UPDATE meta SET value = ${SQLITE_SCHEMA_VERSION + 1} WHERE name = 'schema_version'`);
    db.close();
    expect(() => new SqliteStore(path)).toThrow(/schema version/);
  });
});

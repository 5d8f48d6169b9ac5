/**
 * The store contract, run against every driver. A new driver joins by adding itself to
 * `drivers`. Randomized tests use a seeded generator, so every run is the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from './memory.js';
import { SqliteStore } from './sqlite.js';
import {
  isStoreError,
  StoreError,
  type KeyValue,
  type Store,
  type StoreErrorCode,
  type StoreEvent,
  type TxnOp,
} from './types.js';

interface DriverOptions {
  watchQueueLimit?: number;
}

interface Driver {
  name: string;
  open(options?: DriverOptions): Store;
}

let tmp = '';
let dbCount = 0;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'slipway-store-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const drivers: Driver[] = [
  { name: 'memory', open: (options) => new MemoryStore(options) },
  {
    name: 'sqlite',
    // A small compaction batch, so compaction always runs in several transactions here.
    open: (options) =>
      new SqliteStore(join(tmp, `store-${++dbCount}.db`), { ...options, compactBatchSize: 7 }),
  },
];

/** mulberry32: a small seeded generator. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Resolves with the error the promise rejects with (or a synchronous throw). */
async function errorOf(fn: () => unknown): Promise<StoreError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof StoreError) return err;
    throw err;
  }
  throw new Error('expected a StoreError, got success');
}

async function expectStoreError(
  fn: () => unknown,
  code: StoreErrorCode,
  revision?: number,
): Promise<StoreError> {
  const err = await errorOf(fn);
  expect(err.code).toBe(code);
  if (revision !== undefined) expect(err.revision).toBe(revision);
  return err;
}

/** A watch read one event at a time. */
function openWatch(store: Store, prefix: string, after: number) {
  const controller = new AbortController();
  const it = store.watch(prefix, after, controller.signal)[Symbol.asyncIterator]();
  return {
    controller,
    async next(): Promise<StoreEvent> {
      const r = await it.next();
      if (r.done) throw new Error('watch ended');
      return r.value;
    },
    async take(n: number): Promise<StoreEvent[]> {
      const out: StoreEvent[] = [];
      for (let i = 0; i < n; i++) out.push(await this.next());
      return out;
    },
    /** Resolves with whatever ends the watch: done or an error. */
    async end(): Promise<{ done: true } | { error: unknown }> {
      try {
        for (;;) if ((await it.next()).done) return { done: true };
      } catch (error) {
        return { error };
      }
    },
    close(): void {
      controller.abort();
    },
  };
}

/** Every event with revision > after under prefix, read until `count` have arrived. */
async function collect(store: Store, prefix: string, after: number, count: number) {
  const w = openWatch(store, prefix, after);
  try {
    return await w.take(count);
  } finally {
    w.close();
  }
}

/**
 * The expected behaviour, kept in the test: the live keys and the log of every change. Writes
 * go through here so each result is checked against it.
 */
class Model {
  readonly live = new Map<string, KeyValue>();
  readonly log: StoreEvent[] = [];
  revision = 0;

  apply(ops: readonly TxnOp[]): StoreEvent[] | StoreErrorCode {
    const staged = new Map(this.live);
    const events: StoreEvent[] = [];
    let rev = this.revision;
    for (const op of ops) {
      const prev = staged.get(op.key);
      if (op.op === 'create') {
        if (prev) return 'KeyExists';
        rev += 1;
        const kv = { key: op.key, value: op.value, createRevision: rev, modRevision: rev };
        staged.set(op.key, kv);
        events.push({ type: 'create', revision: rev, kv });
        continue;
      }
      if (!prev) return 'NotFound';
      if (op.expectedModRevision !== undefined && op.expectedModRevision !== prev.modRevision) {
        return 'Conflict';
      }
      rev += 1;
      if (op.op === 'update') {
        const kv = { ...prev, value: op.value, modRevision: rev };
        staged.set(op.key, kv);
        events.push({ type: 'update', revision: rev, kv, prev });
      } else {
        staged.delete(op.key);
        events.push({ type: 'delete', revision: rev, kv: { ...prev, modRevision: rev }, prev });
      }
    }
    this.live.clear();
    for (const [k, v] of staged) this.live.set(k, v);
    this.revision = rev;
    this.log.push(...events);
    return events;
  }

  /** Performs ops on the store as one txn (or a single call) and checks the outcome. */
  async write(store: Store, ops: readonly TxnOp[], asTxn: boolean): Promise<void> {
    const expected = this.apply(ops);
    const op = ops[0]!;
    const call = (): Promise<unknown> => {
      if (asTxn) return store.txn(ops);
      if (op.op === 'create') return store.create(op.key, op.value);
      if (op.op === 'update') return store.update(op.key, op.value, op.expectedModRevision);
      return store.delete(op.key, op.expectedModRevision);
    };
    if (typeof expected === 'string') {
      await expectStoreError(call, expected);
      return;
    }
    const result = await call();
    expect(result).toEqual(asTxn ? this.revision : expected[0]!.kv);
  }

  under(prefix: string, after = 0): StoreEvent[] {
    return this.log.filter((ev) => ev.revision > after && ev.kv.key.startsWith(prefix));
  }
}

describe.each(drivers)('$name store', (driver) => {
  const opened: Store[] = [];
  const open = (options?: DriverOptions): Store => {
    const store = driver.open(options);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  describe('single-key writes', () => {
    it('starts empty at revision 0', async () => {
      const store = open();
      expect(await store.currentRevision()).toBe(0);
      expect(await store.compactedRevision()).toBe(0);
      expect(await store.get('a')).toBeUndefined();
      expect(await store.list('')).toEqual({ items: [], revision: 0 });
    });

    it('create, get, update, delete with revisions that strictly increase', async () => {
      const store = open();
      const a = await store.create('a', 'v1');
      expect(a).toEqual({ key: 'a', value: 'v1', createRevision: 1, modRevision: 1 });
      expect(await store.get('a')).toEqual(a);
      const b = await store.create('b', 'x');
      expect(b.modRevision).toBe(2);

      const a2 = await store.update('a', 'v2', 1);
      expect(a2).toEqual({ key: 'a', value: 'v2', createRevision: 1, modRevision: 3 });
      expect(await store.get('a')).toEqual(a2);

      const gone = await store.delete('a', 3);
      expect(gone).toEqual({ key: 'a', value: 'v2', createRevision: 1, modRevision: 4 });
      expect(await store.get('a')).toBeUndefined();
      expect(await store.currentRevision()).toBe(4);

      const again = await store.create('a', 'v3');
      expect(again).toEqual({ key: 'a', value: 'v3', createRevision: 5, modRevision: 5 });
      expect(await store.delete('b')).toEqual({ ...b, modRevision: 6 });
      expect(await store.currentRevision()).toBe(6);
    });

    it('fails with KeyExists, NotFound and Conflict, and a failure uses no revision', async () => {
      const store = open();
      await store.create('a', 'v1');
      await store.update('a', 'v2', 1);

      const exists = await expectStoreError(() => store.create('a', 'x'), 'KeyExists', 2);
      expect(exists.key).toBe('a');
      expect(isStoreError(exists, 'KeyExists')).toBe(true);
      await expectStoreError(() => store.update('missing', 'x', 1), 'NotFound');
      await expectStoreError(() => store.delete('missing'), 'NotFound');
      const conflict = await expectStoreError(() => store.update('a', 'x', 1), 'Conflict', 2);
      expect(conflict.key).toBe('a');
      await expectStoreError(() => store.delete('a', 1), 'Conflict', 2);

      expect(await store.currentRevision()).toBe(2);
      expect(await store.get('a')).toEqual({
        key: 'a',
        value: 'v2',
        createRevision: 1,
        modRevision: 2,
      });
      // The next write takes the next revision: the failures left no hole.
      expect((await store.create('b', 'x')).modRevision).toBe(3);
    });

    it('an update of a deleted key is NotFound, even with its old revision', async () => {
      const store = open();
      await store.create('a', 'v1');
      await store.delete('a');
      await expectStoreError(() => store.update('a', 'x', 1), 'NotFound');
      await expectStoreError(() => store.delete('a', 2), 'NotFound');
    });

    it('stores values as given', async () => {
      const store = open();
      const value = JSON.stringify({
        text: 'ünïcødé 😀 \u0000 \n "quoted"',
        big: 'x'.repeat(100_000),
      });
      await store.create('k', value);
      expect((await store.get('k'))?.value).toBe(value);
      await store.create('empty', '');
      expect((await store.get('empty'))?.value).toBe('');
      await store.create('raw', 'a\u0000b');
      expect((await store.get('raw'))?.value).toBe('a\u0000b');
    });
  });

  describe('list', () => {
    const keys = ['a', 'a/', 'a/b', 'a/b/c', 'a/é', 'a/😀', 'ab', 'a%', 'a%/x', 'a_b', 'a_/x', 'b'];

    it('returns live keys under a prefix, sorted, with the current revision', async () => {
      const store = open();
      for (const key of [...keys].reverse()) await store.create(key, `v:${key}`);
      await store.update('a/b', 'changed', (await store.get('a/b'))!.modRevision);
      await store.delete('a/b/c');
      const all = await store.list('');
      expect(all.revision).toBe(keys.length + 2);
      expect(all.items.map((kv) => kv.key)).toEqual([...keys.filter((k) => k !== 'a/b/c')].sort());
      expect(all.items.find((kv) => kv.key === 'a/b')).toEqual({
        key: 'a/b',
        value: 'changed',
        createRevision: keys.length - keys.indexOf('a/b'),
        modRevision: keys.length + 1,
      });
    });

    it('matches the prefix exactly: no wildcards, no neighbours', async () => {
      const store = open();
      for (const key of keys) await store.create(key, 'v');
      const list = async (prefix: string) => (await store.list(prefix)).items.map((kv) => kv.key);
      expect(await list('a/')).toEqual(['a/', 'a/b', 'a/b/c', 'a/é', 'a/😀']);
      expect(await list('a/b')).toEqual(['a/b', 'a/b/c']);
      expect(await list('a/b/')).toEqual(['a/b/c']);
      expect(await list('a%')).toEqual(['a%', 'a%/x']);
      expect(await list('a_')).toEqual(['a_/x', 'a_b']);
      expect(await list('a/😀')).toEqual(['a/😀']);
      expect(await list('c')).toEqual([]);
      expect(await list('b')).toEqual(['b']);
      expect((await list('a')).length).toBe(keys.length - 1);
    });
  });

  describe('txn', () => {
    it('applies every op with consecutive revisions and returns the last', async () => {
      const store = open();
      await store.create('c', 'c0');
      await store.create('d', 'd0');
      const w = openWatch(store, '', 2);
      const rev = await store.txn([
        { op: 'create', key: 'a', value: 'a1' },
        { op: 'update', key: 'a', value: 'a2', expectedModRevision: 3 },
        { op: 'update', key: 'c', value: 'c1', expectedModRevision: 1 },
        { op: 'delete', key: 'd', expectedModRevision: 2 },
      ]);
      expect(rev).toBe(6);
      expect(await store.currentRevision()).toBe(6);
      expect(await store.get('a')).toEqual({
        key: 'a',
        value: 'a2',
        createRevision: 3,
        modRevision: 4,
      });
      expect(await store.get('c')).toEqual({
        key: 'c',
        value: 'c1',
        createRevision: 1,
        modRevision: 5,
      });
      expect(await store.get('d')).toBeUndefined();
      const events = await w.take(4);
      expect(events.map((ev) => [ev.type, ev.kv.key, ev.revision])).toEqual([
        ['create', 'a', 3],
        ['update', 'a', 4],
        ['update', 'c', 5],
        ['delete', 'd', 6],
      ]);
      w.close();
    });

    it.each<[string, TxnOp, StoreErrorCode]>([
      ['Conflict', { op: 'update', key: 'c', value: 'x', expectedModRevision: 99 }, 'Conflict'],
      ['KeyExists', { op: 'create', key: 'c', value: 'x' }, 'KeyExists'],
      ['NotFound', { op: 'delete', key: 'missing' }, 'NotFound'],
      ['KeyExists on its own earlier op', { op: 'create', key: 'new1', value: 'x' }, 'KeyExists'],
    ])(
      'is all-or-nothing: a failing op (%s) writes nothing and uses no revision',
      async (_name, failing, code) => {
        const store = open();
        const c = await store.create('c', 'c0');
        const d = await store.create('d', 'd0');
        const w = openWatch(store, '', 2);
        const err = await expectStoreError(
          () =>
            store.txn([
              { op: 'create', key: 'new1', value: 'x' },
              { op: 'update', key: 'c', value: 'c1', expectedModRevision: 1 },
              { op: 'delete', key: 'd', expectedModRevision: 2 },
              failing,
              { op: 'create', key: 'new2', value: 'x' },
            ]),
          code,
        );
        expect(err.key).toBe(failing.key);
        expect(await store.currentRevision()).toBe(2);
        expect(await store.get('new1')).toBeUndefined();
        expect(await store.get('new2')).toBeUndefined();
        expect(await store.get('c')).toEqual(c);
        expect(await store.get('d')).toEqual(d);
        expect((await store.list('')).items).toEqual([c, d]);
        // A watcher sees the next write at the next revision: no hole, nothing from the txn.
        await store.create('after', 'x');
        const ev = await w.next();
        expect([ev.type, ev.kv.key, ev.revision]).toEqual(['create', 'after', 3]);
        w.close();
      },
    );

    it('an empty txn changes nothing', async () => {
      const store = open();
      await store.create('a', 'x');
      expect(await store.txn([])).toBe(1);
      expect(await store.currentRevision()).toBe(1);
    });
  });

  describe('watch', () => {
    it('replays history after the revision, then follows live changes, with prev values', async () => {
      const store = open();
      await store.create('a', 'a1');
      await store.create('b', 'b1');
      await store.update('a', 'a2', 1);
      const w = openWatch(store, '', 1);
      const replayed = await w.take(2);
      expect(replayed).toEqual([
        {
          type: 'create',
          revision: 2,
          kv: { key: 'b', value: 'b1', createRevision: 2, modRevision: 2 },
        },
        {
          type: 'update',
          revision: 3,
          kv: { key: 'a', value: 'a2', createRevision: 1, modRevision: 3 },
          prev: { key: 'a', value: 'a1', createRevision: 1, modRevision: 1 },
        },
      ]);
      await store.delete('a');
      await store.create('c', 'c1');
      expect(await w.take(2)).toEqual([
        {
          type: 'delete',
          revision: 4,
          kv: { key: 'a', value: 'a2', createRevision: 1, modRevision: 4 },
          prev: { key: 'a', value: 'a2', createRevision: 1, modRevision: 3 },
        },
        {
          type: 'create',
          revision: 5,
          kv: { key: 'c', value: 'c1', createRevision: 5, modRevision: 5 },
        },
      ]);
      w.close();
    });

    it('filters by exact prefix', async () => {
      const store = open();
      const w = openWatch(store, 'a%', 0);
      for (const key of ['a', 'ab', 'a%', 'a_', 'a%/x', 'b%', 'a%%']) await store.create(key, 'v');
      await store.create('a%end', 'v');
      const events = await w.take(4);
      expect(events.map((ev) => ev.kv.key)).toEqual(['a%', 'a%/x', 'a%%', 'a%end']);
      w.close();
    });

    it('from a future revision yields only changes after it', async () => {
      const store = open();
      await store.create('a', 'v');
      const w = openWatch(store, '', 4);
      for (let i = 0; i < 5; i++) await store.create(`k${i}`, 'v');
      const ev = await w.next();
      expect(ev.revision).toBe(5);
      expect(ev.kv.key).toBe('k3');
      expect((await w.next()).revision).toBe(6);
      w.close();
    });

    it('ends quietly when its signal aborts, also while waiting', async () => {
      const store = open();
      await store.create('a', 'v');
      const w = openWatch(store, '', 0);
      expect((await w.next()).kv.key).toBe('a');
      const ended = w.end();
      await macrotask();
      w.close();
      expect(await ended).toEqual({ done: true });

      const aborted = new AbortController();
      aborted.abort();
      const events: StoreEvent[] = [];
      for await (const ev of store.watch('', 0, aborted.signal)) events.push(ev);
      expect(events).toEqual([]);
      // The store goes on working for other watchers.
      const w2 = openWatch(store, '', 0);
      await store.create('b', 'v');
      expect((await w2.take(2)).map((ev) => ev.kv.key)).toEqual(['a', 'b']);
      w2.close();
    });

    it('many watchers on overlapping prefixes each get their own complete stream', async () => {
      const store = open();
      const model = new Model();
      const prefixes = ['', 'x/', 'x/1', 'y/'];
      const watches = prefixes.map((p) => openWatch(store, p, 0));
      for (let i = 0; i < 30; i++) {
        await model.write(
          store,
          [{ op: 'create', key: `${i % 2 ? 'x' : 'y'}/${i}`, value: `${i}` }],
          false,
        );
      }
      for (const [i, p] of prefixes.entries()) {
        const expected = model.under(p);
        expect(await watches[i]!.take(expected.length)).toEqual(expected);
        watches[i]!.close();
      }
    });

    it('ends with TooSlow when the consumer falls too far behind, and not otherwise', async () => {
      const store = open({ watchQueueLimit: 5 });
      const slow = openWatch(store, '', 0);
      const fast = openWatch(store, '', 0);
      for (let i = 0; i < 10; i++) {
        await store.create(`k${i}`, 'v');
        expect((await fast.next()).revision).toBe(i + 1);
      }
      const end = await slow.end();
      expect('error' in end && isStoreError(end.error, 'TooSlow')).toBe(true);
      // A new watch from where the slow one was resumes fine.
      expect((await collect(store, '', 0, 10)).map((ev) => ev.revision)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
      ]);
      fast.close();
    });
  });

  describe('compaction', () => {
    /** A history with creates, updates, deletes and a re-create; returns the full event log. */
    async function history(store: Store): Promise<Model> {
      const model = new Model();
      const rand = prng(7);
      for (let i = 0; i < 60; i++) {
        const key = `k/${Math.floor(rand() * 8)}`;
        const cur = model.live.get(key);
        const op: TxnOp = !cur
          ? { op: 'create', key, value: `${i}` }
          : rand() < 0.3
            ? { op: 'delete', key, expectedModRevision: cur.modRevision }
            : { op: 'update', key, value: `${i}`, expectedModRevision: cur.modRevision };
        await model.write(store, [op], false);
      }
      return model;
    }

    it('keeps live state and the history after the point, and refuses watches below it', async () => {
      const store = open();
      const model = await history(store);
      const before = await store.list('');
      const head = model.revision;
      expect(head).toBe(60);

      for (const point of [13, 29, 30, 47, head]) {
        await store.compact(point);
        expect(await store.compactedRevision()).toBe(point);
        expect(await store.list('')).toEqual(before);
        for (const kv of before.items) expect(await store.get(kv.key)).toEqual(kv);
        // Everything after the point is still there, prev values included.
        const expected = model.under('', point);
        expect(await collect(store, '', point, expected.length)).toEqual(expected);
        const err = await expectStoreError(
          () => store.watch('', point - 1, new AbortController().signal),
          'Compacted',
          point,
        );
        expect(err.message).toContain(String(point - 1));
      }
    });

    it('never moves back and never beyond the current revision', async () => {
      const store = open();
      await history(store);
      await store.compact(40);
      await store.compact(20);
      expect(await store.compactedRevision()).toBe(40);
      await store.compact(1_000);
      expect(await store.compactedRevision()).toBe(60);
      expect(await store.currentRevision()).toBe(60);
    });

    it('does not reuse revisions of compacted-away rows', async () => {
      const store = open();
      await store.create('a', 'v');
      await store.delete('a');
      await store.compact(2);
      expect(await store.get('a')).toBeUndefined();
      expect(await store.list('')).toEqual({ items: [], revision: 2 });
      expect(await store.create('a', 'w')).toEqual({
        key: 'a',
        value: 'w',
        createRevision: 3,
        modRevision: 3,
      });
    });

    it('does not disturb an open watch', async () => {
      const store = open();
      const model = await history(store);
      const w = openWatch(store, '', 0);
      const first = await w.take(10);
      await store.compact(50);
      const rest = await w.take(50);
      expect([...first, ...rest]).toEqual(model.log);
      w.close();
    });
  });

  describe('close', () => {
    it('ends watches with Closed and refuses further use', async () => {
      const store = open();
      await store.create('a', 'v');
      const w = openWatch(store, '', 0);
      await w.next();
      const ended = w.end();
      await store.close();
      const end = await ended;
      expect('error' in end && isStoreError(end.error, 'Closed')).toBe(true);
      await expectStoreError(() => store.get('a'), 'Closed');
      await expectStoreError(() => store.list(''), 'Closed');
      await expectStoreError(() => store.create('b', 'v'), 'Closed');
      await expectStoreError(() => store.txn([{ op: 'create', key: 'b', value: 'v' }]), 'Closed');
      await expectStoreError(() => store.watch('', 0, new AbortController().signal), 'Closed');
      await expectStoreError(() => store.compact(1), 'Closed');
      await store.close();
    });
  });

  describe('reliability', () => {
    it('S1: 100 concurrent read-modify-write clients lose no update', async () => {
      const store = open();
      const created = await store.create('counter', '0');
      const clients = 100;
      const w = openWatch(store, 'counter', created.modRevision);
      const rand = prng(1);
      const successes: { expected: number; revision: number; value: number }[] = [];
      let conflicts = 0;
      const client = async (): Promise<void> => {
        for (let attempt = 0; attempt < 1_000; attempt++) {
          const cur = (await store.get('counter'))!;
          if (rand() < 0.5) await macrotask();
          const value = Number(cur.value) + 1;
          try {
            const kv = await store.update('counter', String(value), cur.modRevision);
            successes.push({ expected: cur.modRevision, revision: kv.modRevision, value });
            return;
          } catch (err) {
            if (!isStoreError(err, 'Conflict')) throw err;
            expect(err.revision).toBeGreaterThan(cur.modRevision);
            conflicts += 1;
          }
        }
        throw new Error('client gave up');
      };
      await Promise.all(Array.from({ length: clients }, client));

      expect(successes).toHaveLength(clients);
      expect(conflicts).toBeGreaterThan(0);
      // One success per revision: each success built on the one before it.
      const chain = [...successes].sort((a, b) => a.revision - b.revision);
      chain.forEach((s, i) => {
        expect(s.expected).toBe(i === 0 ? created.modRevision : chain[i - 1]!.revision);
        expect(s.revision).toBe(created.modRevision + i + 1);
        expect(s.value).toBe(i + 1);
      });
      expect((await store.get('counter'))?.value).toBe(String(clients));
      expect(await store.currentRevision()).toBe(created.modRevision + clients);
      const events = await w.take(clients);
      expect(events.map((ev) => ev.kv.value)).toEqual(chain.map((s) => String(s.value)));
      w.close();
    }, 30_000);

    it('S2: watchers that disconnect and resume see every change once, in order', async () => {
      const store = open();
      const model = new Model();
      const rand = prng(2);
      const keys = [
        ...Array.from({ length: 12 }, (_, i) => `a/${i}`),
        'a/1x',
        'a_1',
        ...Array.from({ length: 12 }, (_, i) => `b/${i}`),
      ];
      const pick = (): string => keys[Math.floor(rand() * keys.length)]!;
      /** A write that succeeds, given the key's current state. */
      const randomOp = (key: string): TxnOp => {
        const cur = model.live.get(key);
        const r = rand();
        if (!cur) return { op: 'create', key, value: `${r}` };
        if (r < 0.25) return { op: 'delete', key, expectedModRevision: cur.modRevision };
        if (r < 0.3) return { op: 'delete', key };
        return { op: 'update', key, value: `${r}`, expectedModRevision: cur.modRevision };
      };

      let writerDone = false;
      const live = new Set<AbortController>();
      const writes = 1_500;
      const writer = async (): Promise<void> => {
        for (let i = 0; i < writes; i++) {
          const r = rand();
          if (r < 0.15) {
            // A txn over distinct keys; now and then one that must fail as a whole.
            const txnKeys = [...new Set([pick(), pick(), pick()])];
            const ops = txnKeys.map(randomOp);
            if (rand() < 0.3)
              ops.push({ op: 'update', key: txnKeys[0]!, value: 'x', expectedModRevision: -1 });
            await model.write(store, ops, true);
          } else if (r < 0.2) {
            // A single write that must fail.
            const key = pick();
            const cur = model.live.get(key);
            await model.write(
              store,
              [
                cur
                  ? { op: 'create', key, value: 'dup' }
                  : { op: 'update', key, value: 'x', expectedModRevision: 1 },
              ],
              false,
            );
          } else {
            await model.write(store, [randomOp(pick())], false);
          }
          if (rand() < 0.2) await macrotask();
        }
        writerDone = true;
        for (const c of live) c.abort();
      };

      const watcher = async (prefix: string, seed: number): Promise<StoreEvent[]> => {
        const r = prng(seed);
        const seen: StoreEvent[] = [];
        let last = 0;
        const caughtUp = (): boolean => {
          if (!writerDone) return false;
          const mine = model.under(prefix);
          return last >= (mine.at(-1)?.revision ?? 0);
        };
        for (let connection = 0; connection < 100_000; connection++) {
          if (caughtUp()) return seen;
          const controller = new AbortController();
          live.add(controller);
          const budget = 1 + Math.floor(r() * 40);
          let n = 0;
          try {
            for await (const ev of store.watch(prefix, last, controller.signal)) {
              seen.push(ev);
              last = ev.revision;
              if (++n >= budget || caughtUp()) break;
              if (r() < 0.1) await macrotask();
            }
          } finally {
            live.delete(controller);
            controller.abort();
          }
        }
        throw new Error('watcher did not catch up');
      };

      const prefixes = ['', 'a/', 'a/1', 'b/', 'a_'];
      const [, ...streams] = await Promise.all([
        writer(),
        ...prefixes.map((p, i) => watcher(p, 100 + i)),
      ]);
      expect(model.log.length).toBeGreaterThan(writes * 0.8);
      expect(await store.currentRevision()).toBe(model.revision);
      for (const [i, prefix] of prefixes.entries()) {
        const revisions = streams[i]!.map((ev) => ev.revision);
        for (let j = 1; j < revisions.length; j++) {
          expect(revisions[j]!).toBeGreaterThan(revisions[j - 1]!);
        }
        expect(streams[i]!).toEqual(model.under(prefix));
      }

      // Resuming from any revision yields exactly the changes after it.
      const resume = prng(3);
      for (let i = 0; i < 25; i++) {
        const prefix = prefixes[i % prefixes.length]!;
        const from = Math.floor(resume() * model.revision);
        const expected = model.under(prefix, from);
        if (expected.length === 0) continue;
        expect(await collect(store, prefix, from, expected.length)).toEqual(expected);
      }
    }, 30_000);

    it('S3: a watch from a compacted revision fails; re-list and watch recovers', async () => {
      const store = open();
      for (let i = 0; i < 10; i++) await store.create(`k/${i}`, `${i}`);
      for (let i = 0; i < 5; i++) await store.update(`k/${i}`, `${i}!`, i + 1);
      await store.delete('k/9');
      const stale = 3;
      await store.compact(await store.currentRevision());

      await expectStoreError(
        () => store.watch('k/', stale, new AbortController().signal),
        'Compacted',
        16,
      );

      // The client's recovery: list, then watch from the list's revision.
      const listed = await store.list('k/');
      expect(listed.revision).toBe(16);
      const cache = new Map(listed.items.map((kv) => [kv.key, kv]));
      const w = openWatch(store, 'k/', listed.revision);
      await store.update('k/0', 'new', cache.get('k/0')!.modRevision);
      await store.delete('k/1');
      await store.create('k/9', 'back');
      for (const ev of await w.take(3)) {
        if (ev.type === 'delete') cache.delete(ev.kv.key);
        else cache.set(ev.kv.key, ev.kv);
      }
      const now = await store.list('k/');
      expect([...cache.values()].sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual(now.items);
      expect(now.revision).toBe(19);
      w.close();
    });
  });
});

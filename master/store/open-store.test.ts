import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from './memory.js';
import { openStore } from './open-store.js';
import { SqliteStore } from './sqlite.js';

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'slipway-open-store-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('openStore', () => {
  it('opens the memory driver for memory://', async () => {
    const store = await openStore('memory://');
    expect(store).toBeInstanceOf(MemoryStore);
    await store.close();
  });

  it('opens the sqlite driver at an absolute path for sqlite:///path', async () => {
    const path = join(tmp, 'abs', 'state.db');
    const store = await openStore(`sqlite://${path}`);
    expect(store).toBeInstanceOf(SqliteStore);
    expect((store as SqliteStore).path).toBe(path);
    await store.create('a', 'v');
    await store.close();
    expect(existsSync(path)).toBe(true);
  });

  it('resolves sqlite://relative/path against the given directory', async () => {
    const store = await openStore('sqlite://data/state.db', { cwd: tmp });
    expect((store as SqliteStore).path).toBe(join(tmp, 'data', 'state.db'));
    await store.close();
  });

  it('passes the watch queue limit on', async () => {
    const store = await openStore('memory://', { watchQueueLimit: 1 });
    const controller = new AbortController();
    const it = store.watch('', 0, controller.signal)[Symbol.asyncIterator]();
    await store.create('a', 'v');
    await store.create('b', 'v');
    await expect(it.next()).rejects.toMatchObject({ code: 'TooSlow' });
    await store.close();
  });

  it.each([
    ['postgres://db/slipway', /unknown store scheme/],
    ['state.db', /unknown store scheme/],
    ['', /unknown store scheme/],
    ['memory://somewhere', /memory:\/\/ takes no path/],
    ['sqlite://', /names no database file/],
    ['sqlite:///', /names no database file/],
    ['sqlite:///tmp/x.db?mode=ro', /no query/],
    ['etcd://127.0.0.1:2379', /etcd driver is not available in this build/],
  ])('refuses %j with a clear message', async (url, reason) => {
    const err = await openStore(url).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toMatch(reason);
    expect(message).toContain(`"${url}"`);
    expect(message).toContain('memory://');
    expect(message).toContain('sqlite:///');
  });
});

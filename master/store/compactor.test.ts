import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Compactor,
  DEFAULT_COMPACT_INTERVAL_MS,
  type CompactorLogger,
  type CompactorTimers,
} from './compactor.js';
import { MemoryStore } from './memory.js';
import { StoreError } from './types.js';

/** Timers that fire only when the test says so. */
class FakeTimers implements CompactorTimers {
  pending: { callback: () => void; ms: number; handle: number } | undefined;
  private next = 0;
  cleared = 0;

  setTimeout(callback: () => void, ms: number): unknown {
    if (this.pending) throw new Error('compactor scheduled two timers at once');
    this.pending = { callback, ms, handle: ++this.next };
    return this.next;
  }

  clearTimeout(handle: unknown): void {
    if (this.pending?.handle === handle) {
      this.pending = undefined;
      this.cleared += 1;
    }
  }

  /** Fires the pending timer and lets the tick it starts run to the end. */
  async fire(): Promise<void> {
    const pending = this.pending;
    if (!pending) throw new Error('no timer pending');
    this.pending = undefined;
    pending.callback();
    // Store calls resolve within microtasks; one macrotask turn runs them all.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function recordingLogger() {
  const lines: { level: string; obj: object; msg: string | undefined }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, msg });
    };
  const logger: CompactorLogger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
  return { logger, lines };
}

const stores: MemoryStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

async function storeAt(revision: number): Promise<MemoryStore> {
  const store = new MemoryStore();
  stores.push(store);
  await store.create('k', '0');
  for (let i = 2; i <= revision; i++) await store.update('k', String(i), i - 1);
  return store;
}

describe('Compactor', () => {
  it('accepts a pino logger', () => {
    const logger: CompactorLogger = pino({ level: 'silent' });
    expect(new Compactor(new MemoryStore(), { logger }).intervalMs).toBe(
      DEFAULT_COMPACT_INTERVAL_MS,
    );
  });

  it('compacts to the revision seen one interval earlier, keeping an interval of history', async () => {
    const store = await storeAt(10);
    const timers = new FakeTimers();
    const { logger, lines } = recordingLogger();
    const compactor = new Compactor(store, { logger, timers, intervalMs: 1_000 });
    compactor.start();
    expect(timers.pending?.ms).toBe(1_000);

    // First tick: nothing to compact yet; it remembers revision 10.
    await timers.fire();
    expect(await store.compactedRevision()).toBe(0);
    await store.update('k', '11', 10);
    await store.update('k', '12', 11);

    // Second tick: compacts to 10, remembers 12; a watcher at 10 can still resume.
    await timers.fire();
    expect(await store.compactedRevision()).toBe(10);
    const events = [];
    for await (const ev of store.watch('', 10, new AbortController().signal)) {
      events.push(ev.revision);
      if (events.length === 2) break;
    }
    expect(events).toEqual([11, 12]);

    // No writes in between: the third tick compacts to 12 and no further.
    await timers.fire();
    expect(await store.compactedRevision()).toBe(12);
    await timers.fire();
    expect(await store.compactedRevision()).toBe(12);

    expect(lines.filter((l) => l.level === 'info').map((l) => l.obj)).toEqual([
      { revision: 10, ms: expect.any(Number) as number },
      { revision: 12, ms: expect.any(Number) as number },
    ]);
    await compactor.stop();
    expect(timers.pending).toBeUndefined();
  });

  it('logs a failed compaction, keeps its target and tries again next tick', async () => {
    const store = await storeAt(5);
    const timers = new FakeTimers();
    const { logger, lines } = recordingLogger();
    let failures = 1;
    const flaky = {
      currentRevision: () => store.currentRevision(),
      compactedRevision: () => store.compactedRevision(),
      compact: (revision: number) =>
        failures-- > 0 ? Promise.reject(new Error('disk I/O error')) : store.compact(revision),
    };
    const compactor = new Compactor(flaky, { logger, timers });
    compactor.start();
    expect(timers.pending?.ms).toBe(DEFAULT_COMPACT_INTERVAL_MS);
    await timers.fire(); // observes 5
    await store.update('k', '6', 5);
    await timers.fire(); // fails compacting to 5
    expect(await store.compactedRevision()).toBe(0);
    expect(lines.find((l) => l.level === 'error')).toMatchObject({
      obj: { revision: 5 },
      msg: 'store compaction failed',
    });
    await timers.fire(); // compacts to 5 (the kept target), observes 6
    expect(await store.compactedRevision()).toBe(5);
    await timers.fire();
    expect(await store.compactedRevision()).toBe(6);
    await compactor.stop();
  });

  it('stops when the store is closed', async () => {
    const store = await storeAt(3);
    const timers = new FakeTimers();
    const { logger, lines } = recordingLogger();
    const closed = {
      currentRevision: () => Promise.reject(new StoreError('Closed', '', 'store closed')),
      compactedRevision: () => store.compactedRevision(),
      compact: (revision: number) => store.compact(revision),
    };
    const compactor = new Compactor(closed, { logger, timers });
    compactor.start();
    await timers.fire();
    expect(timers.pending).toBeUndefined();
    expect(lines.some((l) => l.level === 'warn')).toBe(true);
    await compactor.stop();
  });

  it('stop waits for a running compaction and schedules nothing more', async () => {
    const store = await storeAt(3);
    const timers = new FakeTimers();
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let compacted = false;
    const slow = {
      currentRevision: () => store.currentRevision(),
      compactedRevision: () => store.compactedRevision(),
      compact: async (revision: number) => {
        await gate;
        await store.compact(revision);
        compacted = true;
      },
    };
    const compactor = new Compactor(slow, { logger: recordingLogger().logger, timers });
    compactor.start();
    compactor.start(); // idempotent: still one timer
    await timers.fire();
    await store.update('k', '4', 3);
    await timers.fire(); // now blocked inside compact
    let stopped = false;
    const stopping = compactor.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(compacted).toBe(true);
    expect(timers.pending).toBeUndefined();
  });

  it('refuses a non-positive interval', () => {
    expect(
      () => new Compactor(new MemoryStore(), { logger: recordingLogger().logger, intervalMs: 0 }),
    ).toThrow(/positive/);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../api/index.js';
import { Controller, type ReconcileFn, type ReconcileResult } from './controller.js';
import { FakeClock, flush } from './testing/fake-clock.js';
import { RecordingLogger } from './testing/recording-logger.js';
import { WorkQueue } from './work-queue.js';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

function start(
  reconcile: ReconcileFn<string>,
  options: { workers?: number; waitFor?: { waitForSync(): Promise<boolean> }[] } = {},
): {
  clock: FakeClock;
  queue: WorkQueue;
  logger: RecordingLogger;
  abort: AbortController;
  done: Promise<void>;
} {
  const clock = new FakeClock();
  const queue = new WorkQueue({ clock });
  const logger = new RecordingLogger();
  const controller = new Controller({
    name: 'test-controller',
    queue,
    reconcile,
    logger,
    ...options,
  });
  const abort = new AbortController();
  const done = controller.run(abort.signal);
  stop = async () => {
    abort.abort();
    await done;
  };
  return { clock, queue, logger, abort, done };
}

describe('Controller', () => {
  it('reconciles queued keys and forgets their back-off on success', async () => {
    const seen: string[] = [];
    const { queue } = start(async (key) => {
      seen.push(key);
    });
    queue.add('ns/a');
    queue.add('ns/b');
    await flush();
    expect(seen).toEqual(['ns/a', 'ns/b']);
    expect(queue.numRequeues('ns/a')).toBe(0);
  });

  it('retries failures with per-key exponential back-off, then forgets', async () => {
    const attempts: number[] = [];
    let fail = 3;
    const { clock, queue, logger } = start(async () => {
      attempts.push(clock.now());
      if (fail-- > 0) throw new Error('docker is down');
    });
    queue.add('ns/a');
    await clock.tick(100);
    expect(attempts).toEqual([0, 5, 15, 35]);
    expect(queue.numRequeues('ns/a')).toBe(0);
    const errors = logger.records.filter((r) => r.level === 'error');
    expect(errors).toHaveLength(3);
    expect(errors[0]!.bindings).toEqual({ component: 'test-controller', key: 'ns/a' });
    expect(errors[0]!.msg).toBe('reconcile failed; requeuing');
  });

  it('requeueAfter re-adds the key after the delay', async () => {
    const attempts: number[] = [];
    const { clock, queue } = start(async (): Promise<ReconcileResult | void> => {
      attempts.push(clock.now());
      if (attempts.length < 3) return { requeueAfter: 1000 };
    });
    queue.add('ns/a');
    await clock.tick(5000);
    expect(attempts).toEqual([0, 1000, 2000]);
  });

  it('requeue: true re-adds the key with back-off and logs no error', async () => {
    const attempts: number[] = [];
    const { clock, queue, logger } = start(async (): Promise<ReconcileResult | void> => {
      attempts.push(clock.now());
      if (attempts.length < 3) return { requeue: true };
    });
    queue.add('ns/a');
    await clock.tick(100);
    expect(attempts).toEqual([0, 5, 15]);
    expect(logger.records.filter((r) => r.level === 'error')).toEqual([]);
  });

  it('requeues a Conflict with back-off, logged at debug level', async () => {
    let calls = 0;
    const { clock, queue, logger } = start(async () => {
      if (calls++ === 0) throw ApiError.conflict('pods', 'a', 'the object has been modified');
    });
    queue.add('ns/a');
    await clock.tick(5);
    expect(calls).toBe(2);
    expect(logger.records.filter((r) => r.level === 'error')).toEqual([]);
    expect(logger.records.some((r) => r.level === 'debug' && /conflict/.test(r.msg ?? ''))).toBe(
      true,
    );
  });

  it('never reconciles one key in two workers at once; other keys go in parallel', async () => {
    const gates = new Map<string, Deferred>();
    const running = new Set<string>();
    const log: string[] = [];
    let overlap = false;
    const { queue } = start(
      async (key) => {
        if (running.has(key)) overlap = true;
        running.add(key);
        log.push(`start ${key}`);
        const gate = deferred();
        gates.set(key, gate);
        await gate.promise;
        running.delete(key);
        log.push(`end ${key}`);
      },
      { workers: 3 },
    );
    queue.add('a');
    await flush();
    queue.add('a');
    queue.add('b');
    await flush();
    expect(log).toEqual(['start a', 'start b']);
    gates.get('a')!.resolve();
    await flush();
    expect(log).toEqual(['start a', 'start b', 'end a', 'start a']);
    gates.get('a')!.resolve();
    gates.get('b')!.resolve();
    await flush();
    expect(overlap).toBe(false);
    expect(queue.len()).toBe(0);
  });

  it('on abort lets in-flight reconciles finish and starts no new ones', async () => {
    const gate = deferred();
    const seen: string[] = [];
    let sawAbort = false;
    const { queue, abort, done } = start(
      async (key, signal) => {
        seen.push(key);
        if (key === 'slow') {
          await gate.promise;
          sawAbort = signal.aborted;
        }
      },
      { workers: 1 },
    );
    queue.add('slow');
    await flush();
    queue.add('next');
    abort.abort();
    let finished = false;
    void done.then(() => (finished = true));
    await flush();
    expect(finished).toBe(false);
    gate.resolve();
    await done;
    expect(sawAbort).toBe(true);
    expect(seen).toEqual(['slow']);
    expect(queue.shuttingDown).toBe(true);
  });

  it('waits for caches to sync before the first reconcile', async () => {
    const synced = deferred();
    const seen: string[] = [];
    const { queue } = start(
      async (key) => {
        seen.push(key);
      },
      { waitFor: [{ waitForSync: () => synced.promise.then(() => true) }] },
    );
    queue.add('ns/a');
    await flush();
    expect(seen).toEqual([]);
    synced.resolve();
    await flush();
    expect(seen).toEqual(['ns/a']);
  });

  it('returns without reconciling when the caches never sync', async () => {
    const seen: string[] = [];
    const { queue, done } = start(
      async (key) => {
        seen.push(key);
      },
      { waitFor: [{ waitForSync: async () => false }] },
    );
    queue.add('ns/a');
    await done;
    expect(seen).toEqual([]);
  });

  it('refuses to run twice at once', async () => {
    const queue = new WorkQueue();
    const controller = new Controller({
      name: 'c',
      queue,
      reconcile: async () => {},
      logger: new RecordingLogger(),
    });
    const abort = new AbortController();
    const first = controller.run(abort.signal);
    await expect(controller.run(abort.signal)).rejects.toThrow(/already running/);
    abort.abort();
    await first;
  });
});

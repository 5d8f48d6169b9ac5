import { describe, expect, it } from 'vitest';
import { ItemExponentialFailureRateLimiter } from './rate-limiter.js';
import { FakeClock, flush } from './testing/fake-clock.js';
import { WorkQueue } from './work-queue.js';

function setup(): { clock: FakeClock; queue: WorkQueue } {
  const clock = new FakeClock();
  return { clock, queue: new WorkQueue({ clock }) };
}

const PENDING = Symbol('pending');

/** Starts a get and reports what it resolved to, or PENDING. */
function pendingGet(queue: WorkQueue): { result: () => string | undefined | typeof PENDING } {
  let value: string | undefined | typeof PENDING = PENDING;
  void queue.get().then((v) => (value = v));
  return { result: () => value };
}

describe('WorkQueue', () => {
  it('hands items out in order and collapses repeated adds', async () => {
    const { queue } = setup();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.len()).toBe(2);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
    expect(queue.len()).toBe(0);
  });

  it('never hands a key to two workers; an add while processing re-queues it after done', async () => {
    const { queue } = setup();
    queue.add('a');
    expect(await queue.get()).toBe('a');
    queue.add('a');
    queue.add('a');
    expect(queue.len()).toBe(0);
    const second = pendingGet(queue);
    await flush();
    expect(second.result()).toBe(PENDING);
    queue.done('a');
    await flush();
    expect(second.result()).toBe('a');
    queue.done('a');
    expect(queue.len()).toBe(0);
  });

  it('does not re-queue a key that was not added while processing', async () => {
    const { queue } = setup();
    queue.add('a');
    await queue.get();
    queue.done('a');
    expect(queue.len()).toBe(0);
  });

  it('wakes a blocked get when an item arrives', async () => {
    const { queue } = setup();
    const g = pendingGet(queue);
    await flush();
    expect(g.result()).toBe(PENDING);
    queue.add('x');
    await flush();
    expect(g.result()).toBe('x');
  });

  it('addAfter delays; an earlier due time wins, a later one does not postpone', () => {
    const { clock, queue } = setup();
    queue.addAfter('a', 100);
    queue.addAfter('a', 300);
    clock.advance(99);
    expect(queue.len()).toBe(0);
    clock.advance(1);
    expect(queue.len()).toBe(1);
    expect(clock.pending()).toBe(0);

    queue.addAfter('b', 300);
    queue.addAfter('b', 50);
    clock.advance(50);
    expect(queue.len()).toBe(2);
    expect(clock.pending()).toBe(0);
  });

  it('addAfter with no delay adds at once', () => {
    const { queue } = setup();
    queue.addAfter('a', 0);
    expect(queue.len()).toBe(1);
  });

  it('addRateLimited backs off per key until forget', () => {
    const { clock, queue } = setup();
    const due = (): number => {
      const start = clock.now();
      queue.addRateLimited('a');
      const at = clock.nextDue()! - start;
      clock.advance(at);
      return at;
    };
    expect([due(), due(), due(), due()]).toEqual([5, 10, 20, 40]);
    expect(queue.numRequeues('a')).toBe(4);
    queue.forget('a');
    expect(due()).toBe(5);
  });

  it('takes a custom rate limiter', () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({
      clock,
      rateLimiter: new ItemExponentialFailureRateLimiter({ baseDelayMs: 1000, maxDelayMs: 1500 }),
    });
    queue.addRateLimited('a');
    clock.advance(999);
    expect(queue.len()).toBe(0);
    clock.advance(1);
    expect(queue.len()).toBe(1);
  });

  it('shutDown releases blocked getters, ignores adds and drops delayed adds', async () => {
    const { clock, queue } = setup();
    const g = pendingGet(queue);
    queue.addAfter('later', 10);
    await flush();
    queue.shutDown();
    await flush();
    expect(g.result()).toBeUndefined();
    expect(queue.shuttingDown).toBe(true);
    expect(clock.pending()).toBe(0);
    queue.add('a');
    queue.addRateLimited('b');
    expect(queue.len()).toBe(0);
    expect(await queue.get()).toBeUndefined();
  });

  it('still hands out what was queued before shutDown', async () => {
    const { queue } = setup();
    queue.add('a');
    queue.add('b');
    queue.shutDown();
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
    expect(await queue.get()).toBeUndefined();
  });

  it('shutDownWithDrain waits until items in flight are done', async () => {
    const { queue } = setup();
    queue.add('a');
    queue.add('b');
    const a = (await queue.get())!;
    const b = (await queue.get())!;
    let drained = false;
    const drain = queue.shutDownWithDrain().then(() => (drained = true));
    queue.done(a);
    await flush();
    expect(drained).toBe(false);
    queue.done(b);
    await drain;
    expect(drained).toBe(true);
  });

  it('shutDownWithDrain resolves at once when nothing is in flight', async () => {
    const { queue } = setup();
    await queue.shutDownWithDrain();
    expect(queue.shuttingDown).toBe(true);
  });
});

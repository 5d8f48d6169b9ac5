import { describe, expect, it } from 'vitest';
import { ItemExponentialFailureRateLimiter } from './rate-limiter.js';

describe('ItemExponentialFailureRateLimiter', () => {
  it('doubles per item from 5 ms and caps at 1000 s by default', () => {
    const rl = new ItemExponentialFailureRateLimiter<string>();
    expect([1, 2, 3, 4].map(() => rl.when('a'))).toEqual([5, 10, 20, 40]);
    expect(rl.when('b')).toBe(5);
    expect(rl.numRequeues('a')).toBe(4);
    for (let i = 0; i < 30; i++) rl.when('a');
    expect(rl.when('a')).toBe(1_000_000);
  });

  it('forget resets an item', () => {
    const rl = new ItemExponentialFailureRateLimiter<string>({ baseDelayMs: 1, maxDelayMs: 3 });
    expect([rl.when('a'), rl.when('a'), rl.when('a')]).toEqual([1, 2, 3]);
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
    expect(rl.when('a')).toBe(1);
  });

  it('returns the cap instead of overflowing', () => {
    const rl = new ItemExponentialFailureRateLimiter<string>({ baseDelayMs: 1, maxDelayMs: 7 });
    for (let i = 0; i < 2000; i++) rl.when('a');
    expect(rl.when('a')).toBe(7);
  });
});

import { describe, expect, it } from 'vitest';
import { formatDuration, PullBackoff, restartTiming } from './backoff.js';

const config = { baseMs: 10_000, capMs: 300_000, resetAfterMs: 600_000 };

describe('restartTiming', () => {
  it('restarts at once, then after 10, 20, 40, 80, 160, 300, 300 s', () => {
    const waits: number[] = [];
    let backoffMs = 0; // the first instance
    for (let i = 0; i < 8; i++) {
      const t = restartTiming({ backoffMs, startedAt: 0, finishedAt: 1000 }, config);
      waits.push(t.waitMs / 1000);
      backoffMs = t.nextBackoffMs;
    }
    expect(waits).toEqual([0, 10, 20, 40, 80, 160, 300, 300]);
  });

  it('starts over after an instance ran for the reset period', () => {
    const t = restartTiming({ backoffMs: 160_000, startedAt: 0, finishedAt: 600_000 }, config);
    expect(t).toEqual({ waitMs: 0, nextBackoffMs: 10_000 });
    const short = restartTiming({ backoffMs: 160_000, startedAt: 0, finishedAt: 599_999 }, config);
    expect(short).toEqual({ waitMs: 160_000, nextBackoffMs: 300_000 });
  });

  it('caps a recorded back-off larger than the configured cap', () => {
    expect(restartTiming({ backoffMs: 1e9, startedAt: undefined, finishedAt: 5 }, config)).toEqual({
      waitMs: 300_000,
      nextBackoffMs: 300_000,
    });
  });
});

describe('formatDuration', () => {
  it("prints as Go's time.Duration does", () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(200)).toBe('200ms');
    expect(formatDuration(1600)).toBe('1.6s');
    expect(formatDuration(10_000)).toBe('10s');
    expect(formatDuration(80_000)).toBe('1m20s');
    expect(formatDuration(300_000)).toBe('5m0s');
    expect(formatDuration(3_600_000)).toBe('1h0m0s');
  });
});

describe('PullBackoff', () => {
  it('doubles per image and container, and forgets on success or another image', () => {
    const b = new PullBackoff(config);
    expect(b.remaining('u/app', 'x:1', 0)).toBe(0);
    expect(b.failed('u/app', 'x:1', 0)).toBe(10_000);
    expect(b.remaining('u/app', 'x:1', 4000)).toBe(6000);
    expect(b.failed('u/app', 'x:1', 10_000)).toBe(20_000);
    expect(b.remaining('u/app', 'x:2', 10_000)).toBe(0);
    expect(b.failed('u/app', 'x:2', 10_000)).toBe(10_000);
    b.succeeded('u/app');
    expect(b.remaining('u/app', 'x:2', 10_001)).toBe(0);
    b.failed('u/web', 'x:1', 0);
    b.forgetPod('u');
    expect(b.remaining('u/web', 'x:1', 1)).toBe(0);
  });
});

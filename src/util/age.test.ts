import { describe, expect, it } from 'vitest';
import { age, humanDuration } from './age.js';

describe('humanDuration', () => {
  it.each([
    [0, '0s'],
    [45_000, '45s'],
    [119_000, '119s'],
    [192_000, '3m12s'],
    [600_000, '10m'],
    [3 * 3600_000 + 5 * 60_000, '3h5m'],
    [20 * 3600_000, '20h'],
    [50 * 3600_000, '2d2h'],
    [400 * 86400_000, '400d'],
    [-5_000, '0s'],
  ])('%d ms -> %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it('handles missing and bad timestamps', () => {
    const now = new Date('2026-01-01T00:01:00Z');
    expect(age('2026-01-01T00:00:00Z', now)).toBe('60s');
    expect(age(undefined, now)).toBe('<unknown>');
    expect(age('yesterday', now)).toBe('<invalid>');
  });
});

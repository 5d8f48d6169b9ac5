/**
 * Durations in component configuration (agent, router): `250ms`, `10s`, `1.5m`, `2h`, `1m30s`;
 * plain digits are seconds; numbers are milliseconds. One parser, and the zod schemas built on
 * it, so every component reads a duration the same way.
 */
import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds; throws with the value and examples when it is not a duration. */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`invalid duration ${value}`);
    return Math.round(value);
  }
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`"${value}" is not a duration (e.g. 200ms, 10s, 5m, 1h)`);
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0));
}

/** A config field holding a duration, as milliseconds. */
export const durationSchema = z.union([z.number(), z.string()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** The same, refusing zero. */
export const positiveDurationSchema = durationSchema.refine(
  (ms) => ms > 0,
  'must be greater than zero',
);

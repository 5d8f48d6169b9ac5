/**
 * `maxSurge` / `maxUnavailable`: an integer or a percentage string (`25%`), as Kubernetes'
 * IntOrString, and how a rolling update turns the pair into pod counts.
 */
import { z } from 'zod';
import type { StatusCause } from '../errors.js';

export type IntOrPercent = number | string;

export const intOrPercentSchema = z.union([z.number().int(), z.string()]);

const percentRe = /^(\d{1,9})%$/;

/** Problems with one value at `field`; `max100`: a percentage above 100 is refused. */
export function validateIntOrPercent(
  value: IntOrPercent | undefined,
  field: string,
  max100 = false,
): StatusCause[] {
  if (value === undefined) return [];
  if (typeof value === 'number') {
    return value < 0
      ? [{ field, message: `Invalid value: ${value}: must be greater than or equal to 0` }]
      : [];
  }
  const m = percentRe.exec(value);
  if (!m) {
    return [
      {
        field,
        message: `Invalid value: ${JSON.stringify(value)}: must be an integer or percentage (e.g. '5%')`,
      },
    ];
  }
  if (max100 && Number(m[1]) > 100) {
    return [
      { field, message: `Invalid value: ${JSON.stringify(value)}: must not be greater than 100%` },
    ];
  }
  return [];
}

/**
 * Problems with a rolling update's pair at `base` (`base.maxSurge`, `base.maxUnavailable`): each
 * a valid value, maxUnavailable at most 100%, and not both 0. `surge` is how the message names
 * maxSurge (Kubernetes writes it in backquotes).
 */
export function validateFenceposts(
  params: { maxSurge?: IntOrPercent; maxUnavailable?: IntOrPercent },
  base: string,
  surge = 'maxSurge',
): StatusCause[] {
  const causes = [
    ...validateIntOrPercent(params.maxSurge, `${base}.maxSurge`),
    ...validateIntOrPercent(params.maxUnavailable, `${base}.maxUnavailable`, true),
  ];
  if (isZero(params.maxSurge) && isZero(params.maxUnavailable)) {
    causes.push({
      field: `${base}.maxUnavailable`,
      message: `Invalid value: ${JSON.stringify(params.maxUnavailable)}: may not be 0 when ${surge} is 0`,
      reason: 'FieldValueInvalid',
    });
  }
  return causes;
}

/** True when the value means zero pods whatever the replica count (`0`, `0%`). */
export function isZero(value: IntOrPercent | undefined): boolean {
  if (value === undefined) return false;
  if (typeof value === 'number') return value === 0;
  const m = percentRe.exec(value);
  return m !== null && Number(m[1]) === 0;
}

/** Kubernetes' GetScaledValueFromIntOrPercent: a percentage of `total`, rounded up or down. */
export function scaledValue(
  value: IntOrPercent | undefined,
  total: number,
  roundUp: boolean,
): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return Math.max(0, value);
  const m = percentRe.exec(value);
  if (!m) return 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** How many pods above and below the desired count a rolling update may go. */
export interface Fenceposts {
  maxSurge: number;
  maxUnavailable: number;
}

/**
 * Kubernetes' ResolveFenceposts: maxSurge rounds up, maxUnavailable rounds down; when both come
 * to 0 (a percentage of few replicas), maxUnavailable becomes 1 so the rollout can move.
 */
export function resolveFenceposts(
  maxSurge: IntOrPercent | undefined,
  maxUnavailable: IntOrPercent | undefined,
  replicas: number,
): Fenceposts {
  const surge = scaledValue(maxSurge, replicas, true);
  let unavailable = scaledValue(maxUnavailable, replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { maxSurge: surge, maxUnavailable: Math.min(unavailable, Math.max(replicas, 1)) };
}

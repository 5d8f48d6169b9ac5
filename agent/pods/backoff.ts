/**
 * Restart and image-pull back-off, as kubelet applies them: the first restart is immediate, then
 * the base delay doubling to the cap; a container that ran for `resetAfterMs` starts over.
 *
 * Restart back-off is stateless: each container instance carries in a label the delay to wait
 * after it dies, so a restarted agent continues a CrashLoopBackOff where it was. Pull back-off
 * lives in memory (kubelet's does too); an agent restart retries pulls at once.
 */
import type { BackoffConfig } from '../config.js';

export interface RestartTiming {
  /** Wait this long after the instance finished before starting the next one. */
  waitMs: number;
  /** What the next instance records as its own back-off. */
  nextBackoffMs: number;
}

/** The back-off for restarting after `instance` died. Times in ms since the epoch. */
export function restartTiming(
  instance: { backoffMs: number; startedAt: number | undefined; finishedAt: number | undefined },
  config: BackoffConfig,
): RestartTiming {
  const ran =
    instance.startedAt !== undefined && instance.finishedAt !== undefined
      ? instance.finishedAt - instance.startedAt
      : 0;
  const effective = ran >= config.resetAfterMs ? 0 : Math.min(instance.backoffMs, config.capMs);
  return {
    waitMs: effective,
    nextBackoffMs: effective === 0 ? config.baseMs : Math.min(effective * 2, config.capMs),
  };
}

/** A duration as Go's time.Duration prints it (kubelet's messages): `200ms`, `1.6s`, `5m0s`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const secondsMs = total % 60_000;
  const seconds = (secondsMs / 1000).toFixed(3).replace(/\.?0+$/, '');
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

interface PullEntry {
  image: string;
  failures: number;
  retryAt: number;
}

/** Per pod container image-pull back-off (kubelet's ImagePullBackOff), in memory. */
export class PullBackoff {
  readonly #config: BackoffConfig;
  readonly #entries = new Map<string, PullEntry>();

  constructor(config: BackoffConfig) {
    this.#config = config;
  }

  /** Milliseconds until a pull of `image` for `key` may be tried again; 0 when it may now. */
  remaining(key: string, image: string, now: number): number {
    const e = this.#entries.get(key);
    if (!e || e.image !== image) return 0;
    return Math.max(0, e.retryAt - now);
  }

  /** Records a failed pull; returns the delay before the next try. */
  failed(key: string, image: string, now: number): number {
    const prev = this.#entries.get(key);
    const failures = prev && prev.image === image ? prev.failures + 1 : 1;
    const delay = Math.min(this.#config.baseMs * 2 ** (failures - 1), this.#config.capMs);
    this.#entries.set(key, { image, failures, retryAt: now + delay });
    return delay;
  }

  succeeded(key: string): void {
    this.#entries.delete(key);
  }

  /** Forgets every entry of a pod (`uid/...` keys). */
  forgetPod(uid: string): void {
    for (const key of [...this.#entries.keys()]) {
      if (key.startsWith(`${uid}/`)) this.#entries.delete(key);
    }
  }
}

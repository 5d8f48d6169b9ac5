import { systemClock, type Clock } from '../../../src/reconcile/index.js';

/** Kubernetes' ExpectationsTimeout: expectations older than this are given up on. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Expectation {
  /** Creations not yet seen by the informer. */
  add: number;
  /** Keys (`namespace/name`) of pods whose deletion has not been seen yet. */
  deletions: Set<string>;
  /** When they were set, on the clock. */
  at: number;
}

/**
 * Kubernetes' ControllerExpectations with UID-tracked deletions: after a controller creates or
 * deletes pods it waits, before acting again, until its informer has seen them (or the
 * expectations expire), so a cache that lags never makes it create or delete twice. Keyed by
 * the controller's `namespace/name`. A deletion is counted once per pod, whether the informer
 * first sees it terminating or gone.
 */
export class Expectations {
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #entries = new Map<string, Expectation>();

  constructor(options: { clock?: Clock; timeoutMs?: number } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = options.timeoutMs ?? EXPECTATIONS_TIMEOUT_MS;
  }

  /** True when the controller may act: nothing expected, all of it seen, or it expired. */
  satisfied(key: string): boolean {
    const e = this.#entries.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.deletions.size === 0) return true;
    return this.#clock.now() - e.at >= this.#timeoutMs;
  }

  /** About to create `add` pods and delete these (replaces earlier expectations). */
  expect(key: string, add: number, deletions: readonly string[] = []): void {
    this.#entries.set(key, { add, deletions: new Set(deletions), at: this.#clock.now() });
  }

  /** A pod of the controller was seen created, or a create failed or was skipped. */
  creationObserved(key: string): void {
    const e = this.#entries.get(key);
    if (e) e.add -= 1;
  }

  /** A pod was seen deleted or terminating, or its delete failed. */
  deletionObserved(key: string, podKey: string): void {
    this.#entries.get(key)?.deletions.delete(podKey);
  }

  /** The controller is gone. */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  /** What is still expected, for logs and tests. */
  pending(key: string): { add: number; del: number } | undefined {
    const e = this.#entries.get(key);
    return e && { add: e.add, del: e.deletions.size };
  }
}

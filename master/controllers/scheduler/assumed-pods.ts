import type { Pod } from '../../../src/api/index.js';
import type { Clock } from '../../../src/reconcile/index.js';

interface Assumed {
  pod: Pod;
  at: number;
}

/**
 * kube-scheduler's assume cache: pods the scheduler has placed whose binding the pod informer
 * has not delivered yet. Counting them on their node keeps two quick pods from both taking the
 * last room on it. An entry goes when the informer shows the pod bound (`confirm`), when the
 * pod is deleted or the binding fails (`forget`), or after `ttlMs` as a guard against leaks.
 */
export class AssumedPods {
  readonly #byUid = new Map<string, Assumed>();
  readonly #clock: Clock;
  readonly #ttlMs: number;

  constructor(clock: Clock, ttlMs: number) {
    this.#clock = clock;
    this.#ttlMs = ttlMs;
  }

  /** Records `pod` as placed on `nodeName` (a copy with spec.nodeName set is kept). */
  assume(pod: Pod, nodeName: string): void {
    const uid = uidOf(pod);
    const placed: Pod = { ...pod, spec: { ...pod.spec, nodeName } };
    this.#byUid.set(uid, { pod: placed, at: this.#clock.now() });
  }

  has(pod: Pod): boolean {
    this.#expire();
    return this.#byUid.has(uidOf(pod));
  }

  /** The informer shows the pod bound: the cache counts it from now on. */
  confirm(pod: Pod): void {
    this.#byUid.delete(uidOf(pod));
  }

  forget(pod: Pod): void {
    this.#byUid.delete(uidOf(pod));
  }

  /** Assumed pods on `nodeName`, leaving out those whose uids the caller already counts. */
  onNode(nodeName: string, counted: ReadonlySet<string>): Pod[] {
    this.#expire();
    const out: Pod[] = [];
    for (const [uid, { pod }] of this.#byUid) {
      if (pod.spec.nodeName === nodeName && !counted.has(uid)) out.push(pod);
    }
    return out;
  }

  get size(): number {
    return this.#byUid.size;
  }

  #expire(): void {
    const now = this.#clock.now();
    for (const [uid, entry] of this.#byUid) {
      if (now - entry.at > this.#ttlMs) this.#byUid.delete(uid);
    }
  }
}

function uidOf(pod: Pod): string {
  return pod.metadata.uid ?? `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}

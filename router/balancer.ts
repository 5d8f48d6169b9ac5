/**
 * Picks a target of a backend: a sticky cookie first, then the route's balance algorithm
 * (roundrobin by default, leastconn, source, random), always by the targets' weights. State
 * (round-robin positions) is keyed by the backend's target list, which the table keeps
 * identical across rebuilds while a backend does not change.
 */
import type { Backend, Target } from './route-table.js';

/** Requests in flight per target key, for leastconn. */
export interface ActiveCounts {
  active(targetKey: string): number;
}

interface RoundRobin {
  /** Plain rotation when weights are uniform. */
  next: number;
  /** Smooth weighted round robin (nginx's): current weights. */
  current: number[] | undefined;
}

/** FNV-1a: a fast, stable 32-bit hash for source balancing. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The target at `point` in [0, total) along the cumulative weights. */
function byWeight(targets: readonly Target[], point: number): Target {
  let acc = 0;
  for (const t of targets) {
    acc += t.weight;
    if (point < acc) return t;
  }
  return targets[targets.length - 1]!;
}

export class Balancer {
  readonly #state = new WeakMap<readonly Target[], RoundRobin>();
  readonly #counts: ActiveCounts;
  readonly #random: () => number;

  constructor(counts: ActiveCounts, random: () => number = Math.random) {
    this.#counts = counts;
    this.#random = random;
  }

  /**
   * The target for a request, or undefined when the backend has none. `sticky` is the value of
   * the backend's cookie in the request, if any; `exclude` holds targets already tried.
   */
  pick(
    backend: Backend,
    clientIp: string,
    sticky?: string,
    exclude?: ReadonlySet<string>,
  ): Target | undefined {
    let targets = backend.targets;
    if (exclude && exclude.size > 0) targets = targets.filter((t) => !exclude.has(t.key));
    if (targets.length === 0) return undefined;
    if (sticky !== undefined) {
      for (const t of targets) if (t.cookie === sticky) return t;
    }
    if (targets.length === 1) return targets[0];
    switch (backend.balance) {
      case 'leastconn':
        return this.#leastConn(targets);
      case 'source':
        return byWeight(targets, (fnv1a(clientIp) / 0x1_0000_0000) * total(targets));
      case 'random':
        return byWeight(targets, this.#random() * total(targets));
      default:
        return this.#roundRobin(targets, backend.uniformWeights);
    }
  }

  #roundRobin(targets: readonly Target[], uniform: boolean): Target {
    let rr = this.#state.get(targets);
    if (!rr) {
      rr = { next: 0, current: undefined };
      this.#state.set(targets, rr);
    }
    if (uniform) {
      const t = targets[rr.next % targets.length]!;
      rr.next = (rr.next + 1) % targets.length;
      return t;
    }
    const current = (rr.current ??= targets.map(() => 0));
    const sum = total(targets);
    let best = 0;
    for (let i = 0; i < targets.length; i++) {
      current[i]! += targets[i]!.weight;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= sum;
    return targets[best]!;
  }

  /** Fewest requests in flight per unit of weight; ties rotate so load spreads. */
  #leastConn(targets: readonly Target[]): Target {
    let rr = this.#state.get(targets);
    if (!rr) {
      rr = { next: 0, current: undefined };
      this.#state.set(targets, rr);
    }
    const start = rr.next;
    rr.next = (rr.next + 1) % targets.length;
    let best: Target | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(start + i) % targets.length]!;
      const score = (this.#counts.active(t.key) + 1) / t.weight;
      if (score < bestScore) {
        best = t;
        bestScore = score;
      }
    }
    return best!;
  }
}

function total(targets: readonly Target[]): number {
  let n = 0;
  for (const t of targets) n += t.weight;
  return n;
}

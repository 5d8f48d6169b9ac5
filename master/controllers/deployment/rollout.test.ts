import { describe, expect, it } from 'vitest';
import { resolveFenceposts } from '../../../src/api/kinds/int-or-percent.js';
import { progressMark, recreateStep, rollingStep, type SetCounts, type Step } from './rollout.js';

const set = (name: string, replicas: number, pods = replicas, available = pods): SetCounts => ({
  name,
  replicas,
  existing: pods,
  active: pods,
  available,
});

const F = resolveFenceposts('25%', '25%', 4);

describe('resolveFenceposts', () => {
  it('rounds maxSurge up and maxUnavailable down, and never leaves both at 0', () => {
    expect(resolveFenceposts('25%', '25%', 4)).toEqual({ maxSurge: 1, maxUnavailable: 1 });
    expect(resolveFenceposts('25%', '25%', 3)).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(resolveFenceposts('10%', '10%', 3)).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(resolveFenceposts(0, '10%', 3)).toEqual({ maxSurge: 0, maxUnavailable: 1 });
    expect(resolveFenceposts(2, 0, 10)).toEqual({ maxSurge: 2, maxUnavailable: 0 });
  });
});

describe('rollingStep', () => {
  it('scales a first rollout up at once', () => {
    expect(rollingStep(4, F, set('web-1', 0), [])).toEqual({
      type: 'scale',
      scales: [{ name: 'web-1', from: 0, to: 4 }],
    });
  });

  it('surges by maxSurge, then scales old down only as new pods become available', () => {
    const old = set('web-1', 4);
    expect(rollingStep(4, F, set('web-2', 0), [old])).toEqual({
      type: 'scale',
      scales: [{ name: 'web-2', from: 0, to: 1 }],
    });
    // The new pod exists but is not available: 5 pods, 4 available; one old may go.
    expect(rollingStep(4, F, set('web-2', 1, 1, 0), [old])).toEqual({
      type: 'scale',
      scales: [{ name: 'web-1', from: 4, to: 3 }],
    });
    // Old is at 3 but its 4th pod is still terminating: no room to surge, nothing to do.
    const terminating: SetCounts = {
      name: 'web-1',
      replicas: 3,
      existing: 4,
      active: 3,
      available: 3,
    };
    expect(rollingStep(4, F, set('web-2', 1, 1, 0), [terminating]).type).toBe('wait');
    // It is gone: the new set grows.
    expect(rollingStep(4, F, set('web-2', 1, 1, 0), [set('web-1', 3)])).toEqual({
      type: 'scale',
      scales: [{ name: 'web-2', from: 1, to: 2 }],
    });
    // Two new, one available: 3 available in all, no old pod may go yet.
    expect(rollingStep(4, F, set('web-2', 2, 2, 1), [set('web-1', 3)]).type).toBe('scale');
  });

  it('counts old pods beyond their spec as going, and not yet created pods as there', () => {
    // The spec says 3 but 4 pods are still active: only 3 count as available.
    const old: SetCounts = { name: 'web-1', replicas: 3, existing: 4, active: 4, available: 4 };
    const step = rollingStep(4, F, set('web-2', 1, 0, 0), [old]);
    expect(step).toEqual({ type: 'wait', message: expect.stringContaining('old pods') as unknown });
  });

  it('removes unavailable old pods first, even when no old pod is available', () => {
    const broken = set('web-1', 4, 4, 0);
    expect(rollingStep(4, F, set('web-2', 1, 1, 1), [broken])).toEqual({
      type: 'scale',
      scales: [{ name: 'web-1', from: 4, to: 2 }],
    });
  });

  it('charges removed unavailable pods to the budget when the set also has available ones', () => {
    // 3 of 4 old pods available, the new one not yet: 3 available, 3 must stay. Removing the
    // unavailable old pod could take an available one if the replication controller picked
    // badly, so nothing goes yet.
    expect(rollingStep(4, F, set('web-2', 1, 1, 0), [set('web-1', 4, 4, 3)]).type).toBe('wait');
    // Once the new pod is available, one old pod may go.
    expect(rollingStep(4, F, set('web-2', 1, 1, 1), [set('web-1', 4, 4, 3)])).toEqual({
      type: 'scale',
      scales: [{ name: 'web-1', from: 4, to: 3 }],
    });
  });

  it('completes when the new set is full and available and no old pod is active', () => {
    const gone: SetCounts = { name: 'web-1', replicas: 0, existing: 1, active: 0, available: 0 };
    expect(rollingStep(4, F, set('web-2', 4), [gone])).toEqual({ type: 'complete' });
    expect(rollingStep(4, F, set('web-2', 4, 4, 3), [gone]).type).toBe('wait');
  });

  it('shrinks the new set when the desired count went down', () => {
    expect(rollingStep(2, F, set('web-2', 4), [])).toEqual({
      type: 'scale',
      scales: [{ name: 'web-2', from: 4, to: 2 }],
    });
  });
});

describe('recreateStep', () => {
  it('scales old to 0, waits for their pods to go, then scales new up', () => {
    expect(recreateStep(2, set('b', 0), [set('a', 2)])).toEqual({
      type: 'scale',
      scales: [{ name: 'a', from: 2, to: 0 }],
    });
    const going: SetCounts = { name: 'a', replicas: 0, existing: 2, active: 0, available: 0 };
    expect(recreateStep(2, set('b', 0), [going]).type).toBe('wait');
    expect(recreateStep(2, set('b', 0), [set('a', 0)], true)).toEqual({ type: 'old-gone' });
    expect(recreateStep(2, set('b', 0), [set('a', 0)])).toEqual({
      type: 'scale',
      scales: [{ name: 'b', from: 0, to: 2 }],
    });
    expect(recreateStep(2, set('b', 2, 2, 1), [set('a', 0)]).type).toBe('wait');
    expect(recreateStep(2, set('b', 2), [set('a', 0)])).toEqual({ type: 'complete' });
  });
});

describe('progressMark', () => {
  it('changes when either side moves', () => {
    const a = progressMark(set('n', 1, 1, 0), [set('o', 4)]);
    expect(progressMark(set('n', 1, 1, 1), [set('o', 4)])).not.toBe(a);
    expect(progressMark(set('n', 1, 1, 0), [set('o', 3, 4)])).not.toBe(a);
    expect(progressMark(set('n', 1, 1, 0), [set('o', 4)])).toBe(a);
  });
});

// ---------------------------------------------------------------------------------------------
// F9, simulated: a replication controller that creates and deletes pods (picking which pod to
// delete at random, not the not-ready ones first), pods that become ready and terminate after
// random delays, and an engine that sees the pods a few ticks late.

interface SimPod {
  set: string;
  readyAt: number;
  /** Tick at which a terminating pod is gone. */
  goneAt?: number;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function simulate(seed: number, strategy: 'rolling' | 'recreate') {
  const rand = mulberry32(seed);
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const replicas = 4;
  const f = resolveFenceposts('25%', '25%', replicas);
  const spec = new Map<string, number>([
    ['old', replicas],
    ['new', 0],
  ]);
  let pods: SimPod[] = Array.from({ length: replicas }, () => ({ set: 'old', readyAt: 0 }));
  const history: SimPod[][] = [];
  let minReady = Infinity;
  let maxTotal = 0;
  let tick = 0;
  const counts = (view: readonly SimPod[], name: string, now: number): SetCounts => {
    const mine = view.filter((p) => p.set === name);
    const active = mine.filter((p) => p.goneAt === undefined);
    return {
      name,
      replicas: spec.get(name)!,
      existing: mine.length,
      active: active.length,
      available: active.filter((p) => p.readyAt <= now).length,
    };
  };
  const check = () => {
    const total = pods.length;
    const ready = pods.filter((p) => p.goneAt === undefined && p.readyAt <= tick).length;
    maxTotal = Math.max(maxTotal, total);
    minReady = Math.min(minReady, ready);
  };
  for (tick = 1; tick < 2000; tick++) {
    // Terminating pods go.
    pods = pods.filter((p) => p.goneAt === undefined || p.goneAt > tick);
    check();
    // The replication controller acts on the current spec.
    for (const [name, want] of spec) {
      const active = pods.filter((p) => p.set === name && p.goneAt === undefined);
      for (let i = active.length; i < want; i++) {
        pods.push({ set: name, readyAt: tick + between(1, 6) });
        check();
      }
      for (let i = want; i < active.length; i++) {
        const live = pods.filter((p) => p.set === name && p.goneAt === undefined);
        live[between(0, live.length - 1)]!.goneAt = tick + between(1, 5);
        check();
      }
    }
    history.push(pods.map((p) => ({ ...p })));
    // The engine sees pods 0-2 ticks late (informer lag) but current specs (stale writes are
    // refused with a conflict).
    const lag = between(0, 2);
    const seenAt = Math.max(0, history.length - 1 - lag);
    const view = history[seenAt]!;
    const seenTick = tick - (history.length - 1 - seenAt);
    const next = counts(view, 'new', seenTick);
    const old = [counts(view, 'old', seenTick)];
    const step: Step =
      strategy === 'rolling'
        ? rollingStep(replicas, f, next, old)
        : recreateStep(replicas, next, old);
    if (step.type === 'complete') return { ticks: tick, minReady, maxTotal, pods };
    if (step.type === 'scale') for (const s of step.scales) spec.set(s.name, s.to);
  }
  throw new Error(`seed ${seed}: the rollout did not complete`);
}

describe('F9: replicas 4, maxSurge 25%, maxUnavailable 25%', () => {
  it('keeps at least 3 ready and at most 5 pods at every moment, whatever the timing', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const run = simulate(seed, 'rolling');
      expect(run.minReady, `seed ${seed}`).toBeGreaterThanOrEqual(3);
      expect(run.maxTotal, `seed ${seed}`).toBeLessThanOrEqual(5);
      expect(run.pods.filter((p) => p.set === 'new' && p.goneAt === undefined)).toHaveLength(4);
    }
  });

  it('Recreate never has old and new pods at once', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const run = simulate(seed, 'recreate');
      expect(run.maxTotal, `seed ${seed}`).toBeLessThanOrEqual(4);
    }
  });
});

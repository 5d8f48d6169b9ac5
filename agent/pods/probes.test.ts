import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Container } from '../../src/api/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { ProbeManager, type ProbeSpec, type ProbeTarget, type ProbeType } from './probes.js';

interface Harness {
  manager: ProbeManager;
  changes: string[];
  unhealthy: string[];
  runs: string[];
  /** What the next probes of each type answer. */
  answer: Record<ProbeType, boolean>;
}

function harness(): Harness {
  const h: Harness = {
    changes: [],
    unhealthy: [],
    runs: [],
    answer: { liveness: true, readiness: true, startup: true },
    manager: undefined as unknown as ProbeManager,
  };
  h.manager = new ProbeManager({
    run: async (probe: ProbeSpec) => {
      const type = (probe as { type?: ProbeType }).type!;
      h.runs.push(`${type}@${Date.now()}`);
      return { ok: h.answer[type], output: `${type} said no` };
    },
    events: { unhealthy: (_t, type, output) => h.unhealthy.push(`${type}: ${output}`) },
    onChange: (uid) => h.changes.push(uid),
    logger: silentLogger(),
  });
  return h;
}

function target(spec: Partial<Container>, over: Partial<ProbeTarget> = {}): ProbeTarget {
  return {
    podUid: 'pod-1',
    containerName: 'app',
    containerId: 'c1',
    startedAt: Date.now(),
    spec: { name: 'app', image: 'x', ...spec },
    podIP: '10.0.0.2',
    ...over,
  };
}

type Probe = NonNullable<Container['livenessProbe']>;

/** A probe spec that tells the fake runner which kind it is. */
const probe = (type: ProbeType, over: Partial<ProbeSpec> = {}): Probe => ({
  type,
  exec: { command: ['true'] },
  periodSeconds: 1,
  ...over,
});

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ProbeManager', () => {
  it('is not ready before initialDelaySeconds, then ready after the first success', async () => {
    const h = harness();
    h.manager.sync('pod-1', [
      target({ readinessProbe: probe('readiness', { initialDelaySeconds: 3 }) }),
    ]);
    expect(h.manager.ready('c1')).toBe(false);
    await vi.advanceTimersByTimeAsync(2999);
    expect(h.runs).toEqual([]);
    expect(h.manager.ready('c1')).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.manager.ready('c1')).toBe(true);
    expect(h.changes).toEqual(['pod-1']);
    h.manager.close();
  });

  it('flips after failureThreshold failures in a row and records each failure', async () => {
    const h = harness();
    h.answer.liveness = false;
    h.manager.sync('pod-1', [
      target({ livenessProbe: probe('liveness', { failureThreshold: 3 }) }),
    ]);
    // Probes at 0, 1 and 2 s.
    await vi.advanceTimersByTimeAsync(1999);
    expect(h.manager.failed('c1')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(h.manager.failed('c1')).toBe('liveness');
    expect(h.unhealthy).toEqual([
      'liveness: liveness said no',
      'liveness: liveness said no',
      'liveness: liveness said no',
    ]);
    // A failed liveness probe waits for the next instance: no more runs for this one.
    const runs = h.runs.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(h.runs.length).toBe(runs);
    h.manager.close();
  });

  it('holds liveness and readiness until the startup probe passes', async () => {
    const h = harness();
    h.answer.startup = false;
    h.answer.liveness = false;
    h.manager.sync('pod-1', [
      target({
        startupProbe: probe('startup', { failureThreshold: 100 }),
        livenessProbe: probe('liveness', { failureThreshold: 1 }),
        readinessProbe: probe('readiness'),
      }),
    ]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(h.runs.every((r) => r.startsWith('startup'))).toBe(true);
    expect(h.manager.started('c1')).toBe(false);
    expect(h.manager.failed('c1')).toBeUndefined();
    h.answer.startup = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.manager.started('c1')).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.manager.failed('c1')).toBe('liveness');
    expect(h.manager.ready('c1')).toBe(true);
    h.manager.close();
  });

  it('adopts what the status said, and stops the workers of instances that went away', async () => {
    const h = harness();
    h.manager.sync('pod-1', [
      target(
        { readinessProbe: probe('readiness', { initialDelaySeconds: 60 }) },
        { wasReady: true },
      ),
    ]);
    expect(h.manager.ready('c1')).toBe(true);
    h.manager.sync('pod-1', []);
    expect(h.manager.has('c1')).toBe(false);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(h.runs).toEqual([]);
  });
});

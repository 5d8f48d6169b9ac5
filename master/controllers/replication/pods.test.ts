import { describe, expect, it } from 'vitest';
import { compareForDeletion, isPodActive, podAvailability, podsToDelete } from './pods.js';
import { pod } from './testing.js';

const T0 = '2030-01-01T00:00:00Z';
const names = (list: { metadata: { name?: string } }[]) => list.map((p) => p.metadata.name);

describe('pod order for deletion (ActivePods)', () => {
  it('puts unassigned before assigned, Pending before Unknown before Running', () => {
    const pods = [
      pod('running', { node: 'n1' }),
      pod('unknown', { node: 'n1', phase: 'Unknown' }),
      pod('pending', { node: 'n1', phase: 'Pending' }),
      pod('unassigned', { phase: 'Pending' }),
    ];
    expect(names([...pods].sort(compareForDeletion))).toEqual([
      'unassigned',
      'pending',
      'unknown',
      'running',
    ]);
  });

  it('puts not ready before ready, ready for less time first, unknown ready time first', () => {
    const pods = [
      pod('long', { node: 'n1', readySince: T0 }),
      pod('short', { node: 'n1', readySince: '2030-01-01T01:00:00Z' }),
      pod('not-ready', { node: 'n1', readySince: false }),
    ];
    const noTime = pod('no-time', { node: 'n1', readySince: T0 });
    delete noTime.status!.conditions![0]!.lastTransitionTime;
    expect(names([...pods, noTime].sort(compareForDeletion))).toEqual([
      'not-ready',
      'no-time',
      'short',
      'long',
    ]);
  });

  it('then more restarts first, then newer first, then by name', () => {
    const pods = [
      pod('old', { node: 'n1', created: '2029-01-01T00:00:00Z' }),
      pod('new', { node: 'n1', created: '2029-02-01T00:00:00Z' }),
      pod('crashy', { node: 'n1', restarts: 3, created: '2028-01-01T00:00:00Z' }),
      pod('b-twin', { node: 'n1', created: '2029-02-01T00:00:00Z' }),
    ];
    expect(names(podsToDelete(pods, 3))).toEqual(['crashy', 'b-twin', 'new']);
  });
});

describe('pod predicates', () => {
  it('counts pods that are neither finished nor terminating', () => {
    expect(isPodActive(pod('a'))).toBe(true);
    expect(isPodActive(pod('a', { phase: 'Pending' }))).toBe(true);
    expect(isPodActive(pod('a', { phase: 'Failed' }))).toBe(false);
    expect(isPodActive(pod('a', { phase: 'Succeeded' }))).toBe(false);
    expect(isPodActive(pod('a', { terminating: true }))).toBe(false);
  });

  it('is available once ready for minReadySeconds, and says when', () => {
    const now = Date.parse(T0) + 4000;
    const ready = pod('a', { readySince: T0 });
    expect(podAvailability(ready, 0, now)).toEqual({ available: true });
    expect(podAvailability(ready, 10, now)).toEqual({ available: false, inMs: 6000 });
    expect(podAvailability(ready, 4, now)).toEqual({ available: true });
    expect(podAvailability(pod('b', { readySince: false }), 0, now)).toEqual({
      available: false,
    });
  });
});

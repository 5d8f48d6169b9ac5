import { describe, expect, it } from 'vitest';
import { calculateStatus, statusChanged } from './status.js';
import { pod, rc } from './testing.js';

const NOW = new Date('2030-01-01T00:00:10Z');

describe('calculateStatus', () => {
  it('counts replicas, fully labelled, ready and available pods', () => {
    const web = rc('web', 3, {
      labels: { app: 'web', v: '1' },
      selector: { app: 'web' },
      minReady: 5,
    });
    web.metadata.generation = 3;
    const pods = [
      pod('a', { labels: { app: 'web', v: '1' }, readySince: '2030-01-01T00:00:00Z' }),
      pod('b', { labels: { app: 'web' }, readySince: '2030-01-01T00:00:08Z' }),
      pod('c', { labels: { app: 'web', v: '1' }, readySince: false }),
    ];
    const { status, availableInMs } = calculateStatus(web, pods, { type: 'keep' }, NOW);
    expect(status).toEqual({
      replicas: 3,
      fullyLabeledReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 1,
      observedGeneration: 3,
    });
    expect(availableInMs).toBe(3000);
    expect(statusChanged(web, status)).toBe(true);
    expect(statusChanged({ ...web, status }, status)).toBe(false);
  });

  it('sets ReplicaFailure, keeps its transition time while it holds, and clears it', () => {
    const web = rc('web', 1);
    const set = calculateStatus(
      web,
      [],
      { type: 'set', reason: 'FailedCreate', message: 'forbidden' },
      NOW,
    ).status;
    expect(set.conditions).toEqual([
      {
        type: 'ReplicaFailure',
        status: 'True',
        reason: 'FailedCreate',
        message: 'forbidden',
        lastTransitionTime: '2030-01-01T00:00:10Z',
      },
    ]);
    const later = new Date('2030-01-01T00:01:00Z');
    const again = calculateStatus(
      { ...web, status: set },
      [],
      { type: 'set', reason: 'FailedCreate', message: 'still forbidden' },
      later,
    ).status;
    expect(again.conditions?.[0]).toMatchObject({
      message: 'still forbidden',
      lastTransitionTime: '2030-01-01T00:00:10Z',
    });
    const kept = calculateStatus({ ...web, status: set }, [], { type: 'keep' }, later).status;
    expect(kept.conditions).toEqual(set.conditions);
    const cleared = calculateStatus({ ...web, status: set }, [], { type: 'clear' }, later).status;
    expect(cleared.conditions).toBeUndefined();
  });
});

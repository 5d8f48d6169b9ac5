import { describe, expect, it } from 'vitest';
import type { Deployment } from '../../../src/api/kinds/deployment.js';
import type { ReplicaSet } from '../../../src/api/kinds/replica-set.js';
import { isScalingEvent, needsScale, replicasAnnotations, scaleSets } from './scale.js';

function deployment(replicas: number, maxSurge: number | string = 3): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'ns' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable: 0 } },
    },
  };
}

/** A ReplicaSet of `size` pods sized for `desired` replicas with at most `max` pods. */
function rs(
  name: string,
  size: number,
  sizedFor: { desired: number; max: number },
  createdSecond: number,
  available = 0,
): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: 'ns',
      creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, createdSecond)).toISOString(),
      annotations: {
        'deployment.kubernetes.io/desired-replicas': String(sizedFor.desired),
        'deployment.kubernetes.io/max-replicas': String(sizedFor.max),
      },
    },
    spec: { replicas: size, selector: { matchLabels: { app: 'web' } } },
    status: { replicas: size, availableReplicas: available },
  };
}

const sizes = (out: { rs: ReplicaSet; to: number }[]): Record<string, number> =>
  Object.fromEntries(out.map(({ rs, to }): [string, number] => [rs.metadata.name ?? '', to]));

describe('scaleSets', () => {
  // Kubernetes' own cases (sync_test.go, TestScale), maxSurge 3.
  it('spreads a scale-up over the sets of a rollout in proportion to their sizes', () => {
    const sizedFor = { desired: 10, max: 13 };
    const out = scaleSets(deployment(20), rs('new', 5, sizedFor, 2), [rs('old', 8, sizedFor, 1)]);
    // Allowed 23 in all, 13 there: old 8 -> round(8 * 23 / 13) = 14, new takes the rest.
    expect(sizes(out)).toEqual({ old: 14, new: 9 });
  });

  it('takes a scale-down from the larger sets first, in proportion', () => {
    const sizedFor = { desired: 10, max: 13 };
    const out = scaleSets(deployment(5), rs('new', 5, sizedFor, 2), [rs('old', 8, sizedFor, 1)]);
    // Allowed 8: old 8 -> round(8 * 8 / 13) = 5, new gives up the rest.
    expect(sizes(out)).toEqual({ old: 5, new: 3 });
  });

  it('gives every replica to the one active set, or to the newest when none is', () => {
    const sizedFor = { desired: 4, max: 5 };
    expect(
      sizes(scaleSets(deployment(8), rs('new', 4, sizedFor, 2), [rs('old', 0, sizedFor, 1)])),
    ).toEqual({ new: 8 });
    expect(
      sizes(
        scaleSets(deployment(3), undefined, [rs('a', 0, sizedFor, 1), rs('b', 0, sizedFor, 2)]),
      ),
    ).toEqual({ b: 3 });
  });

  it('scales the old sets to 0 once the new one is saturated', () => {
    const sizedFor = { desired: 4, max: 5 };
    const out = scaleSets(deployment(4), rs('new', 4, sizedFor, 2, 4), [rs('old', 1, sizedFor, 1)]);
    expect(sizes(out)).toEqual({ old: 0 });
  });

  it('leaves a Recreate rollout midway alone', () => {
    const d = deployment(6);
    d.spec.strategy = { type: 'Recreate' };
    const sizedFor = { desired: 3, max: 3 };
    expect(scaleSets(d, rs('new', 1, sizedFor, 2), [rs('old', 2, sizedFor, 1)])).toEqual([]);
  });
});

describe('scaling events', () => {
  it('is one when an active set was sized for other replicas', () => {
    const sizedFor = { desired: 4, max: 5 };
    expect(isScalingEvent([rs('a', 4, sizedFor, 1)], 4)).toBe(false);
    expect(isScalingEvent([rs('a', 4, sizedFor, 1)], 6)).toBe(true);
    // An inactive set's record does not count.
    expect(isScalingEvent([rs('a', 0, sizedFor, 1)], 6)).toBe(false);
  });

  it('needs a write for another size or another record, not otherwise', () => {
    const d = deployment(4, 1);
    expect(replicasAnnotations(d)).toEqual({
      'deployment.kubernetes.io/desired-replicas': '4',
      'deployment.kubernetes.io/max-replicas': '5',
    });
    expect(needsScale(rs('a', 4, { desired: 4, max: 5 }, 1), d, 4)).toBe(false);
    expect(needsScale(rs('a', 4, { desired: 4, max: 5 }, 1), d, 3)).toBe(true);
    expect(needsScale(rs('a', 4, { desired: 2, max: 3 }, 1), d, 4)).toBe(true);
  });
});

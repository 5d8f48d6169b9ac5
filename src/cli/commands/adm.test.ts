import { describe, expect, it } from 'vitest';
import type { Pod } from '../../api/index.js';
import { formatDuration, parseDuration, planDrain, type DrainPlan } from './adm.js';

function pod(
  name: string,
  extra: Partial<Pod['metadata']> = {},
  spec: Partial<Pod['spec']> = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ns', ...extra },
    spec: { containers: [{ name: 'c', image: 'i' }], ...spec },
  };
}

const owned = (kind: string) => ({
  ownerReferences: [{ apiVersion: 'v1', kind, name: 'o', uid: 'u', controller: true }],
});

function summary(plan: DrainPlan): { delete: string[]; errors: string[]; warnings: string[] } {
  const join = (m: Map<string, string[]>) => [...m].map(([k, v]) => `${k}: ${v.join(', ')}`);
  return {
    delete: plan.delete.map((p) => p.metadata.name ?? ''),
    errors: join(plan.errors),
    warnings: join(plan.warnings),
  };
}

describe('planDrain', () => {
  const pods = [
    pod('managed', owned('ReplicationController')),
    pod('bare'),
    pod('done', {}, {}),
    pod('ds', owned('DaemonSet')),
    pod('scratch', owned('ReplicaSet'), { volumes: [{ name: 'v', emptyDir: {} }] }),
    pod('mirror', { annotations: { 'kubernetes.io/config.mirror': 'x' } }),
    pod('not-controller', {
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'u' }],
    }),
  ];
  pods[2]!.status = { phase: 'Succeeded' };

  it('stops for what kubectl stops for, naming the pods', () => {
    expect(summary(planDrain(pods, {}))).toEqual({
      delete: ['managed', 'done'],
      errors: [
        'cannot delete Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet (use --force to override): ns/bare, ns/not-controller',
        'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ns/ds',
        'cannot delete Pods with local storage (use --delete-emptydir-data to override): ns/scratch',
      ],
      warnings: [],
    });
  });

  it('goes ahead with the flags, warning about what it does', () => {
    const plan = planDrain(pods, { force: true, ignoreDaemonsets: true, deleteEmptydirData: true });
    expect(summary(plan)).toEqual({
      delete: ['managed', 'bare', 'done', 'scratch', 'not-controller'],
      errors: [],
      warnings: [
        'deleting Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet: ns/bare, ns/not-controller',
        'ignoring DaemonSet-managed Pods: ns/ds',
        'deleting Pods with local storage: ns/scratch',
      ],
    });
  });
});

describe('durations', () => {
  it("reads and writes Go's form", () => {
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(() => parseDuration('10')).toThrow('invalid duration "10"');
    expect(() => parseDuration('5x')).toThrow('invalid duration');
    expect(formatDuration(60_000)).toBe('1m0s');
    expect(formatDuration(30_000)).toBe('30s');
    expect(formatDuration(5_400_000)).toBe('1h30m0s');
  });
});

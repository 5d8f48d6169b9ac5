import { describe, expect, it } from 'vitest';
import { configMapKind, podKind, secretKind, type ApiObject } from '../api/index.js';
import {
  LAST_APPLIED,
  contains,
  lastApplied,
  planApply,
  threeWayMergePatch,
  withLastApplied,
} from './apply.js';

const cm = (
  data: Record<string, string>,
  extra: Partial<ApiObject['metadata']> = {},
): ApiObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings', namespace: 'demo', ...extra },
  data,
});

/** What the server would hold after creating `given` through apply. */
function stored(given: ApiObject, extra: Record<string, unknown> = {}): ApiObject {
  const obj = withLastApplied(given);
  return {
    ...obj,
    ...extra,
    metadata: {
      ...obj.metadata,
      uid: 'u1',
      resourceVersion: '7',
      creationTimestamp: '2026-01-01T00:00:00Z',
    },
  };
}

describe('withLastApplied / lastApplied', () => {
  it('records the object without its own annotation', () => {
    const obj = withLastApplied(
      cm({ a: '1' }, { annotations: { keep: 'x', [LAST_APPLIED]: 'old' } }),
    );
    const recorded = lastApplied(obj)!;
    expect(recorded.metadata.annotations).toEqual({ keep: 'x' });
    expect(recorded.data).toEqual({ a: '1' });
    expect(lastApplied(cm({}))).toBeUndefined();
  });
});

describe('contains', () => {
  it('allows extra fields in objects but not in array length', () => {
    expect(contains({ a: 1, b: 2 }, { a: 1 })).toBe(true);
    expect(
      contains([{ name: 'c', image: 'i', imagePullPolicy: 'Always' }], [{ name: 'c', image: 'i' }]),
    ).toBe(true);
    expect(contains([1, 2], [1])).toBe(false);
    expect(contains({ a: 1 }, { a: 2 })).toBe(false);
  });
});

describe('threeWayMergePatch', () => {
  it('sets changed fields, removes fields dropped since the last apply, keeps others', () => {
    const original = { data: { a: '1', b: '2' } };
    const modified = { data: { a: '9' } };
    const current = { data: { a: '1', b: '2', added: 'by-someone-else' } };
    expect(threeWayMergePatch(original, modified, current)).toEqual({ data: { a: '9', b: null } });
  });

  it('replaces arrays only when the applied array changed', () => {
    const containers = [{ name: 'web', image: 'web:1' }];
    const live = {
      spec: { containers: [{ name: 'web', image: 'web:1', imagePullPolicy: 'IfNotPresent' }] },
    };
    expect(threeWayMergePatch({ spec: { containers } }, { spec: { containers } }, live)).toEqual(
      {},
    );
    const changed = [{ name: 'web', image: 'web:2' }];
    expect(
      threeWayMergePatch({ spec: { containers } }, { spec: { containers: changed } }, live),
    ).toEqual({
      spec: { containers: changed },
    });
  });
});

describe('planApply', () => {
  it('creates with the annotation when the object does not exist', () => {
    const plan = planApply(configMapKind, cm({ a: '1' }), undefined);
    expect(plan.action).toBe('create');
    if (plan.action === 'create') expect(lastApplied(plan.object)?.data).toEqual({ a: '1' });
  });

  it('is unchanged when nothing the user wrote differs, whatever the server added', () => {
    const given = cm({ a: '1' });
    expect(planApply(configMapKind, given, stored(given))).toEqual({ action: 'unchanged' });
  });

  it('patches changes and removals, never identity fields', () => {
    const before = cm({ a: '1', b: '2' });
    const plan = planApply(configMapKind, cm({ a: '1', c: '3' }), stored(before));
    expect(plan.action).toBe('patch');
    if (plan.action !== 'patch') return;
    expect(plan.patch.data).toEqual({ b: null, c: '3' });
    const meta = plan.patch.metadata as { annotations: Record<string, string> };
    expect(Object.keys(meta)).toEqual(['annotations']);
    expect(JSON.parse(meta.annotations[LAST_APPLIED]!)).toMatchObject({ data: { a: '1', c: '3' } });
  });

  it('compares a Secret by the data its stringData becomes', () => {
    const given: ApiObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'demo' },
      stringData: { password: 'pw' },
    };
    const live = stored(given);
    delete live.stringData;
    live.data = { password: Buffer.from('pw').toString('base64') };
    live.type = 'Opaque';
    expect(planApply(secretKind, given, live)).toEqual({ action: 'unchanged' });
    const changed = planApply(secretKind, { ...given, stringData: { password: 'new' } }, live);
    expect(changed.action).toBe('patch');
  });

  it('keeps Secret values out of the last-applied annotation, yet removes dropped keys', () => {
    const given: ApiObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'demo' },
      stringData: { password: 'hunter22', user: 'admin' },
    };
    const created = planApply(secretKind, given, undefined);
    expect(created.action).toBe('create');
    if (created.action !== 'create') return;
    const annotation = created.object.metadata.annotations![LAST_APPLIED]!;
    expect(annotation).not.toContain('hunter22');
    expect(JSON.parse(annotation)).toMatchObject({
      stringData: { password: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) as unknown },
    });
    expect(created.object.stringData).toEqual({ password: 'hunter22', user: 'admin' });

    const live = stored(created.object);
    delete live.stringData;
    live.data = {
      password: Buffer.from('hunter22').toString('base64'),
      user: Buffer.from('admin').toString('base64'),
    };
    live.type = 'Opaque';
    expect(planApply(secretKind, given, live)).toEqual({ action: 'unchanged' });
    const dropped = planApply(secretKind, { ...given, stringData: { password: 'hunter22' } }, live);
    expect(dropped.action).toBe('patch');
    if (dropped.action === 'patch') expect(dropped.patch.data).toEqual({ user: null });
  });

  it('adds the annotation to objects created without it', () => {
    const given = cm({ a: '1' });
    const live = { ...given, metadata: { ...given.metadata, uid: 'u', resourceVersion: '3' } };
    const plan = planApply(configMapKind, given, live);
    expect(plan.action).toBe('patch');
    if (plan.action === 'patch') expect(Object.keys(plan.patch)).toEqual(['metadata']);
  });

  it('leaves server-filled fields inside pod containers alone', () => {
    const given: ApiObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'demo' },
      spec: { containers: [{ name: 'web', image: 'web:1' }] },
    };
    const live = stored(given, {
      spec: {
        containers: [{ name: 'web', image: 'web:1', imagePullPolicy: 'IfNotPresent' }],
        restartPolicy: 'Always',
      },
      status: { phase: 'Pending' },
    });
    expect(planApply(podKind, given, live)).toEqual({ action: 'unchanged' });
  });
});

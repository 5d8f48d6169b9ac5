import { describe, expect, it } from 'vitest';
import type { ApiObject } from '../../api/index.js';
import { scalePatch } from './scale.js';

const rc: ApiObject = {
  apiVersion: 'v1',
  kind: 'ReplicationController',
  metadata: { name: 'web', resourceVersion: '42' },
  spec: { replicas: 3 },
};

describe('scalePatch (kubectl scale preconditions)', () => {
  it('sets spec.replicas, with no precondition by default', () => {
    expect(scalePatch(rc, 5, -1, undefined)).toEqual({ spec: { replicas: 5 } });
  });

  it('checks --current-replicas and then pins the revision it read', () => {
    expect(scalePatch(rc, 1, 3, undefined)).toEqual({
      metadata: { resourceVersion: '42' },
      spec: { replicas: 1 },
    });
    expect(() => scalePatch(rc, 1, 2, undefined)).toThrow('Expected replicas to be 2, was 3');
  });

  it('takes --resource-version as given, and an unset replicas field as 1', () => {
    expect(scalePatch(rc, 0, -1, '7')).toEqual({
      metadata: { resourceVersion: '7' },
      spec: { replicas: 0 },
    });
    const unset = { ...rc, spec: {} };
    expect(() => scalePatch(unset, 2, 0, undefined)).toThrow('Expected replicas to be 0, was 1');
  });
});

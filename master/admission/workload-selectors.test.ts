import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/errors.js';
import type { ApiObject } from '../../src/api/meta.js';
import { admitSelectorUnchanged } from './workload-selectors.js';

const rs = (selector: unknown, replicas = 1): ApiObject => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name: 'web' },
  spec: { replicas, selector },
});

describe('admitSelectorUnchanged', () => {
  const admit = admitSelectorUnchanged('ReplicaSet');
  const selector = { matchLabels: { app: 'web' } };

  it('lets everything but the selector change', () => {
    expect(() => admit(rs(selector), rs({ matchLabels: { app: 'web' } }, 3))).not.toThrow();
  });

  it('refuses a changed selector, naming the field', () => {
    let error: unknown;
    try {
      admit(rs(selector), rs({ matchLabels: { app: 'other' } }));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ApiError);
    const status = (error as ApiError).toStatus();
    expect(status.code).toBe(422);
    expect(status.details?.causes).toEqual([
      {
        field: 'spec.selector',
        message: 'Invalid value: {"matchLabels":{"app":"other"}}: field is immutable',
        reason: 'FieldValueInvalid',
      },
    ]);
  });
});

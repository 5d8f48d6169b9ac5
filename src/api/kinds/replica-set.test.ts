import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.js';
import { validateObject } from '../validation.js';
import { replicaSetKind, type ReplicaSet } from './replica-set.js';

function rs(spec: Record<string, unknown>): unknown {
  return { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'api' }, spec };
}

const template = (labels: Record<string, string>, spec: Record<string, unknown> = {}) => ({
  metadata: { labels },
  spec: { containers: [{ name: 'api', image: 'busybox:1' }], ...spec },
});

function causes(input: unknown): string[] {
  try {
    validateObject(replicaSetKind, input);
  } catch (err) {
    if (err instanceof ApiError) {
      return (err.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
    }
    throw err;
  }
  return [];
}

describe('ReplicaSet validation', () => {
  it('accepts matchLabels and matchExpressions that pick the template, replicas default 1', () => {
    const out = validateObject(
      replicaSetKind,
      rs({
        selector: {
          matchLabels: { app: 'api' },
          matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'cache'] }],
        },
        template: template({ app: 'api', tier: 'backend' }),
      }),
    ) as ReplicaSet;
    expect(out.spec.replicas).toBe(1);
  });

  it('refuses a selector that does not pick the template', () => {
    expect(
      causes(
        rs({
          selector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['backend'] }] },
          template: template({ app: 'api', tier: 'backend' }),
        }),
      ),
    ).toEqual([
      'spec.template.metadata.labels: Invalid value: {"app":"api","tier":"backend"}: `selector` does not match template `labels`',
    ]);
  });

  it('needs a non-empty, well-formed selector and a template', () => {
    expect(causes(rs({ selector: {}, template: template({ app: 'api' }) }))).toEqual([
      'spec.selector: Invalid value: {}: empty selector is invalid for deployment',
    ]);
    expect(causes(rs({ selector: { matchLabels: { app: 'api' } } }))).toEqual([
      'spec.template: Required value',
    ]);
    expect(
      causes(
        rs({
          selector: { matchExpressions: [{ key: 'tier', operator: 'In' }] },
          template: template({ tier: 'x' }),
        }),
      ),
    ).toEqual([
      "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
    ]);
    expect(causes(rs({ template: template({ app: 'api' }) }))[0]).toMatch(/^spec\.selector/);
  });

  it('allows only restartPolicy Always', () => {
    expect(
      causes(
        rs({
          selector: { matchLabels: { app: 'api' } },
          template: template({ app: 'api' }, { restartPolicy: 'Never' }),
        }),
      ),
    ).toEqual([
      'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    ]);
  });
});

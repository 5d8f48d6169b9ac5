import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.js';
import { validateObject } from '../validation.js';
import { deploymentKind, type Deployment } from './deployment.js';

function deployment(spec: Record<string, unknown> = {}): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'demo' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'example/web:1' }] },
      },
      ...spec,
    },
  };
}

function causes(input: unknown): string[] {
  try {
    validateObject(deploymentKind, input);
  } catch (err) {
    if (err instanceof ApiError) {
      return (err.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
    }
    throw err;
  }
  return [];
}

describe('Deployment', () => {
  it("applies Kubernetes' defaults", () => {
    const d = validateObject(deploymentKind, deployment()) as Deployment;
    expect(d.spec).toMatchObject({
      replicas: 1,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
      },
    });
    const recreate = validateObject(
      deploymentKind,
      deployment({ strategy: { type: 'Recreate' } }),
    ) as Deployment;
    expect(recreate.spec.strategy).toEqual({ type: 'Recreate' });
  });

  it('names what is wrong', () => {
    expect(causes(deployment({ selector: { matchLabels: { app: 'other' } } }))).toEqual([
      'spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`',
    ]);
    expect(
      causes(deployment({ strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } })),
    ).toEqual([
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0',
    ]);
    expect(
      causes(deployment({ strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } })),
    ).toEqual([
      "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
    ]);
    expect(causes(deployment({ minReadySeconds: 30, progressDeadlineSeconds: 30 }))).toEqual([
      'spec.progressDeadlineSeconds: Invalid value: 30: must be greater than minReadySeconds',
    ]);
  });
});

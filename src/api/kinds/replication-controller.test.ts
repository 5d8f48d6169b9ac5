import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.js';
import { validateObject } from '../validation.js';
import { replicationControllerKind, type ReplicationController } from './replication-controller.js';

function rc(spec: Record<string, unknown>, labels?: Record<string, string>): unknown {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'web', ...(labels ? { labels } : {}) },
    spec,
  };
}

const template = (labels: Record<string, string>, spec: Record<string, unknown> = {}) => ({
  metadata: { labels },
  spec: { containers: [{ name: 'web', image: 'busybox:1' }], ...spec },
});

function causes(input: unknown): string[] {
  try {
    validateObject(replicationControllerKind, input);
  } catch (err) {
    if (err instanceof ApiError) {
      return (err.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
    }
    throw err;
  }
  return [];
}

describe('ReplicationController validation', () => {
  it("defaults replicas to 1 and the selector and labels to the template's labels", () => {
    const out = validateObject(
      replicationControllerKind,
      rc({ template: template({ app: 'web' }) }),
    ) as ReplicationController;
    expect(out.spec.replicas).toBe(1);
    expect(out.spec.selector).toEqual({ app: 'web' });
    expect(out.metadata.labels).toEqual({ app: 'web' });
    const own = validateObject(
      replicationControllerKind,
      rc(
        { replicas: 0, selector: { app: 'web' }, template: template({ app: 'web', v: '1' }) },
        {
          team: 'a',
        },
      ),
    ) as ReplicationController;
    expect(own.spec).toMatchObject({ replicas: 0, selector: { app: 'web' } });
    expect(own.metadata.labels).toEqual({ team: 'a' });
  });

  it('refuses a selector that does not pick the template, naming the field', () => {
    expect(causes(rc({ selector: { app: 'db' }, template: template({ app: 'web' }) }))).toEqual([
      'spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`',
    ]);
  });

  it('needs a template, and a selector or template labels', () => {
    expect(causes(rc({ selector: { app: 'web' } }))).toEqual(['spec.template: Required value']);
    expect(causes(rc({ template: template({}) }))).toEqual(['spec.selector: Required value']);
  });

  it('allows only restartPolicy Always, and checks the pod spec at its path', () => {
    expect(
      causes(rc({ template: template({ app: 'web' }, { restartPolicy: 'OnFailure' }) })),
    ).toEqual([
      'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"',
    ]);
    const dup = template({ app: 'web' });
    dup.spec.containers.push({ name: 'web', image: 'busybox:1' });
    expect(causes(rc({ template: dup }))).toEqual([
      'spec.template.spec.containers[1].name: Duplicate value: "web"',
    ]);
    expect(causes(rc({ replicas: -1, template: template({ app: 'web' }) }))[0]).toMatch(
      /^spec\.replicas: /,
    );
  });
});

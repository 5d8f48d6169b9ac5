import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import { applyStrategicMergePatch, strategicSchemaFor } from './strategic-merge-patch.js';

const dc = {
  kind: 'DeploymentConfig',
  metadata: { name: 'web', finalizers: ['a'], labels: { app: 'web', tier: 'front' } },
  spec: {
    replicas: 1,
    triggers: [{ type: 'ConfigChange' }, { type: 'ImageChange' }],
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'web:1',
            ports: [{ containerPort: 8080, protocol: 'TCP' }],
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
            readinessProbe: { httpGet: { path: '/', port: 8080 } },
          },
          { name: 'sidecar', image: 'side:1' },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
        tolerations: [{ key: 'x', operator: 'Exists' }],
      },
    },
  },
};

const apply = (patch: Record<string, unknown>, target: unknown = dc, kind = 'DeploymentConfig') =>
  applyStrategicMergePatch(target, patch, strategicSchemaFor(kind)) as typeof dc;

const containers = (patch: unknown[]) =>
  apply({ spec: { template: { spec: { containers: patch } } } }).spec.template.spec.containers;

describe('applyStrategicMergePatch', () => {
  it('merges containers by name and their env and ports by key, keeping everything else', () => {
    const out = containers([
      {
        name: 'web',
        image: 'web:2',
        env: [
          { name: 'B', value: 'two' },
          { name: 'C', value: '3' },
        ],
        ports: [{ containerPort: 9090 }],
      },
    ]);
    expect(out).toEqual([
      {
        name: 'web',
        image: 'web:2',
        ports: [{ containerPort: 8080, protocol: 'TCP' }, { containerPort: 9090 }],
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: 'two' },
          { name: 'C', value: '3' },
        ],
        readinessProbe: { httpGet: { path: '/', port: 8080 } },
      },
      { name: 'sidecar', image: 'side:1' },
    ]);
    // The input is untouched.
    expect(dc.spec.template.spec.containers[0]!.image).toBe('web:1');
  });

  it('appends new keyed items and deletes items and fields on request', () => {
    const out = containers([
      { name: 'sidecar', $patch: 'delete' },
      { name: 'web', readinessProbe: null, env: [{ name: 'A', $patch: 'delete' }] },
      { name: 'proxy', image: 'proxy:1' },
    ]);
    expect(out).toEqual([
      {
        name: 'web',
        image: 'web:1',
        ports: [{ containerPort: 8080, protocol: 'TCP' }],
        env: [{ name: 'B', value: '2' }],
      },
      { name: 'proxy', image: 'proxy:1' },
    ]);
  });

  it('replaces lists without a merge key, and lists or maps marked $patch: replace', () => {
    const out = apply({
      spec: {
        triggers: [{ type: 'ConfigChange' }],
        template: {
          metadata: { labels: { $patch: 'replace', app: 'web2' } },
          spec: {
            tolerations: [],
            volumes: [{ $patch: 'replace' }, { name: 'cache', emptyDir: {} }],
          },
        },
      },
    });
    expect(out.spec.triggers).toEqual([{ type: 'ConfigChange' }]);
    expect(out.spec.template.metadata.labels).toEqual({ app: 'web2' });
    expect(out.spec.template.spec.tolerations).toEqual([]);
    expect(out.spec.template.spec.volumes).toEqual([{ name: 'cache', emptyDir: {} }]);
  });

  it('merges finalizers as a set and removes values with $deleteFromPrimitiveList', () => {
    expect(apply({ metadata: { finalizers: ['b', 'a'] } }).metadata.finalizers).toEqual(['a', 'b']);
    expect(
      apply({ metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }).metadata.finalizers,
    ).toEqual([]);
  });

  it('merges Service ports by port and ignores the directives kubectl apply sends', () => {
    const svc = {
      kind: 'Service',
      spec: {
        ports: [
          { name: 'http', port: 80, targetPort: 8080 },
          { name: 'https', port: 443, targetPort: 8443 },
        ],
      },
    };
    const out = applyStrategicMergePatch(
      svc,
      {
        spec: {
          '$setElementOrder/ports': [{ port: 80 }, { port: 443 }],
          ports: [{ port: 80, targetPort: 9090 }],
        },
      },
      strategicSchemaFor('Service'),
    );
    expect(out).toEqual({
      kind: 'Service',
      spec: {
        ports: [
          { name: 'http', port: 80, targetPort: 9090 },
          { name: 'https', port: 443, targetPort: 8443 },
        ],
      },
    });
  });

  it('merges other kinds as a JSON merge patch', () => {
    const cm = { kind: 'ConfigMap', data: { a: '1', b: '2' }, list: [1, 2] };
    expect(
      applyStrategicMergePatch(
        cm,
        { data: { b: null, c: '3' }, list: [3] },
        strategicSchemaFor('ConfigMap'),
      ),
    ).toEqual({ kind: 'ConfigMap', data: { a: '1', c: '3' }, list: [3] });
  });

  it('names the path of a patch it cannot apply', () => {
    const fail = (patch: Record<string, unknown>): string => {
      try {
        apply(patch);
      } catch (err) {
        expect(err).toBeInstanceOf(ApiError);
        return (err as Error).message;
      }
      throw new Error('applied');
    };
    expect(fail({ spec: { template: { spec: { containers: [{ image: 'x' }] } } } })).toBe(
      'the strategic merge patch cannot be applied: spec.template.spec.containers[0]: has no "name", the key this list is merged by',
    );
    expect(fail({ spec: { template: { spec: { containers: ['web'] } } } })).toContain(
      'spec.template.spec.containers[0]: must be an object with "name"',
    );
    expect(fail({ spec: { $patch: 'remove' } })).toContain(
      'spec: $patch must be replace, delete or merge, not "remove"',
    );
    expect(fail({ spec: { $bogus: 1 } })).toContain('spec: unknown directive $bogus');
  });

  it('never writes to an object prototype', () => {
    const out = applyStrategicMergePatch(
      {},
      JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>,
      strategicSchemaFor('Pod'),
    ) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(out)).toEqual(['__proto__']);
  });
});

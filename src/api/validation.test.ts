import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import {
  builtinKinds,
  configMapKind,
  podKind,
  projectKind,
  routeKind,
  secretKind,
} from './kinds/index.js';
import { fieldPath, validateObject, withoutNulls } from './validation.js';

function invalid(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an Invalid error');
}

const pod = (spec: unknown, metadata: Record<string, unknown> = { name: 'web' }): unknown => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata,
  spec,
});

describe('fieldPath', () => {
  it('writes Kubernetes field paths', () => {
    expect(fieldPath(['spec', 'containers', 0, 'image'])).toBe('spec.containers[0].image');
    expect(fieldPath(['metadata', 'labels', 'app.kubernetes.io/name'])).toBe(
      'metadata.labels[app.kubernetes.io/name]',
    );
  });
});

describe('validateObject', () => {
  it('accepts a valid pod and returns the canonical object', () => {
    const obj = validateObject(podKind, pod({ containers: [{ name: 'web', image: 'nginx' }] }));
    expect(obj.apiVersion).toBe('v1');
    expect(obj.kind).toBe('Pod');
    expect(obj.metadata.name).toBe('web');
  });

  it('names the missing field the way kubectl users read it', () => {
    const err = invalid(() => validateObject(podKind, pod({ containers: [{ name: 'web' }] })));
    expect(err.reason).toBe('Invalid');
    expect(err.code).toBe(422);
    expect(err.message).toBe('Pod "web" is invalid: spec.containers[0].image: Required value');
    expect(err.details?.causes).toEqual([
      {
        field: 'spec.containers[0].image',
        message: 'Required value',
        reason: 'FieldValueRequired',
      },
    ]);
  });

  it('reports wrong types with the value and the expected type', () => {
    const err = invalid(() =>
      validateObject(podKind, pod({ containers: [{ name: 'web', image: 3 }] })),
    );
    expect(err.message).toContain('spec.containers[0].image: Invalid value: 3: must be a string');
  });

  it('requires at least one container', () => {
    const err = invalid(() => validateObject(podKind, pod({ containers: [] })));
    expect(err.message).toContain('spec.containers: Required value');
  });

  it('rejects invalid names, labels and namespaces with the offending value', () => {
    const err = invalid(() =>
      validateObject(
        podKind,
        pod(
          { containers: [{ name: 'Web_1', image: 'nginx' }] },
          { name: 'Bad_Name', namespace: 'NS', labels: { 'a b': 'ok', app: 'x'.repeat(64) } },
        ),
      ),
    );
    const fields = err.details?.causes?.map((c) => c.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'metadata.name',
        'metadata.namespace',
        'metadata.labels',
        'metadata.labels[app]',
      ]),
    );
    expect(err.message).toContain('metadata.name: Invalid value: "Bad_Name"');
  });

  it('checks container names and duplicate names', () => {
    const err = invalid(() =>
      validateObject(
        podKind,
        pod({
          containers: [
            { name: 'a', image: 'x' },
            { name: 'a', image: 'y' },
          ],
        }),
      ),
    );
    expect(err.message).toContain('spec.containers[1].name: Duplicate value: "a"');
  });

  it('requires a name or generateName', () => {
    const err = invalid(() =>
      validateObject(configMapKind, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }),
    );
    expect(err.details?.causes?.[0]?.field).toBe('metadata.name');
  });

  it('refuses a namespace on cluster-scoped kinds', () => {
    const err = invalid(() =>
      validateObject(projectKind, {
        apiVersion: 'project.openshift.io/v1',
        kind: 'Project',
        metadata: { name: 'p', namespace: 'x' },
      }),
    );
    expect(err.details?.causes?.[0]?.field).toBe('metadata.namespace');
  });

  it('project names are DNS-1123 labels', () => {
    const err = invalid(() =>
      validateObject(projectKind, {
        apiVersion: 'project.openshift.io/v1',
        kind: 'Project',
        metadata: { name: 'a.b' },
      }),
    );
    expect(err.details?.causes?.[0]?.field).toBe('metadata.name');
  });

  it('rejects secrets whose data is not base64, and encodes stringData', () => {
    const err = invalid(() =>
      validateObject(secretKind, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's' },
        data: { k: 'not base64!' },
      }),
    );
    expect(err.details?.causes?.[0]?.field).toBe('data.k');
    const ok = validateObject(secretKind, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      stringData: { password: 'hunter2' },
    });
    expect(ok.data).toEqual({ password: Buffer.from('hunter2').toString('base64') });
    expect(ok.stringData).toBeUndefined();
    expect(ok.type).toBe('Opaque');
  });

  it('rejects invalid configmap keys and oversize objects', () => {
    const bad = invalid(() =>
      validateObject(configMapKind, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c' },
        data: { 'a/b': 'x' },
      }),
    );
    expect(bad.details?.causes?.[0]?.field).toBe('data[a/b]');
    const big = invalid(() =>
      validateObject(configMapKind, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'c' },
        data: { a: 'x'.repeat(1024 * 1024 + 1) },
      }),
    );
    expect(big.message).toContain('Too long');
  });

  it('refuses a body that is not a mapping', () => {
    expect(invalid(() => validateObject(podKind, [1, 2])).reason).toBe('Invalid');
  });
});

describe('null fields', () => {
  it('reads a null field as an unset one, at any depth, as exported YAML has them', () => {
    const route = validateObject(routeKind, {
      apiVersion: 'route.openshift.io/v1',
      kind: 'Route',
      metadata: { name: 'hello', creationTimestamp: null, labels: null },
      spec: { host: 'a.example', to: { kind: 'Service', name: 'hello' }, tls: null },
      status: { ingress: null },
    });
    expect(route.metadata).toEqual({ name: 'hello' });
    expect(route.spec).toEqual({
      host: 'a.example',
      to: { kind: 'Service', name: 'hello', weight: 100 },
      wildcardPolicy: 'None',
    });
    expect(route.status).toEqual({});
  });

  it('keeps list items as they are, so a null item is still refused by its field', () => {
    expect(withoutNulls({ a: [null, { b: null, c: 1 }] })).toEqual({ a: [null, { c: 1 }] });
  });
});

describe('KindRegistry', () => {
  const kinds = builtinKinds();

  it('finds kinds by what users type', () => {
    for (const name of ['pods', 'pod', 'po', 'Pod', 'PODS'])
      expect(kinds.forUserName(name)?.kind).toBe('Pod');
    expect(kinds.forUserName('cm')?.kind).toBe('ConfigMap');
    expect(kinds.forUserName('projects.project.openshift.io')?.kind).toBe('Project');
    expect(kinds.forUserName('nope')).toBeUndefined();
  });

  it('accepts the bare v1 apiVersion for OpenShift kinds', () => {
    expect(kinds.forObject('v1', 'Project')?.group).toBe('project.openshift.io');
    expect(kinds.forObject('project.openshift.io/v1', 'Project')?.plural).toBe('projects');
    expect(kinds.forObject('apps/v1', 'Pod')).toBeUndefined();
  });

  it('looks kinds up by URL resource', () => {
    expect(kinds.forResource('', 'v1', 'secrets')?.kind).toBe('Secret');
    expect(kinds.forResource('project.openshift.io', 'v1', 'projectrequests')?.verbs).toEqual([
      'create',
      'list',
    ]);
  });

  it('refuses to register a resource twice', () => {
    expect(() => kinds.register(podKind)).toThrow(/registered twice/);
  });
});

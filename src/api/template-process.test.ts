import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import type { Template } from './kinds/template.js';
import { processTemplate, substitute, unknownParameters } from './template-process.js';

/** The value at a dotted path of a processed object. */
function at(value: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);
}

function template(overrides: Partial<Template> = {}): Template {
  return {
    apiVersion: 'template.openshift.io/v1',
    kind: 'Template',
    metadata: { name: 'app' },
    parameters: [
      { name: 'NAME', value: 'web' },
      { name: 'REPLICAS', value: '2' },
      { name: 'PASSWORD', generate: 'expression', from: '[a-f0-9]{12}' },
    ],
    objects: [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: '${NAME}-creds', namespace: 'elsewhere', labels: { app: 'x' } },
        stringData: { password: '${PASSWORD}', url: 'http://${NAME}:${NAME}@db/${UNKNOWN}' },
      },
      {
        apiVersion: 'apps.openshift.io/v1',
        kind: 'DeploymentConfig',
        metadata: { name: '${NAME}' },
        spec: {
          replicas: '${{REPLICAS}}',
          selector: { app: '${NAME}' },
          template: { metadata: { labels: { app: '${NAME}' } } },
        },
      },
    ],
    ...overrides,
  };
}

function failure(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError');
}

describe('processTemplate', () => {
  it('substitutes strings, raw values, generated values and drops literal namespaces', () => {
    const out = processTemplate(template());
    const [secret, dc] = out.objects;
    const password = out.parameters.find((p) => p.name === 'PASSWORD')!.value!;
    expect(password).toMatch(/^[a-f0-9]{12}$/);
    expect(secret!.metadata).toEqual({ name: 'web-creds', labels: { app: 'x' } });
    expect(secret!.stringData).toEqual({
      password,
      url: 'http://web:web@db/${UNKNOWN}',
    });
    expect(at(dc, 'spec.replicas')).toBe(2);
    expect(at(dc, 'spec.selector')).toEqual({ app: 'web' });
  });

  it('uses given values over defaults and instead of generating', () => {
    const out = processTemplate(template(), { values: { NAME: 'api', PASSWORD: 'fixed' } });
    const secret = out.objects[0];
    expect(secret!.metadata.name).toBe('api-creds');
    expect(at(secret, 'stringData.password')).toBe('fixed');
    expect(out.parameters[2]).toEqual({ name: 'PASSWORD', from: '[a-f0-9]{12}', value: 'fixed' });
  });

  it('adds the labels (substituted) to metadata only, replacing equal keys', () => {
    const out = processTemplate(template({ labels: { app: '${NAME}', template: 'app' } }), {
      labels: { team: 'blue' },
    });
    const [secret, dc] = out.objects;
    expect(out.labels).toEqual({ app: 'web', template: 'app', team: 'blue' });
    expect(secret!.metadata.labels).toEqual({ app: 'web', template: 'app', team: 'blue' });
    expect(dc!.metadata.labels).toEqual({ app: 'web', template: 'app', team: 'blue' });
    expect(at(dc, 'spec.template.metadata.labels')).toEqual({ app: 'web' });
  });

  it('keeps a namespace that refers to a parameter, substituted', () => {
    const out = processTemplate(
      template({
        parameters: [{ name: 'NS', value: 'team-a' }],
        objects: [
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: '${NS}' } },
        ],
      }),
    );
    expect(out.objects[0]!.metadata.namespace).toBe('team-a');
  });

  it('substitutes map keys and the message, and leaves the template unchanged', () => {
    const t = template({
      message: 'Your password is ${PASSWORD}',
      objects: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'c' },
          data: { '${NAME}.conf': 'x' },
        },
      ],
    });
    const before = structuredClone(t);
    const out = processTemplate(t, { values: { PASSWORD: 'p' } });
    expect(out.objects[0]!.data).toEqual({ 'web.conf': 'x' });
    expect(out.message).toBe('Your password is p');
    expect(t).toEqual(before);
  });

  it('parses ${{NAME}} as JSON, or keeps the text', () => {
    const values = new Map([
      ['N', '3'],
      ['B', 'true'],
      ['O', '{"a":[1]}'],
      ['S', 'plain text'],
    ]);
    expect(substitute(values, '${{N}}')).toBe(3);
    expect(substitute(values, '${{B}}')).toBe(true);
    expect(substitute(values, '${{O}}')).toEqual({ a: [1] });
    expect(substitute(values, '${{S}}')).toBe('plain text');
    expect(substitute(values, 'x-${{N}}')).toBe('x-${{N}}');
    expect(substitute(values, '${N}${N}')).toBe('33');
    expect(substitute(values, '${{MISSING}}')).toBe('${{MISSING}}');
  });

  it('names every required parameter left empty', () => {
    const err = failure(() =>
      processTemplate(
        template({
          parameters: [
            { name: 'DB_USER', required: true },
            { name: 'DB_PASSWORD', required: true, value: '' },
            { name: 'OPTIONAL' },
            { name: 'GENERATED', required: true, generate: 'expression', from: '[a-z]{4}' },
          ],
        }),
      ),
    );
    expect(err.reason).toBe('Invalid');
    expect(err.details?.causes).toEqual([
      {
        field: 'parameters[0]',
        message: 'Required value: parameter DB_USER is required and must be specified',
      },
      {
        field: 'parameters[1]',
        message: 'Required value: parameter DB_PASSWORD is required and must be specified',
      },
    ]);
  });

  it('refuses unknown given values and bad expressions', () => {
    expect(unknownParameters(template(), ['NAME', 'NOPE', 'ALSO'])).toEqual(['NOPE', 'ALSO']);
    const err = failure(() => processTemplate(template(), { values: { NOPE: '1' } }));
    expect(err.details?.causes).toEqual([
      { field: 'parameters', message: 'Invalid value: "NOPE": unknown parameter name' },
    ]);
    const bad = failure(() =>
      processTemplate(
        template({ parameters: [{ name: 'X', generate: 'expression', from: '[a-z]+' }] }),
      ),
    );
    expect(bad.message).toMatch(
      /parameters\[0\]\.from: Invalid value: parameter X: malformed expression/,
    );
  });
});

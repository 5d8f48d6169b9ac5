import { describe, expect, it } from 'vitest';
import type { Container, Pod } from '../../src/api/index.js';
import { expandVars, resolveEnv, type EnvSources } from './env.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function sources(extra: Partial<EnvSources> = {}): EnvSources {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-1',
      namespace: 'shop',
      uid: 'u-1',
      labels: { app: 'web' },
      annotations: { note: 'hi' },
    },
    spec: {
      containers: [
        { name: 'app', image: 'img', resources: { limits: { memory: '128Mi', cpu: '500m' } } },
      ],
    },
  };
  return {
    pod,
    nodeName: 'node-a',
    configMaps: {
      cfg: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'cfg' },
        data: { MODE: 'prod', 'bad key': 'x', LEVEL: 'debug' },
      },
    },
    secrets: {
      db: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db' },
        data: { password: b64('s3cret'), USER: b64('admin') },
      },
    },
    podIP: '172.17.0.5',
    hostIP: '10.0.0.1',
    ...extra,
  };
}

const c = (extra: Partial<Container>): Container => ({ name: 'app', image: 'img', ...extra });

describe('expandVars', () => {
  const vars: Record<string, string> = { A: 'a', B: 'b' };
  const lookup = (n: string): string | undefined => vars[n];
  it.each([
    ['$(A)-$(B)', 'a-b'],
    ['$$(A)', '$(A)'],
    ['$(MISSING)', '$(MISSING)'],
    ['$A', '$A'],
    ['$(A', '$(A'],
    ['$()', '$()'],
    ['cost: $$5', 'cost: $5'],
    ['end$', 'end$'],
  ])('%s -> %s', (input, out) => {
    expect(expandVars(input, lookup)).toBe(out);
  });
});

describe('resolveEnv', () => {
  it('applies envFrom then env, with prefixes, overrides and expansion', () => {
    const r = resolveEnv(
      sources(),
      c({
        envFrom: [{ configMapRef: { name: 'cfg' } }, { secretRef: { name: 'db' }, prefix: 'DB_' }],
        env: [
          { name: 'MODE', value: 'dev' },
          { name: 'GREETING', value: 'mode=$(MODE) user=$(DB_USER) $(NOPE)' },
          { name: 'PASS', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
          { name: 'LVL', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'LEVEL' } } },
        ],
      }),
    );
    expect(r).toEqual({
      ok: true,
      env: [
        ['MODE', 'dev'],
        ['LEVEL', 'debug'],
        ['DB_password', 's3cret'],
        ['DB_USER', 'admin'],
        ['GREETING', 'mode=dev user=admin $(NOPE)'],
        ['PASS', 's3cret'],
        ['LVL', 'debug'],
      ],
      warnings: ['skipped invalid environment variable name "bad key" from envFrom'],
    });
  });

  it('resolves the downward API', () => {
    const r = resolveEnv(
      sources(),
      c({
        env: [
          { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
          { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
          {
            name: 'MEM',
            valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } },
          },
          {
            name: 'CPU',
            valueFrom: { resourceFieldRef: { resource: 'limits.cpu', containerName: 'app' } },
          },
        ],
        resources: { limits: { memory: '128Mi', cpu: '500m' } },
      }),
    );
    expect(r.ok && Object.fromEntries(r.env)).toEqual({
      NAME: 'web-1',
      NS: 'shop',
      UID: 'u-1',
      APP: 'web',
      NODE: 'node-a',
      IP: '172.17.0.5',
      HOST: '10.0.0.1',
      MEM: '128',
      CPU: '1',
    });
  });

  it('reports missing references the way Kubernetes does', () => {
    const msg = (container: Container): string => {
      const r = resolveEnv(sources(), container);
      return r.ok ? 'ok' : r.message;
    };
    expect(
      msg(c({ env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] })),
    ).toBe('configmap "nope" not found');
    expect(
      msg(c({ env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }] })),
    ).toBe("couldn't find key k in ConfigMap shop/cfg");
    expect(
      msg(c({ env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'k' } } }] })),
    ).toBe("couldn't find key k in Secret shop/db");
    expect(msg(c({ envFrom: [{ secretRef: { name: 'gone' } }] }))).toBe('secret "gone" not found');
    expect(
      msg(c({ env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }] })),
    ).toBe('unsupported fieldPath: spec.bogus');
  });

  it('skips optional references that are missing', () => {
    const r = resolveEnv(
      sources(),
      c({
        envFrom: [{ configMapRef: { name: 'nope', optional: true } }],
        env: [
          { name: 'A', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } },
          { name: 'B', valueFrom: { secretKeyRef: { name: 'db', key: 'k', optional: true } } },
          { name: 'C', value: 'c' },
        ],
      }),
    );
    expect(r).toEqual({ ok: true, env: [['C', 'c']], warnings: [] });
  });
});

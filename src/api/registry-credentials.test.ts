import { describe, expect, it } from 'vitest';
import type { Pod } from './kinds/pod.js';
import type { Secret } from './kinds/secret.js';
import { keyLocation, pullCredentials } from './registry-credentials.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function dockerConfigJson(name: string, auths: Record<string, unknown>): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': b64(JSON.stringify({ auths })) },
  };
}

function pod(...pullSecrets: string[]): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns' },
    spec: {
      containers: [{ name: 'app', image: 'x' }],
      imagePullSecrets: pullSecrets.map((name) => ({ name })),
    },
  };
}

describe('keyLocation', () => {
  it('knows Docker Hub by all its names, and its legacy key', () => {
    expect(keyLocation('https://index.docker.io/v1/')).toEqual({ host: 'docker.io', path: '' });
    expect(keyLocation('registry-1.docker.io')).toEqual({ host: 'docker.io', path: '' });
    expect(keyLocation('Quay.io/team/')).toEqual({ host: 'quay.io', path: 'team' });
    expect(keyLocation('127.0.0.1:5000')).toEqual({ host: '127.0.0.1:5000', path: '' });
  });
});

describe('pullCredentials', () => {
  const secrets = {
    hub: dockerConfigJson('hub', {
      'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pw') },
    }),
    quay: dockerConfigJson('quay', {
      'quay.io': { username: 'all', password: 'p1' },
      'quay.io/team': { username: 'team', password: 'p2' },
    }),
    legacy: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'legacy' },
      type: 'kubernetes.io/dockercfg',
      data: {
        '.dockercfg': b64(JSON.stringify({ 'registry.example.com': { auth: b64('old:pw') } })),
      },
    } satisfies Secret,
  };

  it('picks the entry of the image registry, the longest path first', () => {
    expect(pullCredentials(pod('hub', 'quay'), 'team/app', secrets).auth).toEqual({
      username: 'hubuser',
      password: 'hub:pw',
      serveraddress: 'https://index.docker.io/v1/',
    });
    expect(pullCredentials(pod('hub', 'quay'), 'quay.io/team/app:1', secrets).auth).toMatchObject({
      username: 'team',
    });
    expect(pullCredentials(pod('hub', 'quay'), 'quay.io/teamwork/app', secrets).auth).toMatchObject(
      {
        username: 'all',
      },
    );
    expect(pullCredentials(pod('legacy'), 'registry.example.com/a/b', secrets).auth).toEqual({
      username: 'old',
      password: 'pw',
      serveraddress: 'registry.example.com',
    });
  });

  it('has none for other registries, for secrets the pod does not name, and without secrets', () => {
    expect(pullCredentials(pod('hub'), 'quay.io/team/app', secrets)).toEqual({ missing: [] });
    expect(pullCredentials(pod(), 'quay.io/team/app', secrets)).toEqual({ missing: [] });
  });

  it('names the pull secrets that do not exist', () => {
    expect(pullCredentials(pod('gone', 'hub'), 'nginx', secrets)).toMatchObject({
      missing: ['gone'],
      auth: { username: 'hubuser' },
    });
  });

  it('ignores what does not parse', () => {
    const broken: Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'broken' },
      data: { '.dockerconfigjson': b64('{not json') },
    };
    expect(pullCredentials(pod('broken'), 'nginx', { broken })).toEqual({ missing: [] });
  });
});

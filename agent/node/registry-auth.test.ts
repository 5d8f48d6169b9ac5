import { describe, expect, it } from 'vitest';
import { ClusterRegistryAuth, type RegistryTokenSource } from './registry-auth.js';

const REGISTRY = '127.0.0.1:5000';

function source(options: { registry?: string; failInfo?: boolean } = {}) {
  const asked: string[][] = [];
  let infos = 0;
  let issued = 0;
  const fake: RegistryTokenSource = {
    clusterRegistry: () => {
      infos += 1;
      if (options.failInfo) return Promise.reject(new Error('connection refused'));
      return Promise.resolve(
        options.registry === undefined
          ? { address: REGISTRY, service: 'slipway-registry' }
          : options.registry === ''
            ? undefined
            : { address: options.registry, service: 'slipway-registry' },
      );
    },
    registryToken: (service, scopes) => {
      expect(service).toBe('slipway-registry');
      asked.push([...scopes]);
      issued += 1;
      return Promise.resolve({ token: `token-${issued}`, expires_in: 300 });
    },
  };
  return { fake, asked, counts: () => ({ infos, issued }) };
}

describe('ClusterRegistryAuth', () => {
  it('asks for a token scoped to the image repository, with pull on the builder for a push', async () => {
    const s = source();
    const auth = new ClusterRegistryAuth(s.fake);
    expect(
      await auth.authFor(`${REGISTRY}/a/app:latest`, ['pull', 'push'], {
        alsoPull: [`${REGISTRY}/openshift/nodejs@sha256:${'1'.repeat(64)}`, 'docker.io/library/x'],
      }),
    ).toEqual({ registrytoken: 'token-1' });
    expect(s.asked).toEqual([['repository:a/app:pull,push', 'repository:openshift/nodejs:pull']]);
  });

  it('gives nothing for images of other registries, or when the cluster has none', async () => {
    const s = source();
    const auth = new ClusterRegistryAuth(s.fake);
    expect(await auth.authFor('quay.io/a/app:1', ['pull'])).toBeUndefined();
    expect(await auth.authFor('nginx', ['pull'])).toBeUndefined();
    expect(s.asked).toEqual([]);
    const none = new ClusterRegistryAuth(source({ registry: '' }).fake);
    expect(await none.authFor(`${REGISTRY}/a/app`, ['pull'])).toBeUndefined();
    // A master that cannot answer leaves other registries' pulls alone.
    const down = new ClusterRegistryAuth(source({ failInfo: true }).fake);
    expect(await down.authFor(`${REGISTRY}/a/app`, ['pull'])).toBeUndefined();
  });

  it('reuses a token until a minute before it expires, and the address for a minute', async () => {
    let now = 0;
    const s = source();
    const auth = new ClusterRegistryAuth(s.fake, { now: () => now });
    const image = `${REGISTRY}/a/app:latest`;
    expect(await auth.authFor(image, ['pull'])).toEqual({ registrytoken: 'token-1' });
    now = 239_000;
    expect(await auth.authFor(image, ['pull'])).toEqual({ registrytoken: 'token-1' });
    // Another scope is another token.
    expect(await auth.authFor(image, ['pull', 'push'])).toEqual({ registrytoken: 'token-2' });
    now = 240_000;
    expect(await auth.authFor(image, ['pull'])).toEqual({ registrytoken: 'token-3' });
    expect(s.counts().infos).toBe(2);
  });
});

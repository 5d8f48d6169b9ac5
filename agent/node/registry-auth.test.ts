import { describe, expect, it } from 'vitest';
import { ClusterRegistryAuth, type ClusterRegistrySource } from './registry-auth.js';

const REGISTRY = '127.0.0.1:5000';

function source(answer: 'registry' | 'none' | 'down' = 'registry') {
  let asked = 0;
  const fake: ClusterRegistrySource = {
    clusterRegistry: () => {
      asked += 1;
      if (answer === 'down') return Promise.reject(new Error('connection refused'));
      return Promise.resolve(
        answer === 'none' ? undefined : { address: REGISTRY, service: 'slipway-registry' },
      );
    },
  };
  return { fake, asked: () => asked };
}

describe('ClusterRegistryAuth', () => {
  it("gives the engine the node's token for images of the cluster registry, to ask for scopes itself", async () => {
    const auth = new ClusterRegistryAuth(source().fake, 'node-token');
    expect(await auth.authFor(`${REGISTRY}/a/app:latest`)).toEqual({
      username: 'node',
      password: 'node-token',
      serveraddress: REGISTRY,
    });
  });

  it('gives nothing for images of other registries, or when the cluster has none', async () => {
    const auth = new ClusterRegistryAuth(source().fake, 'node-token');
    expect(await auth.authFor('quay.io/a/app:1')).toBeUndefined();
    expect(await auth.authFor('nginx')).toBeUndefined();
    const none = new ClusterRegistryAuth(source('none').fake, 'node-token');
    expect(await none.authFor(`${REGISTRY}/a/app`)).toBeUndefined();
    // A master that cannot answer leaves other registries' pulls alone.
    const down = new ClusterRegistryAuth(source('down').fake, 'node-token');
    expect(await down.authFor(`${REGISTRY}/a/app`)).toBeUndefined();
  });

  it('asks where the registry is once a minute, and again 5 s after a failure', async () => {
    let now = 0;
    const s = source();
    const auth = new ClusterRegistryAuth(s.fake, 'node-token', { now: () => now });
    await auth.authFor(`${REGISTRY}/a/app`);
    now = 59_999;
    await auth.authFor(`${REGISTRY}/a/app`);
    expect(s.asked()).toBe(1);
    now = 60_000;
    await auth.authFor(`${REGISTRY}/a/app`);
    expect(s.asked()).toBe(2);
    const down = source('down');
    const failing = new ClusterRegistryAuth(down.fake, 'node-token', { now: () => now });
    await failing.authFor(`${REGISTRY}/a/app`);
    now += 4_999;
    await failing.authFor(`${REGISTRY}/a/app`);
    expect(down.asked()).toBe(1);
    now += 1;
    await failing.authFor(`${REGISTRY}/a/app`);
    expect(down.asked()).toBe(2);
  });
});

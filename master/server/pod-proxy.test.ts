import { describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/index.js';
import { builtinKinds } from '../../src/api/kinds/index.js';
import { agentEndpoint, selectContainer } from './pod-proxy.js';
import { parseRoute } from './routing.js';

const pod = (containers: string[], init: string[] = []): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'ns' },
  spec: {
    containers: containers.map((name) => ({ name, image: 'img' })),
    ...(init.length ? { initContainers: init.map((name) => ({ name, image: 'img' })) } : {}),
  },
});

describe('pod proxy', () => {
  it('defaults to the only container and otherwise asks like kubectl', () => {
    expect(selectContainer(pod(['web']), undefined)).toBe('web');
    expect(selectContainer(pod(['a', 'b']), 'b')).toBe('b');
    expect(selectContainer(pod(['a'], ['setup']), 'setup')).toBe('setup');
    expect(() => selectContainer(pod(['a', 'b']), undefined)).toThrow(
      'a container name must be specified for pod p, choose one of: [a b]',
    );
    expect(() => selectContainer(pod(['a', 'b'], ['setup']), '')).toThrow(
      'choose one of: [a b] or one of the init containers: [setup]',
    );
    expect(() => selectContainer(pod(['a']), 'x')).toThrow('container x is not valid for pod p');
  });

  it("finds the agent's address and port in the Node status", () => {
    const node = (status: unknown) => ({ status });
    const endpoints = { daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } };
    expect(
      agentEndpoint(
        node({
          addresses: [
            { type: 'Hostname', address: 'n1' },
            { type: 'InternalIP', address: '10.0.0.5' },
          ],
          ...endpoints,
        }),
      ),
    ).toEqual({ host: '10.0.0.5', port: 10250 });
    expect(
      agentEndpoint(node({ addresses: [{ type: 'Hostname', address: 'n1' }], ...endpoints })),
    ).toEqual({ host: 'n1', port: 10250 });
    expect(agentEndpoint(node({ addresses: [], ...endpoints }))).toBeUndefined();
    expect(
      agentEndpoint(node({ addresses: [{ type: 'InternalIP', address: '10.0.0.5' }] })),
    ).toBeUndefined();
    expect(agentEndpoint(node(undefined))).toBeUndefined();
  });

  it('routes pods/log and pods/exec, and only for pods', () => {
    const registry = builtinKinds();
    expect(parseRoute(registry, '/api/v1/namespaces/ns/pods/p/log')).toMatchObject({
      type: 'resource',
      namespace: 'ns',
      name: 'p',
      subresource: 'log',
    });
    expect(parseRoute(registry, '/api/v1/namespaces/ns/pods/p/exec')).toMatchObject({
      subresource: 'exec',
    });
    expect(() => parseRoute(registry, '/api/v1/namespaces/ns/configmaps/c/log')).toThrow(
      'configmaps have no subresource "log"',
    );
  });
});

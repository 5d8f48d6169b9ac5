import { describe, expect, it } from 'vitest';
import type { Endpoints } from '../../../src/api/kinds/endpoints.js';
import { computeSubsets, desiredEndpoints, HEADLESS_LABEL } from './endpoints.js';
import { pod, service } from './testing.js';

const ref = (name: string) => ({ kind: 'Pod', namespace: 'ns', name, uid: `uid-${name}` });

describe('computeSubsets', () => {
  it('lists ready pods as addresses and the others as notReadyAddresses', () => {
    const subsets = computeSubsets(service('s'), [
      pod('b', { ip: '10.1.0.2' }),
      pod('a', { ip: '10.1.0.1' }),
      pod('slow', { ip: '10.1.0.3', ready: false }),
      pod('no-ip'),
      pod('other', { ip: '10.1.0.9', labels: { app: 'db' } }),
      pod('elsewhere', { ip: '10.1.0.8', namespace: 'other' }),
      pod('done', { ip: '10.1.0.7', phase: 'Succeeded' }),
    ]);
    expect(subsets).toEqual([
      {
        addresses: [
          { ip: '10.1.0.1', nodeName: 'n1', targetRef: ref('a') },
          { ip: '10.1.0.2', nodeName: 'n1', targetRef: ref('b') },
        ],
        notReadyAddresses: [{ ip: '10.1.0.3', nodeName: 'n1', targetRef: ref('slow') }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);
  });

  it('drops terminating pods unless the Service publishes not-ready addresses', () => {
    const pods = [pod('t', { ip: '10.1.0.1', terminating: true, ready: false })];
    expect(computeSubsets(service('s'), pods)).toEqual([]);
    const publishing = service('s', { publishNotReadyAddresses: true });
    expect(computeSubsets(publishing, pods)).toEqual([
      {
        addresses: [{ ip: '10.1.0.1', nodeName: 'n1', targetRef: ref('t') }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);
  });

  it('resolves named targetPorts per pod and groups pods by the ports they have', () => {
    const svc = service('s', {
      ports: [
        { name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' },
        { name: 'metrics', port: 9090, targetPort: 9100, protocol: 'TCP' },
      ],
    });
    const subsets = computeSubsets(svc, [
      pod('new', { ip: '10.1.0.1', ports: [{ name: 'web', containerPort: 8081 }] }),
      pod('old', { ip: '10.1.0.2', ports: [{ name: 'web', containerPort: 8080 }] }),
      pod('bare', { ip: '10.1.0.3' }),
    ]);
    expect(subsets).toEqual([
      {
        addresses: [{ ip: '10.1.0.2', nodeName: 'n1', targetRef: ref('old') }],
        ports: [
          { name: 'http', port: 8080, protocol: 'TCP' },
          { name: 'metrics', port: 9100, protocol: 'TCP' },
        ],
      },
      {
        addresses: [{ ip: '10.1.0.1', nodeName: 'n1', targetRef: ref('new') }],
        ports: [
          { name: 'http', port: 8081, protocol: 'TCP' },
          { name: 'metrics', port: 9100, protocol: 'TCP' },
        ],
      },
      {
        addresses: [{ ip: '10.1.0.3', nodeName: 'n1', targetRef: ref('bare') }],
        ports: [{ name: 'metrics', port: 9100, protocol: 'TCP' }],
      },
    ]);
  });

  it('leaves out a pod that resolves none of the ports; a portless headless Service lists it', () => {
    const named = service('s', { ports: [{ port: 80, targetPort: 'web', protocol: 'TCP' }] });
    expect(computeSubsets(named, [pod('bare', { ip: '10.1.0.3' })])).toEqual([]);
    const headless = service('h', { clusterIP: 'None', ports: [] });
    expect(computeSubsets(headless, [pod('bare', { ip: '10.1.0.3' })])).toEqual([
      { addresses: [{ ip: '10.1.0.3', nodeName: 'n1', targetRef: ref('bare') }] },
    ]);
  });
});

describe('desiredEndpoints', () => {
  it('is undefined when the Endpoints are already right, and carries the Service labels', () => {
    const svc = service('h', { clusterIP: 'None' });
    const pods = [pod('a', { ip: '10.1.0.1' })];
    const made = desiredEndpoints(svc, pods, undefined)!;
    expect(made.metadata).toEqual({
      name: 'h',
      namespace: 'ns',
      labels: { app: 'web', [HEADLESS_LABEL]: '' },
    });
    const stored: Endpoints = {
      ...made,
      metadata: { ...made.metadata, resourceVersion: '7', uid: 'e' },
    };
    expect(desiredEndpoints(svc, pods, stored)).toBeUndefined();
    const changed = desiredEndpoints(svc, [...pods, pod('b', { ip: '10.1.0.2' })], stored)!;
    expect(changed.metadata.resourceVersion).toBe('7');
    expect(changed.subsets?.[0]?.addresses).toHaveLength(2);
  });
});

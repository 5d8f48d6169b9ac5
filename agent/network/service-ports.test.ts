import { describe, expect, it } from 'vitest';
import type { Endpoints } from '../../src/api/kinds/endpoints.js';
import type { Service } from '../../src/api/kinds/service.js';
import { servicePortEntries } from './service-ports.js';

function service(name: string, spec: Partial<Service['spec']>): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'ns' }, spec };
}

function endpoints(name: string, subsets: Endpoints['subsets']): Endpoints {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: 'ns' }, subsets };
}

describe('servicePortEntries', () => {
  it('maps each port to the ready addresses on the endpoints port of the same name', () => {
    const svc = service('web', {
      clusterIP: '172.30.0.5',
      ports: [
        { name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' },
        { name: 'metrics', port: 9100, targetPort: 9100, protocol: 'TCP' },
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'sctp', port: 7, protocol: 'SCTP' },
      ],
    });
    const ep = endpoints('web', [
      {
        addresses: [{ ip: '172.17.0.9' }, { ip: '172.17.0.10' }],
        notReadyAddresses: [{ ip: '172.17.0.11' }],
        ports: [
          { name: 'http', port: 8080, protocol: 'TCP' },
          { name: 'dns', port: 5353, protocol: 'UDP' },
        ],
      },
      // A pod that resolves only the metrics port (named targetPort missing on it).
      { addresses: [{ ip: '172.17.0.12' }], ports: [{ name: 'metrics', port: 9100 }] },
    ]);
    const entries = servicePortEntries([svc], (ns, name) =>
      ns === 'ns' && name === 'web' ? ep : undefined,
    );
    expect(entries).toEqual([
      {
        id: 'ns/web:dns',
        namespace: 'ns',
        name: 'web',
        protocol: 'udp',
        clusterIP: '172.30.0.5',
        port: 53,
        backends: [
          { ip: '172.17.0.9', port: 5353 },
          { ip: '172.17.0.10', port: 5353 },
        ],
      },
      {
        id: 'ns/web:http',
        namespace: 'ns',
        name: 'web',
        protocol: 'tcp',
        clusterIP: '172.30.0.5',
        port: 80,
        backends: [
          { ip: '172.17.0.9', port: 8080 },
          { ip: '172.17.0.10', port: 8080 },
        ],
      },
      {
        id: 'ns/web:metrics',
        namespace: 'ns',
        name: 'web',
        protocol: 'tcp',
        clusterIP: '172.30.0.5',
        port: 9100,
        backends: [{ ip: '172.17.0.12', port: 9100 }],
      },
    ]);
  });

  it('skips headless services and services without an IP; no Endpoints means no backends', () => {
    const entries = servicePortEntries(
      [
        service('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
        service('pending', { ports: [{ port: 80 }] }),
        service('lonely', { clusterIP: '172.30.0.7', ports: [{ port: 80 }] }),
      ],
      () => undefined,
    );
    expect(entries.map((e) => [e.id, e.backends.length])).toEqual([['ns/lonely', 0]]);
  });

  it('carries ClientIP affinity with its timeout (three hours unless configured)', () => {
    const entries = servicePortEntries(
      [
        service('a', {
          clusterIP: '172.30.0.8',
          ports: [{ port: 80 }],
          sessionAffinity: 'ClientIP',
        }),
        service('b', {
          clusterIP: '172.30.0.9',
          ports: [{ port: 80 }],
          sessionAffinity: 'ClientIP',
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
        }),
        service('c', { clusterIP: '172.30.0.10', ports: [{ port: 80 }], sessionAffinity: 'None' }),
      ],
      () => undefined,
    );
    expect(entries.map((e) => [e.id, e.affinitySeconds])).toEqual([
      ['ns/a', 10_800],
      ['ns/b', 60],
      ['ns/c', undefined],
    ]);
  });

  it('carries the nodePorts of NodePort and LoadBalancer services only', () => {
    const ports = [
      { name: 'http', port: 80, nodePort: 30080 },
      { name: 'dns', port: 53, protocol: 'UDP' as const, nodePort: 30053 },
    ];
    const entries = servicePortEntries(
      [
        service('np', { type: 'NodePort', clusterIP: '172.30.0.11', ports }),
        service('lb', {
          type: 'LoadBalancer',
          clusterIP: '172.30.0.12',
          ports: [{ port: 8443, nodePort: 31443 }],
        }),
        // A nodePort left on a ClusterIP service (the API refuses one) is not served.
        service('cip', { type: 'ClusterIP', clusterIP: '172.30.0.13', ports: [ports[0]!] }),
        service('plain', { clusterIP: '172.30.0.14', ports: [ports[0]!] }),
      ],
      () => endpoints('any', [{ addresses: [{ ip: '172.17.0.3' }], ports: [{ port: 80 }] }]),
    );
    expect(entries.map((e) => [e.id, e.protocol, e.nodePort])).toEqual([
      ['ns/cip:http', 'tcp', undefined],
      ['ns/lb', 'tcp', 31443],
      ['ns/np:dns', 'udp', 30053],
      ['ns/np:http', 'tcp', 30080],
      ['ns/plain:http', 'tcp', undefined],
    ]);
    expect(entries.filter((e) => 'nodePort' in e).map((e) => e.id)).toEqual([
      'ns/lb',
      'ns/np:dns',
      'ns/np:http',
    ]);
  });

  it('lets an override replace the Endpoints of a service', () => {
    const entries = servicePortEntries(
      [service('dns', { clusterIP: '172.30.0.10', ports: [{ name: 'dns', port: 53 }] })],
      () => endpoints('dns', [{ addresses: [{ ip: '172.17.0.3' }], ports: [{ port: 53 }] }]),
      (svc, _port, protocol) =>
        svc.metadata.name === 'dns'
          ? [{ ip: '172.17.0.1', port: protocol === 'tcp' ? 1 : 2 }]
          : undefined,
    );
    expect(entries[0]!.backends).toEqual([{ ip: '172.17.0.1', port: 1 }]);
  });
});

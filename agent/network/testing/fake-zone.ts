/**
 * Fake cluster data for the DNS unit tests: Services and Endpoints in memory, as `ZoneData`.
 */
import type { Endpoints } from '../../../src/api/kinds/endpoints.js';
import type { Service } from '../../../src/api/kinds/service.js';
import type { ZoneData } from '../dns-zone.js';

export class FakeZone implements ZoneData {
  readonly servicesByKey = new Map<string, Service>();
  readonly endpointsByKey = new Map<string, Endpoints>();

  addService(
    namespace: string,
    name: string,
    spec: Service['spec'],
    readyIPs?: (string | { ip: string; hostname: string })[],
  ): this {
    this.servicesByKey.set(`${namespace}/${name}`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace, name },
      spec,
    });
    if (readyIPs) {
      this.endpointsByKey.set(`${namespace}/${name}`, {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { namespace, name },
        subsets: [
          {
            addresses: readyIPs.map((a) => (typeof a === 'string' ? { ip: a } : a)),
            notReadyAddresses: [{ ip: '10.99.99.99' }],
            ports: [{ name: 'http', port: 8080 }],
          },
        ],
      });
    }
    return this;
  }

  service(namespace: string, name: string): Service | undefined {
    return this.servicesByKey.get(`${namespace}/${name}`);
  }

  endpoints(namespace: string, name: string): Endpoints | undefined {
    return this.endpointsByKey.get(`${namespace}/${name}`);
  }

  hasNamespace(namespace: string): boolean {
    return [...this.servicesByKey.values()].some((s) => s.metadata.namespace === namespace);
  }

  services(): Service[] {
    return [...this.servicesByKey.values()];
  }
}

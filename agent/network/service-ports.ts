/**
 * What the service proxy serves: from Services and their Endpoints to one entry per service
 * port with a virtual IP, each with the ready backends traffic to it goes to. Pure.
 *
 * As kube-proxy: a Service port reaches, on each ready address (`addresses`, never
 * `notReadyAddresses`), the Endpoints port of the same name and protocol; its number is the
 * resolved targetPort, so named targetPorts need nothing more here. Headless Services (and
 * Services without an IP yet) get no entry, nor do SCTP ports or IPv6 addresses (the proxy
 * programs IPv4 iptables only). The ports of a NodePort or LoadBalancer Service also carry their
 * nodePort (the API server allocates one for each), which the node serves on its own addresses.
 */
import { isIPv4 } from 'node:net';
import type { Endpoints } from '../../src/api/kinds/endpoints.js';
import {
  DEFAULT_AFFINITY_SECONDS,
  HEADLESS,
  hasNodePorts,
  type Service,
  type ServicePort,
} from '../../src/api/kinds/service.js';

export type Protocol = 'tcp' | 'udp';

export interface Backend {
  ip: string;
  port: number;
}

export interface ServicePortEntry {
  /** `NAMESPACE/NAME:PORT-NAME` (`NAMESPACE/NAME` for an unnamed port), for comments and logs. */
  id: string;
  namespace: string;
  name: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  /** The port on every node address that also reaches the backends (NodePort and
   * LoadBalancer Services). */
  nodePort?: number;
  /** Sorted by address then port, no duplicates; empty when nothing is ready. */
  backends: Backend[];
  /** `sessionAffinity: ClientIP`: a client keeps its endpoint for this long after its last
   * new connection. */
  affinitySeconds?: number;
}

/** Backends that replace the Endpoints of one service port (the cluster DNS, served by the
 * agent itself); undefined keeps the Endpoints'. */
export type BackendOverride = (
  service: Service,
  port: ServicePort,
  protocol: Protocol,
) => Backend[] | undefined;

function protocolOf(port: { protocol?: string | undefined }): Protocol | undefined {
  const p = port.protocol ?? 'TCP';
  return p === 'TCP' ? 'tcp' : p === 'UDP' ? 'udp' : undefined;
}

function compareBackends(a: Backend, b: Backend): number {
  const pa = a.ip.split('.').map(Number);
  const pb = b.ip.split('.').map(Number);
  for (let i = 0; i < 4; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.port - b.port;
}

/** A service port's `id`: `NAMESPACE/NAME:PORT-NAME`, or `NAMESPACE/NAME` for an unnamed port. */
export function servicePortId(namespace: string, name: string, portName?: string): string {
  return `${namespace}/${name}${portName ? `:${portName}` : ''}`;
}

/** The ready backends of one service port according to its Endpoints. */
export function readyBackends(
  endpoints: Endpoints | undefined,
  port: ServicePort,
  protocol: Protocol,
): Backend[] {
  const seen = new Set<string>();
  const out: Backend[] = [];
  for (const subset of endpoints?.subsets ?? []) {
    const match = (subset.ports ?? []).find(
      (p) => (p.name ?? '') === (port.name ?? '') && protocolOf(p) === protocol,
    );
    if (!match) continue;
    for (const address of subset.addresses ?? []) {
      if (!isIPv4(address.ip)) continue;
      const key = `${address.ip}:${match.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ ip: address.ip, port: match.port });
    }
  }
  return out.sort(compareBackends);
}

/** Every service port with a virtual IP, sorted by id and protocol. */
export function servicePortEntries(
  services: readonly Service[],
  endpointsOf: (namespace: string, name: string) => Endpoints | undefined,
  override?: BackendOverride,
): ServicePortEntry[] {
  const entries: ServicePortEntry[] = [];
  for (const svc of services) {
    const clusterIP = svc.spec.clusterIP ?? '';
    if (clusterIP === '' || clusterIP === HEADLESS || !isIPv4(clusterIP)) continue;
    const namespace = svc.metadata.namespace ?? '';
    const name = svc.metadata.name ?? '';
    const nodePorts = hasNodePorts(svc.spec);
    for (const port of svc.spec.ports ?? []) {
      const protocol = protocolOf(port);
      if (!protocol) continue;
      const backends =
        override?.(svc, port, protocol) ??
        readyBackends(endpointsOf(namespace, name), port, protocol);
      entries.push({
        id: servicePortId(namespace, name, port.name),
        namespace,
        name,
        protocol,
        clusterIP,
        port: port.port,
        ...(nodePorts && port.nodePort !== undefined ? { nodePort: port.nodePort } : {}),
        backends: [...backends].sort(compareBackends),
        ...(svc.spec.sessionAffinity === 'ClientIP'
          ? {
              affinitySeconds:
                svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ??
                DEFAULT_AFFINITY_SECONDS,
            }
          : {}),
      });
    }
  }
  return entries.sort((a, b) =>
    a.id === b.id ? a.protocol.localeCompare(b.protocol) : a.id < b.id ? -1 : 1,
  );
}

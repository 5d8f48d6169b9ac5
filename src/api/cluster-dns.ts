/**
 * The cluster DNS, as OpenShift names it: Service `dns-default` in project `openshift-dns`, at
 * the 10th address of the service range, ports 53/UDP and 53/TCP. The master creates it at
 * start; every node's agent answers for it (and sends its ClusterIP to itself) and gives pods
 * its address with the cluster's search domains.
 */
import type { Service } from './kinds/service.js';

export const CLUSTER_DNS_NAMESPACE = 'openshift-dns';
export const CLUSTER_DNS_SERVICE = 'dns-default';
export const CLUSTER_DOMAIN = 'cluster.local';
/** Offset of the cluster DNS address in the service range (172.30.0.10 in 172.30.0.0/16). */
export const CLUSTER_DNS_OFFSET = 10;
export const CLUSTER_DNS_PORT_UDP = 'dns';
export const CLUSTER_DNS_PORT_TCP = 'dns-tcp';

/** The Service the master keeps for the cluster DNS. */
export function clusterDnsService(clusterIP: string): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: CLUSTER_DNS_SERVICE,
      namespace: CLUSTER_DNS_NAMESPACE,
      labels: { 'dns.operator.openshift.io/owning-dns': 'default' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      ports: [
        { name: CLUSTER_DNS_PORT_UDP, protocol: 'UDP', port: 53, targetPort: 53 },
        { name: CLUSTER_DNS_PORT_TCP, protocol: 'TCP', port: 53, targetPort: 53 },
      ],
    },
  };
}

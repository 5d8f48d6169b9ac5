/**
 * The cluster DNS Service, created at start as OpenShift's DNS operator keeps it:
 * `openshift-dns/dns-default` at the 10th address of the service range (172.30.0.10 by
 * default), ports dns/53/UDP and dns-tcp/53/TCP, no selector. Each node's agent serves it (see
 * agent/README.md, "Services and DNS"). An existing one is left as it is.
 */
import type { Logger } from 'pino';
import {
  CLUSTER_DNS_NAMESPACE,
  CLUSTER_DNS_SERVICE,
  clusterDnsService,
} from '../../src/api/cluster-dns.js';
import { isApiError } from '../../src/api/errors.js';
import { serviceKind } from '../../src/api/kinds/index.js';
import type { Service } from '../../src/api/kinds/service.js';
import { clusterDnsIp, type Cidr } from '../admission/service-ip.js';
import type { ResourceStore } from './resources.js';

/** Creates the cluster DNS Service unless it exists (its project must exist). */
export async function ensureClusterDnsService(
  resources: ResourceStore,
  serviceCidr: Cidr,
  logger: Logger,
): Promise<void> {
  const ip = clusterDnsIp(serviceCidr);
  if (!ip) {
    logger.warn({ serviceCidr: serviceCidr.text }, 'the service range is too small for a DNS');
    return;
  }
  try {
    const existing = (await resources.get(
      serviceKind,
      CLUSTER_DNS_NAMESPACE,
      CLUSTER_DNS_SERVICE,
    )) as Service;
    if (existing.spec.clusterIP !== ip) {
      logger.warn(
        { clusterIP: existing.spec.clusterIP, expected: ip },
        'the cluster DNS Service has another address than the service range says',
      );
    }
    return;
  } catch (err) {
    if (!isApiError(err, 'NotFound')) throw err;
  }
  try {
    await resources.create(serviceKind, CLUSTER_DNS_NAMESPACE, clusterDnsService(ip), {});
    logger.info({ clusterIP: ip }, 'created the cluster DNS service');
  } catch (err) {
    if (isApiError(err, 'AlreadyExists')) return;
    // Another Service holds the address (made before it was kept for the DNS): no cluster DNS.
    if (isApiError(err, 'Invalid')) {
      logger.warn({ err: (err as Error).message }, 'cannot create the cluster DNS service');
      return;
    }
    throw err;
  }
}

/**
 * Service ClusterIPs, allocated from the service CIDR as Kubernetes' service IP allocator does:
 * never the network or broadcast address, nor the first address (the `kubernetes` service's).
 * The 10th address is the cluster DNS Service's (`openshift-dns/dns-default`): only it may
 * have it.
 *
 * Uniqueness: each allocated IP has a reservation key in the store (`/slipway/service-ips/IP`,
 * outside the API's `/registry/` keys) created in the same transaction as its Service. Two
 * creates that pick the same IP cannot both commit: the loser's transaction fails with
 * KeyExists and its admission runs again. Deleting the Service (or its project) deletes the
 * reservation in the same transaction, so the IP is free again.
 */
import {
  CLUSTER_DNS_NAMESPACE,
  CLUSTER_DNS_OFFSET,
  CLUSTER_DNS_SERVICE,
} from '../../src/api/cluster-dns.js';
import { ApiError } from '../../src/api/errors.js';
import { HEADLESS, type Service } from '../../src/api/kinds/service.js';
import type { ApiObject } from '../../src/api/meta.js';
import type { StatusCause } from '../../src/api/errors.js';
import type { KeyValue, Store, TxnOp } from '../store/types.js';
import { ownedBy, parseReservation, reservationValue } from './reservations.js';

export const SERVICE_IP_PREFIX = '/slipway/service-ips/';
export const DEFAULT_SERVICE_CIDR = '172.30.0.0/16';

/** An IPv4 range: `base` is the network address as an unsigned 32-bit number. */
export interface Cidr {
  text: string;
  base: number;
  size: number;
}

function ipToNumber(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => String(Math.floor(n / 2 ** shift) % 256)).join('.');
}

/** Parses `A.B.C.D/N` (IPv4, N from 8 to 30), or explains what is wrong. */
export function parseCidr(text: string): Cidr | string {
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
  const ip = match ? ipToNumber(match[1]!) : undefined;
  const prefix = match ? Number(match[2]) : NaN;
  if (ip === undefined || !(prefix >= 8 && prefix <= 30)) {
    return 'must be an IPv4 CIDR with a prefix from /8 to /30, such as 172.30.0.0/16';
  }
  const size = 2 ** (32 - prefix);
  if (ip % size !== 0) return `must be a network address: the host bits must be zero`;
  return { text, base: ip, size };
}

/**
 * The cluster DNS Service's address: the 10th of the range (172.30.0.10), kept for it alone;
 * undefined when the range is too small to hold it.
 */
export function clusterDnsIp(cidr: Cidr): string | undefined {
  return CLUSTER_DNS_OFFSET <= cidr.size - 2
    ? numberToIp(cidr.base + CLUSTER_DNS_OFFSET)
    : undefined;
}

function isClusterDnsService(svc: ApiObject): boolean {
  return (
    svc.metadata.namespace === CLUSTER_DNS_NAMESPACE && svc.metadata.name === CLUSTER_DNS_SERVICE
  );
}

export function reservationKey(ip: string): string {
  return `${SERVICE_IP_PREFIX}${ip}`;
}

function invalid(svc: ApiObject, field: string, message: string): ApiError {
  const cause: StatusCause = { field, message };
  return ApiError.invalid('Service', svc.metadata.name ?? '', [cause]);
}

/** Allocates and frees ClusterIPs; the caller commits the ops with the Service. */
export class ServiceIpAllocator {
  readonly cidr: Cidr;
  private readonly store: Store;

  constructor(store: Store, cidr: Cidr) {
    this.store = store;
    this.cidr = cidr;
  }

  /** Whether `ip` may be allocated: inside the range, not network, broadcast or first. */
  inRange(ip: string): boolean {
    const n = ipToNumber(ip);
    if (n === undefined) return false;
    const offset = n - this.cidr.base;
    return offset >= 2 && offset <= this.cidr.size - 2;
  }

  private async reserved(): Promise<KeyValue[]> {
    return (await this.store.list(SERVICE_IP_PREFIX)).items;
  }

  /**
   * Admission of a new Service: sets `spec.clusterIP` (allocating one when unset or empty, or
   * checking the one asked for) and `spec.clusterIPs`, and returns the reservation op to commit
   * with it (none for a headless Service).
   */
  async admitCreate(svc: Service): Promise<TxnOp[]> {
    const requested = svc.spec.clusterIP ?? '';
    if (requested === HEADLESS) {
      svc.spec.clusterIPs = [HEADLESS];
      return [];
    }
    const taken = new Set((await this.reserved()).map((kv) => kv.key));
    let ip: string;
    if (requested !== '') {
      const problem = !this.inRange(requested)
        ? `provided IP is not in the valid range. The range of valid IPs is ${this.cidr.text}`
        : taken.has(reservationKey(requested)) ||
            (requested === clusterDnsIp(this.cidr) && !isClusterDnsService(svc))
          ? 'provided IP is already allocated'
          : undefined;
      if (problem) {
        throw invalid(
          svc,
          'spec.clusterIP',
          `Invalid value: "${requested}": failed to allocate IP ${requested}: ${problem}`,
        );
      }
      ip = requested;
    } else {
      const found = this.firstFree(taken);
      if (found === undefined) {
        throw new ApiError(
          'InternalError',
          'Internal error occurred: failed to allocate a serviceIP: range is full',
        );
      }
      ip = found;
    }
    svc.spec.clusterIP = ip;
    svc.spec.clusterIPs = [ip];
    return [{ op: 'create', key: reservationKey(ip), value: reservationValue(svc) }];
  }

  private firstFree(taken: ReadonlySet<string>): string | undefined {
    for (let offset = 2; offset <= this.cidr.size - 2; offset += 1) {
      if (offset === CLUSTER_DNS_OFFSET) continue;
      const ip = numberToIp(this.cidr.base + offset);
      if (!taken.has(reservationKey(ip))) return ip;
    }
    return undefined;
  }

  /** Ops that free a deleted Service's IP, for its deletion transaction. */
  async releaseOps(svc: ApiObject): Promise<TxnOp[]> {
    const ip = (svc as Service).spec?.clusterIP;
    if (!ip || ip === HEADLESS) return [];
    const kv = await this.store.get(reservationKey(ip));
    if (!kv || !ownedBy(kv, svc)) return [];
    return [{ op: 'delete', key: kv.key, expectedModRevision: kv.modRevision }];
  }

  /** Ops that free every IP the Services of a project hold, for the project's deletion. */
  async releaseNamespaceOps(namespace: string): Promise<TxnOp[]> {
    return (await this.reserved())
      .filter((kv) => parseReservation(kv)?.namespace === namespace)
      .map((kv) => ({ op: 'delete', key: kv.key, expectedModRevision: kv.modRevision }));
  }
}

/**
 * Admission of a Service update: the ClusterIP cannot change. An update that leaves
 * `spec.clusterIP` (or `spec.clusterIPs`) out keeps the allocated one, as Kubernetes does.
 */
export function admitServiceUpdate(current: Service, next: Service): void {
  const had = current.spec.clusterIP ?? '';
  const wants = next.spec.clusterIP ?? '';
  if (wants !== '' && wants !== had) {
    throw invalid(next, 'spec.clusterIP', `Invalid value: "${wants}": field is immutable`);
  }
  const hadIps = current.spec.clusterIPs ?? [];
  const wantsIps = next.spec.clusterIPs;
  if (wantsIps && wantsIps.length > 0 && wantsIps.join(',') !== hadIps.join(',')) {
    throw invalid(
      next,
      'spec.clusterIPs',
      `Invalid value: ${JSON.stringify(wantsIps)}: field is immutable`,
    );
  }
  if (had === '') {
    delete next.spec.clusterIP;
    delete next.spec.clusterIPs;
  } else {
    next.spec.clusterIP = had;
    next.spec.clusterIPs = hadIps.length > 0 ? hadIps : [had];
  }
}

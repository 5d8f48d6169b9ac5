/**
 * The cluster's DNS zone (`cluster.local`), answered from Services and Endpoints as CoreDNS's
 * kubernetes plugin does. Pure: a question and the data in, the answer out.
 *
 *   SVC.NS.svc.cluster.local                A: the ClusterIP; headless (`clusterIP: None`):
 *                                           the ready addresses
 *   HOSTNAME.SVC.NS.svc.cluster.local       A: a headless Service's ready address of that
 *                                           hostname
 *   _PORT._PROTO.SVC.NS.svc.cluster.local   SRV: a named port of a ClusterIP Service
 *   A-B-C-D.NS.pod.cluster.local            A: A.B.C.D (CoreDNS's `pods insecure`)
 *   D.C.B.A.in-addr.arpa                    PTR: SVC.NS.svc.cluster.local for a ClusterIP;
 *                                           HOSTNAME (or A-B-C-D).SVC.NS.svc.cluster.local for
 *                                           a headless Service's ready address (reverseFromZone;
 *                                           other addresses go to the host's resolvers)
 *
 * A name that exists answers other types with no records (NOERROR, the zone's SOA in the
 * authority section, as for AAAA: the cluster is IPv4); `cluster.local`, `svc.cluster.local`,
 * `pod.cluster.local` and `NS.svc.cluster.local` (a namespace with a Service) exist without
 * records; anything else in the zone is NXDOMAIN. Short names (`SVC`, `SVC.NS`) are the
 * resolver's job: pods search `NS.svc.cluster.local svc.cluster.local cluster.local`.
 */
import type { Answer, Question, SrvAnswer, StringAnswer } from 'dns-packet';
import { CLUSTER_DOMAIN } from '../../src/api/cluster-dns.js';
import type { Endpoints } from '../../src/api/kinds/endpoints.js';
import { HEADLESS, type Service } from '../../src/api/kinds/service.js';

export { CLUSTER_DOMAIN };
/** Seconds: short, so changes reach pods fast. */
export const DNS_TTL = 5;

/** What the zone is made of (the agent's informers). */
export interface ZoneData {
  service(namespace: string, name: string): Service | undefined;
  endpoints(namespace: string, name: string): Endpoints | undefined;
  /** Whether any Service exists in the namespace. */
  hasNamespace(namespace: string): boolean;
  /** Every Service (reverse lookups). */
  services(): readonly Service[];
}

export interface ZoneAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

/** The name without its trailing dot, lower case. */
export function normalizeName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/** Whether `name` is the zone or in it. */
export function inZone(name: string, domain: string = CLUSTER_DOMAIN): boolean {
  const n = normalizeName(name);
  return n === domain || n.endsWith(`.${domain}`);
}

export function soaRecord(domain: string = CLUSTER_DOMAIN): Answer {
  return {
    type: 'SOA',
    name: domain,
    ttl: DNS_TTL,
    class: 'IN',
    data: {
      mname: `ns.dns.${domain}`,
      rname: `hostmaster.${domain}`,
      serial: 1,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: DNS_TTL,
    },
  };
}

function a(name: string, ip: string): StringAnswer {
  return { type: 'A', name, ttl: DNS_TTL, class: 'IN', data: ip };
}

function readyAddresses(ep: Endpoints | undefined): { ip: string; hostname?: string }[] {
  const seen = new Set<string>();
  const out: { ip: string; hostname?: string }[] = [];
  for (const subset of ep?.subsets ?? []) {
    for (const address of subset.addresses ?? []) {
      if (seen.has(address.ip) || address.ip.includes(':')) continue;
      seen.add(address.ip);
      out.push({ ip: address.ip, ...(address.hostname ? { hostname: address.hostname } : {}) });
    }
  }
  return out.sort((x, y) => (x.ip < y.ip ? -1 : x.ip > y.ip ? 1 : 0));
}

function isHeadless(svc: Service): boolean {
  return svc.spec.clusterIP === HEADLESS;
}

/** Four decimal octets (no leading zeros) as a dotted address, or undefined. */
function ipv4Of(parts: readonly string[]): string | undefined {
  if (parts.length !== 4) return undefined;
  if (!parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.join('.');
}

/** `10-1-2-3` to `10.1.2.3`, or undefined. */
function dashedIPv4(label: string): string | undefined {
  return ipv4Of(label.split('-'));
}

/** Answers a question about a name in the zone. */
export function answerFromZone(
  question: Question,
  data: ZoneData,
  domain: string = CLUSTER_DOMAIN,
): ZoneAnswer {
  const asked = question.name.replace(/\.$/, '');
  const name = normalizeName(asked);
  const type = question.type;
  const wantsA = type === 'A' || (type as string) === 'ANY';
  const nodata = (): ZoneAnswer => ({
    rcode: 'NOERROR',
    answers: type === 'SOA' && name === domain ? [soaRecord(domain)] : [],
    authorities: type === 'SOA' && name === domain ? [] : [soaRecord(domain)],
    additionals: [],
  });
  const nxdomain = (): ZoneAnswer => ({
    rcode: 'NXDOMAIN',
    answers: [],
    authorities: [soaRecord(domain)],
    additionals: [],
  });
  const records = (answers: Answer[], additionals: Answer[] = []): ZoneAnswer =>
    answers.length === 0 ? nodata() : { rcode: 'NOERROR', answers, authorities: [], additionals };

  if (name !== domain && !name.endsWith(`.${domain}`)) return nxdomain();
  const labels = name === domain ? [] : name.slice(0, -(domain.length + 1)).split('.');
  const n = labels.length;
  if (n === 0) return nodata();
  const kind = labels[n - 1];

  if (kind === 'pod') {
    if (n === 1) return nodata();
    if (n !== 3) return nxdomain();
    const ip = dashedIPv4(labels[0]!);
    if (!ip) return nxdomain();
    return wantsA ? records([a(asked, ip)]) : nodata();
  }
  if (kind !== 'svc') return nxdomain();
  if (n === 1) return nodata();
  const namespace = labels[n - 2]!;
  if (n === 2) return data.hasNamespace(namespace) ? nodata() : nxdomain();
  const svcName = labels[n - 3]!;
  const svc = data.service(namespace, svcName);
  if (!svc) return nxdomain();

  if (n === 3) {
    if (!wantsA) return nodata();
    if (isHeadless(svc)) {
      return records(
        readyAddresses(data.endpoints(namespace, svcName)).map((addr) => a(asked, addr.ip)),
      );
    }
    const ip = svc.spec.clusterIP;
    return ip ? records([a(asked, ip)]) : nodata();
  }
  if (n === 4 && isHeadless(svc)) {
    const host = labels[0]!;
    const found = readyAddresses(data.endpoints(namespace, svcName)).filter(
      (addr) => addr.hostname?.toLowerCase() === host,
    );
    if (found.length === 0) return nxdomain();
    return wantsA ? records(found.map((addr) => a(asked, addr.ip))) : nodata();
  }
  if (n === 5 && labels[0]!.startsWith('_') && labels[1]!.startsWith('_')) {
    const portName = labels[0]!.slice(1);
    const protocol = labels[1]!.slice(1).toUpperCase();
    const port = (svc.spec.ports ?? []).find(
      (p) => p.name === portName && (p.protocol ?? 'TCP') === protocol,
    );
    if (!port || isHeadless(svc) || !svc.spec.clusterIP) return nxdomain();
    if (type !== 'SRV') return nodata();
    const target = `${svcName}.${namespace}.svc.${domain}`;
    const srv: SrvAnswer = {
      type: 'SRV',
      name: asked,
      ttl: DNS_TTL,
      class: 'IN',
      data: { priority: 0, weight: 100, port: port.port, target },
    };
    return records([srv], [a(target, svc.spec.clusterIP)]);
  }
  return nxdomain();
}

/** `4.3.2.1.in-addr.arpa` to `1.2.3.4`, or undefined for any other name. */
export function reverseIPv4(name: string): string | undefined {
  const n = normalizeName(name);
  if (!n.endsWith('.in-addr.arpa')) return undefined;
  return ipv4Of(n.slice(0, -'.in-addr.arpa'.length).split('.').reverse());
}

/**
 * The PTR answer for a reverse name whose address is a Service's ClusterIP or a headless
 * Service's ready address, as CoreDNS answers it; undefined when the zone does not know the
 * address (the question then goes to the host's resolvers).
 */
export function reverseFromZone(
  question: Question,
  data: ZoneData,
  domain: string = CLUSTER_DOMAIN,
): ZoneAnswer | undefined {
  const ip = reverseIPv4(question.name);
  if (!ip) return undefined;
  const targets: string[] = [];
  for (const svc of data.services()) {
    const namespace = svc.metadata.namespace ?? '';
    const name = svc.metadata.name ?? '';
    if (svc.spec.clusterIP === ip) targets.push(`${name}.${namespace}.svc.${domain}`);
    if (!isHeadless(svc)) continue;
    for (const addr of readyAddresses(data.endpoints(namespace, name))) {
      if (addr.ip !== ip) continue;
      const host = addr.hostname ?? ip.split('.').join('-');
      targets.push(`${host}.${name}.${namespace}.svc.${domain}`);
    }
  }
  if (targets.length === 0) return undefined;
  const asked = question.name.replace(/\.$/, '');
  const wantsPtr = question.type === 'PTR' || (question.type as string) === 'ANY';
  return {
    rcode: 'NOERROR',
    answers: wantsPtr
      ? [...new Set(targets)].sort().map((data): StringAnswer => ({
          type: 'PTR',
          name: asked,
          ttl: DNS_TTL,
          class: 'IN',
          data,
        }))
      : [],
    authorities: wantsPtr ? [] : [soaRecord(domain)],
    additionals: [],
  };
}

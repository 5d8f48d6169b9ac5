/**
 * Services and DNS on this node, put together: informers on Services and Endpoints in every
 * namespace, the service proxy, the cluster DNS server and hairpin set-up. `main.ts` starts it
 * with the agent when the engine is local (iptables on this host only reach this host's pods).
 *
 * The cluster DNS Service (`openshift-dns/dns-default`) is served by the agent itself: the DNS
 * server listens on the Docker bridge gateway (reachable from pods and from the node) and the
 * proxy sends the Service's ClusterIP:53 there instead of to endpoints. Pods get the cluster DNS
 * (`clusterDns()`) only once it works: the server listens and a sync programmed its address.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CLUSTER_DNS_NAMESPACE,
  CLUSTER_DNS_PORT_UDP,
  CLUSTER_DNS_SERVICE,
  CLUSTER_DOMAIN,
} from '../../src/api/cluster-dns.js';
import { endpointsKind, serviceKind } from '../../src/api/kinds/index.js';
import type { Endpoints } from '../../src/api/kinds/endpoints.js';
import type { Service } from '../../src/api/kinds/service.js';
import type { ApiClient } from '../../src/client/index.js';
import { clientListWatcher, Informer } from '../../src/reconcile/index.js';
import type { Logger } from '../../src/util/logger.js';
import type { DockerRuntime } from '../docker/runtime.js';
import type { ClusterDnsSettings } from '../pods/plan.js';
import { DnsServer, type Upstream } from './dns-server.js';
import type { ZoneData } from './dns-zone.js';
import { HairpinSetter } from './hairpin.js';
import { hostIptables, type IptablesTools } from './iptables.js';
import { parseSave, programmedBackends } from './iptables-rules.js';
import { parseResolvConf } from './resolv-conf.js';
import { ServiceProxy } from './service-proxy.js';
import { servicePortId, type Backend, type BackendOverride } from './service-ports.js';

export interface ServiceNetworkingOptions {
  client: Pick<ApiClient, 'list' | 'watch'>;
  nodeName: string;
  runtime: Pick<DockerRuntime, 'listPods' | 'inspect'>;
  /** The Docker bridge gateway: where pods reach the node. */
  bridgeGateway: string | undefined;
  /** Where the DNS server listens; host undefined means the bridge gateway, port 0 any. */
  dnsListen: { host: string | undefined; port: number };
  logger: Logger;
  resyncIntervalMs?: number;
  /** How long pods wait for the first sync at most. Default 10 s. */
  readyTimeoutMs?: number;
  iptables?: IptablesTools;
  /** Default /etc/resolv.conf. */
  resolvConf?: string;
}

export interface ServiceNetworking {
  readonly proxy: ServiceProxy;
  readonly services: Informer<Service>;
  /**
   * Resolves (true) once the first sync programmed the rules, or after `readyTimeoutMs` if it
   * cannot; false only when aborted. Pods wait for it, so those the agent starts first get the
   * cluster DNS too.
   */
  readonly ready: { waitForSync(signal?: AbortSignal): Promise<boolean> };
  /** The cluster DNS for new pods, once it works; undefined before (or without it). */
  clusterDns(): ClusterDnsSettings | undefined;
  /** Where the DNS server listens (undefined when it does not run). */
  dnsAddress(): { udp: Backend; tcp: Backend } | undefined;
  /** Stops watching and serving DNS; the rules stay unless `removeRules`. */
  close(options?: { removeRules?: boolean }): Promise<void>;
}

const DNS_KEY = `${CLUSTER_DNS_NAMESPACE}/${CLUSTER_DNS_SERVICE}`;
/** How often the host's resolver settings are read again. */
const RESOLV_CONF_INTERVAL_MS = 5000;

/**
 * The port this node's rules send the cluster DNS (its UDP port, `dns`) to on `host`: where an
 * earlier run of the agent listened. Undefined when there is none or the rules cannot be read.
 */
async function previousDnsPort(
  iptables: IptablesTools,
  nodeName: string,
  host: string,
): Promise<number | undefined> {
  try {
    const saved = parseSave(await iptables.save(['nat']));
    const id = servicePortId(CLUSTER_DNS_NAMESPACE, CLUSTER_DNS_SERVICE, CLUSTER_DNS_PORT_UDP);
    return programmedBackends(saved, nodeName, id, 'udp').find((b) => b.ip === host)?.port;
  } catch {
    return undefined;
  }
}

/** The zone's data from the informers' caches. */
export function informerZone(
  services: Pick<Informer<Service>, 'get' | 'list'>,
  endpoints: Pick<Informer<Endpoints>, 'get'>,
): ZoneData {
  return {
    service: (namespace, name) => services.get(`${namespace}/${name}`),
    endpoints: (namespace, name) => endpoints.get(`${namespace}/${name}`),
    hasNamespace: (namespace) => services.list().some((s) => s.metadata.namespace === namespace),
    services: () => services.list(),
  };
}

/** Starts the informers, the DNS server and the proxy; never throws for a DNS failure. */
export async function startServiceNetworking(
  options: ServiceNetworkingOptions,
): Promise<ServiceNetworking> {
  const log = options.logger.child({ component: 'service-networking' });
  const controller = new AbortController();
  const services = new Informer<Service>({
    name: 'services',
    listWatcher: clientListWatcher<Service>(options.client, serviceKind, {
      watchTimeoutSeconds: 300,
    }),
    logger: log,
  });
  const endpoints = new Informer<Endpoints>({
    name: 'endpoints',
    listWatcher: clientListWatcher<Endpoints>(options.client, endpointsKind, {
      watchTimeoutSeconds: 300,
    }),
    logger: log,
  });

  // The host's resolver settings: its search domains for pods, its nameservers for names
  // outside the cluster. Read again every RESOLV_CONF_INTERVAL_MS (DHCP, VPNs and
  // systemd-resolved rewrite the file); new pods and new questions get what it says then.
  const resolvConf = options.resolvConf ?? '/etc/resolv.conf';
  let hostSearches: string[] = [];
  let upstreams: Upstream[] = [];
  let resolvText: string | undefined;
  const readResolvConf = async (): Promise<boolean> => {
    let text: string;
    try {
      text = await readFile(resolvConf, 'utf8');
    } catch (err) {
      if (resolvText === undefined) {
        log.warn({ err: (err as Error).message }, 'cannot read the host resolver settings');
      }
      return false;
    }
    if (text === resolvText) return false;
    resolvText = text;
    const conf = parseResolvConf(text);
    hostSearches = conf.searches;
    upstreams = conf.nameservers.map((host) => ({ host, port: 53 }));
    return true;
  };
  await readResolvConf();

  let dns: DnsServer | undefined;
  const dnsHost = options.dnsListen.host ?? options.bridgeGateway;
  if (!dnsHost) {
    log.warn({}, 'no Docker bridge gateway: pods get no cluster DNS');
  } else {
    const start = (port: number): Promise<DnsServer> =>
      DnsServer.start({
        zone: informerZone(services, endpoints),
        domain: CLUSTER_DOMAIN,
        upstreams,
        listen: { host: dnsHost, port },
        logger: log.child({ component: 'dns' }),
      });
    try {
      // Any port will do: first the one the rules still send the cluster DNS to, so pods'
      // lookups keep working while this run's first sync is still to come.
      const previous =
        options.dnsListen.port === 0
          ? await previousDnsPort(options.iptables ?? hostIptables, options.nodeName, dnsHost)
          : undefined;
      dns = previous ? await start(previous).catch(() => undefined) : undefined;
      dns ??= await start(options.dnsListen.port);
      log.info({ udp: dns.udpAddress, tcp: dns.tcpAddress, upstreams }, 'cluster DNS listening');
    } catch (err) {
      log.warn(
        { err: (err as Error).message, host: dnsHost, port: options.dnsListen.port },
        'cannot start the cluster DNS server: pods get no cluster DNS',
      );
    }
  }
  const dnsAddress = (): { udp: Backend; tcp: Backend } | undefined =>
    dns
      ? {
          udp: { ip: dns.udpAddress.host, port: dns.udpAddress.port },
          tcp: { ip: dns.tcpAddress.host, port: dns.tcpAddress.port },
        }
      : undefined;

  const override: BackendOverride = (svc, _port, protocol) => {
    if (svc.metadata.namespace !== CLUSTER_DNS_NAMESPACE) return undefined;
    if (svc.metadata.name !== CLUSTER_DNS_SERVICE) return undefined;
    const address = dnsAddress();
    return address ? [protocol === 'udp' ? address.udp : address.tcp] : [];
  };

  const hairpin = new HairpinSetter({
    sandboxes: async () =>
      (await options.runtime.listPods()).flatMap((p) =>
        p.sandboxes.filter((s) => s.state === 'running').map((s) => ({ id: s.id, ip: s.ip })),
      ),
    pidOf: async (id) => (await options.runtime.inspect(id)).pid,
    logger: log,
  });

  const proxy = new ServiceProxy({
    nodeName: options.nodeName,
    services,
    endpoints,
    override,
    afterSync: (ips) => hairpin.ensure(ips),
    logger: log,
    ...(options.iptables ? { iptables: options.iptables } : {}),
    ...(options.resyncIntervalMs ? { resyncIntervalMs: options.resyncIntervalMs } : {}),
  });

  const followResolvConf = async (signal: AbortSignal): Promise<void> => {
    while (!signal.aborted) {
      await sleep(RESOLV_CONF_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
      if (signal.aborted || !(await readResolvConf())) continue;
      dns?.setUpstreams(upstreams);
      log.info({ upstreams, searches: hostSearches }, 'host resolver settings changed');
    }
  };

  const tasks = [
    followResolvConf(controller.signal),
    services.run(controller.signal),
    endpoints.run(controller.signal),
    proxy.run(controller.signal),
  ];

  const clusterDns = (): ClusterDnsSettings | undefined => {
    const svc = services.get(DNS_KEY);
    const ip = svc?.spec.clusterIP;
    if (!dns || !ip) return undefined;
    // Only once a sync sent the address to this server (else the pods' DNS would go nowhere).
    const programmed = proxy.entries?.some(
      (e) =>
        e.namespace === CLUSTER_DNS_NAMESPACE &&
        e.name === CLUSTER_DNS_SERVICE &&
        e.clusterIP === ip &&
        e.backends.length > 0,
    );
    if (!programmed) return undefined;
    return { nameserver: ip, domain: CLUSTER_DOMAIN, hostSearches };
  };

  const firstSync = new Promise<void>((resolve) => {
    const off = proxy.onSync(() => {
      off();
      resolve();
    });
  });
  const ready = {
    waitForSync: async (signal?: AbortSignal): Promise<boolean> => {
      const timeoutMs = options.readyTimeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const outcome = await Promise.race([
        firstSync.then(() => 'synced' as const),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
        }),
        new Promise<'aborted'>((resolve) => {
          onAbort = () => resolve('aborted');
          if (signal?.aborted) onAbort();
          else signal?.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      if (outcome === 'timeout')
        log.warn({ timeoutMs }, 'service rules not programmed yet; starting pods anyway');
      return outcome !== 'aborted';
    },
  };

  let closing: Promise<void> | undefined;
  return {
    proxy,
    services,
    ready,
    clusterDns,
    dnsAddress,
    close: (closeOptions = {}) =>
      (closing ??= (async () => {
        controller.abort();
        await Promise.allSettled(tasks);
        await dns?.close();
        if (closeOptions.removeRules) {
          try {
            await proxy.cleanup();
            log.info({}, 'service rules removed');
          } catch (err) {
            log.warn({ err: (err as Error).message }, 'cannot remove the service rules');
          }
        }
      })()),
  };
}

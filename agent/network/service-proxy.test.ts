import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoints } from '../../src/api/kinds/endpoints.js';
import type { Service } from '../../src/api/kinds/service.js';
import { Informer } from '../../src/reconcile/index.js';
import { FakeListWatcher } from '../../src/reconcile/testing/fake-list-watcher.js';
import { RecordingLogger } from '../../src/reconcile/testing/recording-logger.js';
import { createLogger } from '../../src/util/logger.js';
import type { ConntrackTools, FlowDeletion, UdpFlow } from './conntrack.js';
import { ConntrackMissingError } from './conntrack.js';
import type { IptablesTools } from './iptables.js';
import { nodeChains } from './iptables-rules.js';
import { removeServiceRules, ServiceProxy } from './service-proxy.js';

const NODE = 'node-1';

/** Records restores; `save` answers what the last restore would have left, roughly: the
 * chains it declared and not deleted. */
class FakeIptables implements IptablesTools {
  readonly restores: string[] = [];
  saves = 0;
  failRestores = 0;
  #chains = new Set<string>();

  save(): Promise<string> {
    this.saves += 1;
    const chains = [...this.#chains].map((c) => `:${c} - [0:0]`);
    return Promise.resolve(['*nat', ...chains, 'COMMIT', '*filter', 'COMMIT', ''].join('\n'));
  }

  restore(input: string): Promise<void> {
    if (this.failRestores > 0) {
      this.failRestores -= 1;
      return Promise.reject(new Error('iptables-restore: resource busy'));
    }
    this.restores.push(input);
    for (const line of input.split('\n')) {
      if (line.startsWith(':')) this.#chains.add(line.slice(1).split(' ')[0]!);
      if (line.startsWith('-X ')) this.#chains.delete(line.slice(3));
    }
    return Promise.resolve();
  }

  get last(): string {
    return this.restores.at(-1) ?? '';
  }
}

/** Tracked UDP flows, as `conntrack` would list and delete them. */
class FakeConntrack implements ConntrackTools {
  flows: UdpFlow[] = [];
  readonly deletions: FlowDeletion[] = [];
  lists = 0;
  missing = false;

  listUdp(filter: { dst?: string; dport: number }): Promise<UdpFlow[]> {
    if (this.missing) return Promise.reject(new ConntrackMissingError('not installed'));
    this.lists += 1;
    return Promise.resolve(
      this.flows.filter((f) => f.dport === filter.dport && (!filter.dst || f.dst === filter.dst)),
    );
  }

  deleteUdp(d: FlowDeletion): Promise<number> {
    this.deletions.push(d);
    const gone = (f: UdpFlow): boolean =>
      f.dport === d.dport &&
      (!d.dst || f.dst === d.dst) &&
      f.replySrc === d.replySrc &&
      f.replySport === d.replySport;
    const before = this.flows.length;
    this.flows = this.flows.filter((f) => !gone(f));
    return Promise.resolve(before - this.flows.length);
  }
}

function service(name: string, clusterIP: string, protocol: 'TCP' | 'UDP' = 'TCP'): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'ns' },
    spec: { clusterIP, ports: [{ name: 'http', port: 80, protocol }] },
  };
}

function endpoints(name: string, ips: string[], protocol: 'TCP' | 'UDP' = 'TCP'): Endpoints {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: 'ns' },
    subsets: [
      { addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'http', port: 8080, protocol }] },
    ],
  };
}

/** A UDP flow from a client to 172.30.0.7:80 that `ip` answers. */
function udpFlow(sport: number, ip: string): UdpFlow {
  return {
    src: '172.17.0.2',
    sport,
    dst: '172.30.0.7',
    dport: 80,
    replySrc: ip,
    replySport: 8080,
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

function fixture(initial: { services?: Service[]; endpoints?: Endpoints[] } = {}) {
  const serviceStore = new FakeListWatcher<Service>(initial.services ?? []);
  const endpointStore = new FakeListWatcher<Endpoints>(initial.endpoints ?? []);
  const logger = new RecordingLogger();
  const services = new Informer<Service>({ name: 'services', listWatcher: serviceStore, logger });
  const eps = new Informer<Endpoints>({ name: 'endpoints', listWatcher: endpointStore, logger });
  const iptables = new FakeIptables();
  const conntrack = new FakeConntrack();
  /** What the proxy logged, as JSON records. */
  const logged: { level: number; msg: string }[] = [];
  const proxyLogger = createLogger({
    level: 'debug',
    destination: {
      write: (line: string) => void logged.push(JSON.parse(line) as { level: number; msg: string }),
    },
  });
  const hairpin: ReadonlySet<string>[] = [];
  const proxy = new ServiceProxy({
    nodeName: NODE,
    services,
    endpoints: eps,
    iptables,
    conntrack,
    logger: proxyLogger,
    debounceMs: 30,
    resyncIntervalMs: 60_000,
    backoff: { initialMs: 20, maxMs: 40 },
    afterSync: (ips) => {
      hairpin.push(ips);
      return Promise.resolve();
    },
  });
  const abort = new AbortController();
  const runs = { informers: [] as Promise<void>[], proxy: undefined as Promise<void> | undefined };
  const start = (what: 'all' | 'proxy-only' = 'all'): void => {
    runs.proxy = proxy.run(abort.signal);
    if (what === 'all') startInformers();
  };
  const startInformers = (): void => {
    runs.informers.push(services.run(abort.signal), eps.run(abort.signal));
  };
  const stop = async (): Promise<void> => {
    abort.abort();
    await Promise.all([...runs.informers, runs.proxy]);
  };
  stops.push(stop);
  return {
    serviceStore,
    endpointStore,
    iptables,
    conntrack,
    logged,
    proxy,
    hairpin,
    start,
    startInformers,
    stop,
  };
}

describe('ServiceProxy', () => {
  it('syncs once both informers have listed, with the endpoints of each service', async () => {
    const f = fixture({
      services: [service('web', '172.30.0.5')],
      endpoints: [endpoints('web', ['172.17.0.9', '172.17.0.10'])],
    });
    f.start('proxy-only');
    await new Promise((r) => setTimeout(r, 80));
    expect(f.iptables.saves).toBe(0);
    f.startInformers();
    await until(() => f.proxy.syncs === 1, 'the first sync');
    expect(f.iptables.restores).toHaveLength(1);
    expect(f.iptables.last).toContain('-d 172.30.0.5/32 -p tcp -m tcp --dport 80');
    expect(f.iptables.last).toContain('DNAT --to-destination 172.17.0.9:8080');
    expect(f.iptables.last).toContain('DNAT --to-destination 172.17.0.10:8080');
    expect(f.proxy.entries).toHaveLength(1);
    expect([...f.hairpin[0]!].sort()).toEqual(['172.17.0.10', '172.17.0.9']);
  });

  it('collects changes into one write and follows endpoints as they change', async () => {
    const f = fixture({ services: [service('web', '172.30.0.5')] });
    f.start();
    await until(() => f.proxy.syncs === 1, 'the first sync');
    expect(f.iptables.last).toContain('has no endpoints');
    expect(f.iptables.last).toContain(`-A ${nodeChains(NODE).reject} `);

    // Requests made together become one write.
    for (let i = 0; i < 5; i++) f.proxy.requestSync();
    await until(() => f.proxy.syncs === 2, 'the second sync');
    await new Promise((r) => setTimeout(r, 100));
    expect(f.iptables.restores).toHaveLength(2);

    f.endpointStore.create(endpoints('web', ['172.17.0.9']));
    f.serviceStore.create(service('api', '172.30.0.6'));
    f.endpointStore.create(endpoints('api', ['172.17.0.20']));
    await until(
      () =>
        f.iptables.last.includes('DNAT --to-destination 172.17.0.9:8080') &&
        f.iptables.last.includes('DNAT --to-destination 172.17.0.20:8080'),
      'both backends',
    );
    expect(f.iptables.last).not.toContain('has no endpoints');

    // A backend leaves: its chain goes.
    f.endpointStore.update(endpoints('web', []));
    await until(() => !f.iptables.last.includes('172.17.0.9'), 'the backend to leave');
    expect(f.iptables.last).toMatch(/^-X SLW-E-/m);
    expect(f.iptables.last).toContain('has no endpoints');
  });

  it('retries a failed write with back-off', async () => {
    const f = fixture({ services: [service('web', '172.30.0.5')] });
    f.iptables.failRestores = 2;
    f.start();
    await until(() => f.proxy.syncs === 1, 'a successful sync');
    expect(f.iptables.restores).toHaveLength(1);
  });

  it('keeps the rules when it stops; removeServiceRules deletes them', async () => {
    const f = fixture({
      services: [service('web', '172.30.0.5')],
      endpoints: [endpoints('web', ['172.17.0.9'])],
    });
    f.start();
    await until(() => f.proxy.syncs === 1, 'the first sync');
    await f.stop();
    expect(f.iptables.restores).toHaveLength(1);
    expect(await removeServiceRules(NODE, f.iptables)).toBe(true);
    expect(f.iptables.last).toContain(`-X ${nodeChains(NODE).services}`);
    expect(f.iptables.last).toContain(`-X ${nodeChains(NODE).reject}`);
    expect(await removeServiceRules(NODE, f.iptables)).toBe(false);
  });

  it('deletes the UDP flows that still go to an endpoint that went away', async () => {
    const f = fixture({
      services: [service('dns', '172.30.0.7', 'UDP'), service('web', '172.30.0.5')],
      endpoints: [
        endpoints('dns', ['172.17.0.9', '172.17.0.10'], 'UDP'),
        endpoints('web', ['172.17.0.9']),
      ],
    });
    f.conntrack.flows = [udpFlow(5000, '172.17.0.9'), udpFlow(5001, '172.17.0.10')];
    f.start();
    await until(() => f.proxy.syncs === 1, 'the first sync');
    // The first sync looks at every UDP port: both flows have a current endpoint.
    await until(() => f.conntrack.lists === 1, 'the first look at the flows');
    expect(f.conntrack.deletions).toEqual([]);

    f.endpointStore.update(endpoints('dns', ['172.17.0.10'], 'UDP'));
    await until(() => f.conntrack.deletions.length === 1, 'the stale flow to go');
    expect(f.conntrack.deletions[0]).toEqual({
      dst: '172.30.0.7',
      dport: 80,
      replySrc: '172.17.0.9',
      replySport: 8080,
    });
    expect(f.conntrack.flows).toEqual([udpFlow(5001, '172.17.0.10')]);

    // A TCP port's endpoints changing, or a sync with nothing changed, looks at no flows.
    const lists = f.conntrack.lists;
    f.endpointStore.update(endpoints('web', ['172.17.0.11']));
    await until(() => f.iptables.last.includes('172.17.0.11:8080'), 'the TCP change');
    f.proxy.requestSync();
    const syncs = f.proxy.syncs;
    await until(() => f.proxy.syncs > syncs, 'another sync');
    expect(f.conntrack.lists).toBe(lists);
  });

  it('says once that conntrack is missing, and keeps programming the rules', async () => {
    const f = fixture({
      services: [service('dns', '172.30.0.7', 'UDP')],
      endpoints: [endpoints('dns', ['172.17.0.9'], 'UDP')],
    });
    f.conntrack.missing = true;
    f.start();
    await until(() => f.proxy.syncs === 1, 'the first sync');
    f.endpointStore.update(endpoints('dns', ['172.17.0.10'], 'UDP'));
    await until(() => f.iptables.last.includes('172.17.0.10:8080'), 'the new endpoint');
    await new Promise((r) => setTimeout(r, 50));
    const warnings = f.logged.filter((r) => r.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/conntrack is not installed/);
  });
});

// F10: route and endpoint changes under keep-alive load lose no request; requests in flight
// finish on the target they started with; a restarted router serves its saved table at once.
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { Agent } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointsKind, routeKind, type Endpoints, type Route } from '../../src/api/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { loadConfig } from '../../router/config.js';
import { startRouter, type RunningRouter } from '../../router/main.js';
import { loadSnapshot } from '../../router/snapshot.js';
import {
  createProject,
  createRoute,
  endpoints,
  expose,
  send,
  startBackend,
  startWorld,
  untilServed,
  untilTable,
  type Backend,
  type RouterWorld,
} from './support.js';

let world: RouterWorld;
const backends: Backend[] = [];
let stateDir: string;

async function backend(name: string, handler?: Parameters<typeof startBackend>[1]) {
  const b = await startBackend(name, handler);
  backends.push(b);
  return b;
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'slipway-router-state-'));
  world = await startWorld({ stateFile: join(stateDir, 'table.json') });
  await createProject(world.t.admin, 'live');
});

afterAll(async () => {
  await world?.close();
  await Promise.all(backends.map((b) => b.close()));
  await rm(stateDir, { recursive: true, force: true });
});

describe('changes under load', () => {
  it('loses no request on keep-alive connections while routes and endpoints change', async () => {
    const { api, router } = world;
    const [a1, a2, b1, b2] = await Promise.all([
      backend('a1'),
      backend('a2'),
      backend('b1'),
      backend('b2'),
    ]);
    await expose(api, 'live', 'svc-a', [a1, a2]);
    await expose(api, 'live', 'svc-b', [b1]);
    const route = await createRoute(api, 'live', 'load', {
      host: 'load.example.com',
      to: { kind: 'Service', name: 'svc-a', weight: 100 },
    });
    await untilServed(router, 'live/load', 2);

    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const total = 1200;
    const concurrency = 8;
    let sent = 0;
    const failures: string[] = [];
    const byBackend: Record<string, number> = {};
    const worker = async (): Promise<void> => {
      while (sent < total) {
        sent++;
        try {
          const r = await send(router.httpUrl, { host: 'load.example.com', agent });
          if (r.status !== 200) failures.push(`status ${r.status}`);
          else {
            const name = r.json().backend;
            byBackend[name] = (byBackend[name] ?? 0) + 1;
          }
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const load = Promise.all(Array.from({ length: concurrency }, worker));

    // The changes, each once the load has moved on a little.
    const at = async (n: number): Promise<void> => {
      while (sent < n) await new Promise((r) => setTimeout(r, 2));
    };
    await at(150);
    // Switch the route to another service.
    let current = await api.get<Route>(routeKind, 'load', { namespace: 'live' });
    await api.update<Route>(routeKind, {
      ...current,
      spec: { ...current.spec, to: { kind: 'Service', name: 'svc-b', weight: 100 } },
    });
    await at(300);
    // Scale svc-b up, then take b1 out (it keeps running, as a pod being drained would).
    const epB = await api.get<Endpoints>(endpointsKind, 'svc-b', { namespace: 'live' });
    const scaled = await api.update<Endpoints>(endpointsKind, {
      ...epB,
      subsets: endpoints('live', 'svc-b', [b1, b2]).subsets,
    });
    await at(450);
    await api.update<Endpoints>(endpointsKind, {
      ...scaled,
      subsets: endpoints('live', 'svc-b', [b2]).subsets,
    });
    await at(600);
    // Unrelated routes come and go; weights split the traffic again.
    await createRoute(api, 'live', 'svc-a', { host: 'other.example.com' });
    current = await api.get<Route>(routeKind, 'load', { namespace: 'live' });
    await api.update<Route>(routeKind, {
      ...current,
      spec: {
        ...current.spec,
        to: { kind: 'Service', name: 'svc-b', weight: 50 },
        alternateBackends: [{ kind: 'Service', name: 'svc-a', weight: 50 }],
      },
    });
    await at(800);
    await api.delete(routeKind, 'svc-a', { namespace: 'live' });
    await load;
    agent.destroy();

    expect(failures).toEqual([]);
    expect(Object.values(byBackend).reduce((a, b) => a + b, 0)).toBe(total);
    // Every backend took part at some point.
    for (const name of ['a1', 'a2', 'b1', 'b2']) expect(byBackend[name], name).toBeGreaterThan(0);
    expect(route.metadata.name).toBe('load');
  });

  it('lets a request in flight finish on its old target when the route moves', async () => {
    const { api, router } = world;
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    const slow = await backend('old-target', (_req, res) => {
      void released.then(() => res.end('from the old target'));
    });
    const fresh = await backend('new-target');
    await expose(api, 'live', 'old', [slow]);
    await expose(api, 'live', 'new', [fresh]);
    await createRoute(api, 'live', 'moving', {
      host: 'moving.example.com',
      to: { kind: 'Service', name: 'old', weight: 100 },
    });
    await untilServed(router, 'live/moving', 1);

    const inFlight = send(router.httpUrl, { host: 'moving.example.com', path: '/slow' });
    while (slow.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    const route = await api.get<Route>(routeKind, 'moving', { namespace: 'live' });
    await api.update<Route>(routeKind, {
      ...route,
      spec: { ...route.spec, to: { kind: 'Service', name: 'new', weight: 100 } },
    });
    await untilTable(
      router,
      (r) => r.table().backend('live/moving')?.targets[0]?.port === fresh.port,
      'the new target',
    );
    // New requests go to the new target while the old one is still answering.
    expect((await send(router.httpUrl, { host: 'moving.example.com' })).json().backend).toBe(
      'new-target',
    );
    release();
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.body).toBe('from the old target');
  });
});

describe('restarts', () => {
  /** A router whose master does not answer: it can only serve what its snapshot holds. */
  async function startCutOff(stateFile: string): Promise<RunningRouter> {
    const dead = createNetServer();
    dead.listen(0, '127.0.0.1');
    await once(dead, 'listening');
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    return startRouter(
      loadConfig(
        {},
        {
          server: `http://127.0.0.1:${port}`,
          token: world.t.master.adminToken,
          listen: '127.0.0.1:0',
          statsListen: '127.0.0.1:0',
          requireAdmission: false,
          allowLoopbackEndpoints: true,
          stateFile,
          logLevel: 'silent',
        },
      ),
      silentLogger(),
      { processMetrics: false },
    );
  }

  it('serves the saved table at once after a restart, before the master answers', async () => {
    const { api, router } = world;
    const saved = await backend('saved');
    await expose(api, 'live', 'saved', [saved]);
    await createRoute(api, 'live', 'saved', { host: 'saved.example.com' });
    await untilServed(router, 'live/saved', 1);
    const file = join(stateDir, 'table.json');
    // The snapshot is written shortly after a change; wait for it to hold the new route.
    const deadline = Date.now() + 5000;
    while (!(await loadSnapshot(file))?.routes.some((r) => r.metadata.name === 'saved')) {
      if (Date.now() > deadline) throw new Error('the snapshot never held the route');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const restarted = await startCutOff(file);
    try {
      expect(restarted.ready()).toBe(true);
      const r = await send(restarted.httpUrl, { host: 'saved.example.com' });
      expect(r.status).toBe(200);
      expect(r.json().backend).toBe('saved');
      expect((await send(restarted.statsUrl!, { path: '/healthz/ready' })).status).toBe(200);
    } finally {
      await restarted.close();
    }
  });

  it('without a snapshot or a master it is alive but not ready', async () => {
    const lonely = await startCutOff(join(stateDir, 'none.json'));
    try {
      expect(lonely.ready()).toBe(false);
      expect((await send(lonely.statsUrl!, { path: '/healthz' })).status).toBe(200);
      expect((await send(lonely.statsUrl!, { path: '/healthz/ready' })).status).toBe(503);
      expect((await send(lonely.httpUrl, { host: 'saved.example.com' })).status).toBe(503);
      expect((await send(lonely.statsUrl!, { path: '/metrics' })).body).toContain(
        'slipway_router_requests_total{namespace="",route="",code="503"} 1',
      );
    } finally {
      await lonely.close();
    }
  });
});

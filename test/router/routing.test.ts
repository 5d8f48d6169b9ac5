// Routing through a real router fed by a real master: host and path matching, host
// normalisation (B5), tenant isolation (X5), admission, the 503 page, 502, timeouts, weights,
// sticky cookies and X-Forwarded rewriting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  endpointsKind,
  routeKind,
  serviceKind,
  type Endpoints,
  type Route,
} from '../../src/api/index.js';
import {
  createProject,
  createRoute,
  endpoints,
  expose,
  send,
  startBackend,
  startRouterFor,
  startWorld,
  untilServed,
  untilTable,
  type Backend,
  type RouterWorld,
} from './support.js';

let world: RouterWorld;
const backends: Backend[] = [];

async function backend(name: string, handler?: Parameters<typeof startBackend>[1]) {
  const b = await startBackend(name, handler);
  backends.push(b);
  return b;
}

beforeAll(async () => {
  world = await startWorld();
  await createProject(world.t.admin, 'alpha');
  await createProject(world.t.admin, 'beta');
});

afterAll(async () => {
  await world?.close();
  await Promise.all(backends.map((b) => b.close()));
});

describe('host and path', () => {
  it('routes by exact host, then the longest path prefix on segment boundaries', async () => {
    const { api, router } = world;
    const root = await backend('root');
    const apiB = await backend('api');
    const v2 = await backend('v2');
    await expose(api, 'alpha', 'root', [root]);
    await expose(api, 'alpha', 'api', [apiB]);
    await expose(api, 'alpha', 'v2', [v2]);
    await createRoute(api, 'alpha', 'root', { host: 'shop.example.com' });
    await createRoute(api, 'alpha', 'api', { host: 'shop.example.com', path: '/api' });
    await createRoute(api, 'alpha', 'v2', { host: 'shop.example.com', path: '/api/v2/' });
    for (const key of ['alpha/root', 'alpha/api', 'alpha/v2']) await untilServed(router, key, 1);

    const who = async (path: string): Promise<string> =>
      (await send(router.httpUrl, { host: 'shop.example.com', path })).json().backend;
    expect(await who('/')).toBe('root');
    expect(await who('/api')).toBe('api');
    expect(await who('/api/')).toBe('api');
    expect(await who('/api/users?x=1')).toBe('api');
    expect(await who('/apis')).toBe('root');
    expect(await who('/api/v2')).toBe('v2');
    expect(await who('/api/v2/orders')).toBe('v2');
    expect(await who('/api/v20')).toBe('api');
    const reply = await send(router.httpUrl, { host: 'shop.example.com', path: '/api/x?q=1' });
    expect(reply.json().url).toBe('/api/x?q=1');
  });

  it('normalises the Host: case, port and one trailing dot; nothing else matches (B5)', async () => {
    const { router } = world;
    const status = async (host: string): Promise<[number, string | undefined]> => {
      const r = await send(router.httpUrl, { host, path: '/' });
      return [r.status, r.status === 200 ? r.json().backend : undefined];
    };
    expect(await status('shop.example.com')).toEqual([200, 'root']);
    expect(await status('SHOP.Example.COM')).toEqual([200, 'root']);
    expect(await status('shop.example.com:8080')).toEqual([200, 'root']);
    expect(await status('shop.example.com.')).toEqual([200, 'root']);
    expect(await status('Shop.Example.Com.:80')).toEqual([200, 'root']);
    expect((await status('shop.example.com..'))[0]).toBe(400);
    expect((await status('www.shop.example.com'))[0]).toBe(503);
    expect((await status('example.com'))[0]).toBe(503);
    expect((await status('shop.example.com:http'))[0]).toBe(400);
    expect((await status('shop.example.com@evil.com'))[0]).toBe(400);
    expect((await status('[::1]'))[0]).toBe(400);
    // The backend sees the Host lower-cased, port kept, as sent.
    const r = await send(router.httpUrl, { host: 'SHOP.example.com:8080', path: '/' });
    expect(r.json().headers.host).toBe('shop.example.com:8080');
  });

  it('answers unknown hosts and paths with the "Application is not available" page', async () => {
    const { api, router } = world;
    const unknown = await send(router.httpUrl, { host: 'nobody.example.com' });
    expect(unknown.status).toBe(503);
    expect(unknown.headers['content-type']).toMatch(/^text\/html/);
    expect(unknown.body).toContain('<title>Application is not available</title>');
    expect(unknown.body).toContain('The host does not exist');

    const b = await backend('pathonly');
    await expose(api, 'alpha', 'pathonly', [b]);
    await createRoute(api, 'alpha', 'pathonly', { host: 'paths.example.com', path: '/only' });
    await untilServed(router, 'alpha/pathonly', 1);
    expect(
      (await send(router.httpUrl, { host: 'paths.example.com', path: '/only/x' })).status,
    ).toBe(200);
    expect((await send(router.httpUrl, { host: 'paths.example.com', path: '/other' })).status).toBe(
      503,
    );
  });

  it('answers 503 when no endpoint is ready, and 502 when the endpoint refuses', async () => {
    const { api, router } = world;
    const down = await backend('down');
    await expose(api, 'alpha', 'down', [], { notReady: [down] });
    await createRoute(api, 'alpha', 'down', { host: 'down.example.com' });
    await untilTable(router, (r) => r.table().backend('alpha/down') !== undefined, 'alpha/down');
    const r = await send(router.httpUrl, { host: 'down.example.com' });
    expect(r.status).toBe(503);
    expect(r.body).toContain('Application is not available');
    expect(down.seen).toHaveLength(0);

    // An endpoint on a port nothing listens on: connection refused.
    const gone = await backend('gone');
    await gone.close();
    await expose(api, 'alpha', 'refused', [gone]);
    await createRoute(api, 'alpha', 'refused', { host: 'refused.example.com' });
    await untilServed(router, 'alpha/refused', 1);
    const refused = await send(router.httpUrl, { host: 'refused.example.com' });
    expect(refused.status).toBe(502);
    expect(refused.body).toContain('Bad Gateway');
    // With a body too (streamed, so never retried), and a chunked one.
    const post = await send(router.httpUrl, {
      host: 'refused.example.com',
      method: 'POST',
      body: 'x'.repeat(100_000),
      headers: { 'content-length': '100000' },
    });
    expect(post.status).toBe(502);
    const chunked = await send(router.httpUrl, {
      host: 'refused.example.com',
      method: 'PUT',
      body: 'hello',
      headers: { 'transfer-encoding': 'chunked' },
    });
    expect(chunked.status).toBe(502);
    // Still serving.
    expect((await send(router.httpUrl, { host: 'shop.example.com' })).status).toBe(200);
  });
});

describe('tenants and admission', () => {
  it('gives a host to the oldest route; another namespace never gets its traffic (X5)', async () => {
    const { api, router } = world;
    const a = await backend('tenant-a');
    const b = await backend('tenant-b');
    await expose(api, 'alpha', 'app', [a]);
    await expose(api, 'beta', 'app', [b]);
    await createRoute(api, 'alpha', 'app', { host: 'claimed.example.com' });
    await untilServed(router, 'alpha/app', 1);
    // beta's route is newer: same host, and a more specific path on it.
    await createRoute(api, 'beta', 'app', { host: 'claimed.example.com', path: '/admin' });
    await api.create<Route>(routeKind, {
      apiVersion: 'route.openshift.io/v1',
      kind: 'Route',
      metadata: { name: 'other', namespace: 'beta' },
      spec: { host: 'claimed.example.com', to: { kind: 'Service', name: 'app' } },
    });
    // Something else changes, so a table is built with beta's routes in it.
    const marker = await backend('marker');
    await expose(api, 'beta', 'marker', [marker]);
    await createRoute(api, 'beta', 'marker', { host: 'marker.example.com' });
    await untilServed(router, 'beta/marker', 1);
    expect(router.table().backend('beta/app')).toBeUndefined();
    expect(router.table().backend('beta/other')).toBeUndefined();
    for (const path of ['/', '/admin', '/admin/x']) {
      const r = await send(router.httpUrl, { host: 'Claimed.Example.Com.', path });
      expect(r.json().backend).toBe('tenant-a');
    }
    expect(b.seen).toHaveLength(0);

    // When alpha's route goes, beta's oldest route takes the host.
    await api.delete(routeKind, 'app', { namespace: 'alpha' });
    await untilServed(router, 'beta/app', 1);
    expect(
      (await send(router.httpUrl, { host: 'claimed.example.com', path: '/admin' })).json().backend,
    ).toBe('tenant-b');
  });

  it('resolves a route only to services of its own namespace', async () => {
    const { api, router } = world;
    // beta has a route to "secret", a service name that only alpha has.
    const secret = await backend('alpha-secret');
    await expose(api, 'alpha', 'secret', [secret]);
    await createRoute(api, 'beta', 'secret', { host: 'steal.example.com' });
    await untilTable(router, (r) => r.table().backend('beta/secret') !== undefined, 'beta/secret');
    expect(router.table().backend('beta/secret')?.targets).toEqual([]);
    expect((await send(router.httpUrl, { host: 'steal.example.com' })).status).toBe(503);
    expect(secret.seen).toHaveLength(0);
  });

  it('serves only routes admitted for this router once admission is required', async () => {
    const { t, api } = world;
    const strict = await startRouterFor(t, { requireAdmission: true, routerName: 'edge' });
    try {
      const b = await backend('admitted');
      await expose(api, 'alpha', 'admitted', [b]);
      const route = await createRoute(api, 'alpha', 'admitted', { host: 'admitted.example.com' });
      const status = (s: 'True' | 'False', routerName = 'edge') => ({
        ingress: [
          {
            host: 'admitted.example.com',
            routerName,
            conditions: [{ type: 'Admitted', status: s }],
          },
        ],
      });
      // No status yet: the strict router does not serve it; the lenient one does.
      await untilServed(world.router, 'alpha/admitted', 1);
      expect(strict.table().backend('alpha/admitted')).toBeUndefined();
      expect((await send(strict.httpUrl, { host: 'admitted.example.com' })).status).toBe(503);

      const before = strict.table().generation;
      const other = await api.updateStatus<Route>(routeKind, {
        ...route,
        status: status('True', 'another'),
      });
      await untilTable(strict, (r) => r.table().generation > before, 'a rebuild');
      expect(strict.table().backend('alpha/admitted')).toBeUndefined();

      const admitted = await api.updateStatus<Route>(routeKind, {
        ...other,
        status: status('True'),
      });
      await untilServed(strict, 'alpha/admitted', 1);
      expect((await send(strict.httpUrl, { host: 'admitted.example.com' })).json().backend).toBe(
        'admitted',
      );

      await api.updateStatus<Route>(routeKind, { ...admitted, status: status('False') });
      await untilTable(strict, (r) => r.table().backend('alpha/admitted') === undefined, 'removal');
      // Rejected for this router: the lenient router (named "default") still serves it.
      expect((await send(strict.httpUrl, { host: 'admitted.example.com' })).status).toBe(503);
    } finally {
      await strict.close();
    }
  });
});

describe('ports, weights and balancing', () => {
  it('maps targetPort by name and number through the service to the endpoint port', async () => {
    const { api, router } = world;
    const web = await backend('port-web');
    const admin = await backend('port-admin');
    await api.create(serviceKind, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'multi', namespace: 'alpha' },
      spec: {
        ports: [
          { name: 'web', port: 80, targetPort: 'http' },
          { name: 'admin', port: 9000, targetPort: 9000 },
        ],
      },
    });
    await api.create<Endpoints>(endpointsKind, {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'multi', namespace: 'alpha' },
      subsets: [
        {
          addresses: [{ ip: '127.0.0.1' }],
          ports: [
            { name: 'web', port: web.port },
            { name: 'admin', port: admin.port },
          ],
        },
      ],
    });
    const cases: [string, Route['spec']['port'] | undefined, string][] = [
      ['p-default', undefined, 'port-web'],
      ['p-name', { targetPort: 'admin' }, 'port-admin'],
      ['p-svc-target-name', { targetPort: 'http' }, 'port-web'],
      ['p-svc-port-number', { targetPort: 9000 }, 'port-admin'],
      ['p-endpoint-number', { targetPort: web.port }, 'port-web'],
    ];
    for (const [name, port] of cases) {
      await createRoute(api, 'alpha', name, {
        host: `${name}.example.com`,
        to: { kind: 'Service', name: 'multi', weight: 100 },
        ...(port ? { port } : {}),
      });
    }
    for (const [name, , expected] of cases) {
      await untilServed(router, `alpha/${name}`, 1);
      const r = await send(router.httpUrl, { host: `${name}.example.com` });
      expect(r.json().backend, name).toBe(expected);
    }
  });

  it('splits traffic by weight across alternate backends; weight 0 gets nothing', async () => {
    const { api, router } = world;
    const main = await backend('w-main');
    const canary = await backend('w-canary');
    const off = await backend('w-off');
    await expose(api, 'alpha', 'w-main', [main]);
    await expose(api, 'alpha', 'w-canary', [canary]);
    await expose(api, 'alpha', 'w-off', [off]);
    await createRoute(
      api,
      'alpha',
      'weighted',
      {
        host: 'weighted.example.com',
        to: { kind: 'Service', name: 'w-main', weight: 3 },
        alternateBackends: [
          { kind: 'Service', name: 'w-canary', weight: 1 },
          { kind: 'Service', name: 'w-off', weight: 0 },
        ],
      },
      { 'haproxy.router.openshift.io/disable_cookies': 'true' },
    );
    await untilServed(router, 'alpha/weighted', 2);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      const r = await send(router.httpUrl, { host: 'weighted.example.com' });
      const name = r.json().backend;
      counts[name] = (counts[name] ?? 0) + 1;
    }
    expect(counts).toEqual({ 'w-main': 30, 'w-canary': 10 });
    expect(off.seen).toHaveLength(0);
  });

  it('keeps a client on one backend with the sticky cookie, unless cookies are disabled', async () => {
    const { api, router } = world;
    const one = await backend('sticky-1');
    const two = await backend('sticky-2');
    await api.create(serviceKind, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'sticky', namespace: 'alpha' },
      spec: { ports: [{ name: 'http', port: 80 }] },
    });
    await api.create<Endpoints>(endpointsKind, endpoints('alpha', 'sticky', [one, two]));
    await createRoute(
      api,
      'alpha',
      'sticky',
      { host: 'sticky.example.com' },
      {
        'router.openshift.io/cookie_name': 'session_pin',
      },
    );
    await createRoute(
      api,
      'alpha',
      'nosticky',
      { host: 'nosticky.example.com', to: { kind: 'Service', name: 'sticky', weight: 100 } },
      { 'haproxy.router.openshift.io/disable_cookies': 'true' },
    );
    await untilServed(router, 'alpha/sticky', 2);
    await untilServed(router, 'alpha/nosticky', 2);

    const first = await send(router.httpUrl, { host: 'sticky.example.com' });
    const cookie = first.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toMatch(/^session_pin=[0-9a-f]{32}; path=\/; HttpOnly$/);
    expect(cookie).not.toContain('127.0.0.1');
    const pinned = first.json().backend;
    for (let i = 0; i < 6; i++) {
      const r = await send(router.httpUrl, {
        host: 'sticky.example.com',
        headers: { cookie: `other=1; ${cookie.split(';')[0]}` },
      });
      expect(r.json().backend).toBe(pinned);
      expect(r.headers['set-cookie']).toBeUndefined();
    }
    // Without the cookie, round robin alternates.
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++)
      seen.add((await send(router.httpUrl, { host: 'sticky.example.com' })).json().backend);
    expect(seen.size).toBe(2);
    const plain = await send(router.httpUrl, { host: 'nosticky.example.com' });
    expect(plain.headers['set-cookie']).toBeUndefined();
  });
});

describe('headers and timeouts', () => {
  it('sets X-Forwarded-* and Forwarded itself, replacing what the client sent', async () => {
    const { router } = world;
    const r = await send(router.httpUrl, {
      host: 'Shop.example.com:8080',
      path: '/api/h',
      headers: {
        'x-forwarded-for': '6.6.6.6',
        'X-Forwarded-Host': 'evil.example.com',
        'x-forwarded-proto': 'https',
        'x-forwarded-port': '443',
        forwarded: 'for=6.6.6.6;proto=https',
        connection: 'keep-alive, x-drop-me',
        'x-drop-me': 'secret',
        'keep-alive': 'timeout=5',
        'x-keep-me': 'yes',
      },
    });
    const headers = r.json().headers;
    const port = new URL(router.httpUrl).port;
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-forwarded-host']).toBe('shop.example.com:8080');
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-forwarded-port']).toBe(port);
    expect(headers.forwarded).toBe('for=127.0.0.1;host="shop.example.com:8080";proto=http');
    expect(headers['x-drop-me']).toBeUndefined();
    expect(headers['keep-alive']).toBeUndefined();
    expect(headers['x-keep-me']).toBe('yes');
  });

  it('streams large bodies both ways, framed by length or chunked', async () => {
    const { router } = world;
    const big = 'abcdefghij'.repeat(100_000);
    const sized = await send(router.httpUrl, {
      host: 'shop.example.com',
      path: '/upload',
      method: 'POST',
      body: big,
      headers: { 'content-length': String(big.length) },
    });
    expect(sized.json().body).toBe(big);
    const chunked = await send(router.httpUrl, {
      host: 'shop.example.com',
      path: '/upload',
      method: 'PUT',
      body: big,
      headers: { 'transfer-encoding': 'chunked' },
    });
    expect(chunked.json().body).toBe(big);
    const head = await send(router.httpUrl, { host: 'shop.example.com', method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('gives up on a slow backend after the route timeout with 504', async () => {
    const { api, router } = world;
    const slow = await backend('slow', (_req, res) => {
      const timer = setTimeout(() => res.end('late'), 3000);
      res.on('close', () => clearTimeout(timer));
    });
    await expose(api, 'alpha', 'slow', [slow]);
    await createRoute(
      api,
      'alpha',
      'slow',
      { host: 'slow.example.com' },
      {
        'haproxy.router.openshift.io/timeout': '300ms',
      },
    );
    await untilServed(router, 'alpha/slow', 1);
    // The backend would answer after 3 s; the router gives up first.
    const r = await send(router.httpUrl, { host: 'slow.example.com' });
    expect(r.status).toBe(504);
    expect(r.body).toContain('Gateway Timeout');
    expect(r.body).not.toContain('late');
  });
});

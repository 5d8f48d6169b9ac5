// WebSocket upgrades through the router (and their survival across route changes), HTTPS for
// edge routes (a certificate per host chosen by SNI, and the insecure-traffic policies), and TLS
// passthrough (the backend's own certificate, end to end, chosen by SNI beside edge hosts), and
// reencrypt (the router's certificate to the client, TLS verified against the route's CA to the
// backend).
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createServer as createHttpsServer,
  request as httpsRequest,
  type Server as HttpsServer,
} from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { routeKind, type Route } from '../../src/api/index.js';
import { selfSigned, signedBy } from '../support/pki.js';
import {
  createProject,
  createRoute,
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
let certDir: string;
const backends: Backend[] = [];

async function backend(name: string, handler?: Parameters<typeof startBackend>[1]) {
  const b = await startBackend(name, handler);
  backends.push(b);
  return b;
}

/** An HTTPS backend on 127.0.0.1 serving `pem`, closed with the others after the file. */
async function httpsBackend(
  name: string,
  pem: { cert: string; key: string },
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ port: number; server: HttpsServer }> {
  const server = createHttpsServer({ cert: pem.cert, key: pem.key }, handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  backends.push({
    name,
    port,
    server,
    seen: [],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
  return { port, server };
}

const certificate = (host: string) => selfSigned(certDir, host);
const signed = (ca: string, name: string) => signedBy(certDir, ca, name);

beforeAll(async () => {
  certDir = await mkdtemp(join(tmpdir(), 'slipway-router-tls-'));
  world = await startWorld({ listenHttps: '127.0.0.1:0' });
  await createProject(world.t.admin, 'web');
});

afterAll(async () => {
  await world?.close();
  await Promise.all(backends.map((b) => b.close()));
  await rm(certDir, { recursive: true, force: true });
});

/** An echo WebSocket server on a backend, answering `NAME:message`. */
async function wsBackend(name: string): Promise<Backend> {
  const b = await backend(name, (_req, res) => res.end(name));
  const wss = new WebSocketServer({ server: b.server });
  wss.on('connection', (socket, req) => {
    socket.on('message', (data: Buffer) => {
      const text = data.toString();
      socket.send(`${name}:${text === 'xff' ? String(req.headers['x-forwarded-for']) : text}`);
    });
  });
  return b;
}

function openWs(url: string, host: string): Promise<WebSocket> {
  const u = new URL(url);
  const ws = new WebSocket(`ws://${u.host}/socket`, { headers: { host } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`unexpected response ${res.statusCode}`)),
    );
  });
}

function ask(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onClose = (): void => reject(new Error('the WebSocket closed'));
    ws.once('close', onClose);
    ws.once('message', (data: Buffer) => {
      ws.off('close', onClose);
      resolve(data.toString());
    });
    ws.send(text);
  });
}

describe('WebSocket', () => {
  it('upgrades through the router and keeps open tunnels across route changes', async () => {
    const { api, router } = world;
    const one = await wsBackend('ws-one');
    const two = await wsBackend('ws-two');
    await expose(api, 'web', 'ws-one', [one]);
    await expose(api, 'web', 'ws-two', [two]);
    await createRoute(api, 'web', 'chat', {
      host: 'chat.example.com',
      to: { kind: 'Service', name: 'ws-one', weight: 100 },
    });
    await untilServed(router, 'web/chat', 1);

    const ws = await openWs(router.httpUrl, 'chat.example.com');
    expect(await ask(ws, 'hello')).toBe('ws-one:hello');
    expect(await ask(ws, 'xff')).toBe('ws-one:127.0.0.1');
    expect(await router.metrics.tunnels.get()).toMatchObject({ values: [{ value: 1 }] });

    // The route moves to another service: the open tunnel stays, new ones go to the new one.
    const route = await api.get<Route>(routeKind, 'chat', { namespace: 'web' });
    await api.update<Route>(routeKind, {
      ...route,
      spec: { ...route.spec, to: { kind: 'Service', name: 'ws-two', weight: 100 } },
    });
    await untilTable(
      router,
      (r) => r.table().backend('web/chat')?.targets[0]?.port === two.port,
      'ws-two',
    );
    for (let i = 0; i < 20; i++) expect(await ask(ws, `m${i}`)).toBe(`ws-one:m${i}`);
    const fresh = await openWs(router.httpUrl, 'chat.example.com');
    expect(await ask(fresh, 'hi')).toBe('ws-two:hi');
    ws.close();
    fresh.close();
    await Promise.all([once(ws, 'close'), once(fresh, 'close')]);
  });

  it('closes a tunnel idle for longer than the tunnel timeout', async () => {
    const { api, router } = world;
    const idle = await wsBackend('ws-idle');
    await expose(api, 'web', 'ws-idle', [idle]);
    await createRoute(
      api,
      'web',
      'ws-idle',
      { host: 'idle.example.com' },
      {
        'haproxy.router.openshift.io/timeout-tunnel': '1s',
      },
    );
    await untilServed(router, 'web/ws-idle', 1);
    const ws = await openWs(router.httpUrl, 'idle.example.com');
    // Traffic keeps it open past the timeout...
    for (let i = 0; i < 5; i++) {
      expect(await ask(ws, `ping${i}`)).toBe(`ws-idle:ping${i}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // ...silence ends it.
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(1006);
  });

  it('passes a refused upgrade back as an ordinary response and closes', async () => {
    const { api, router } = world;
    const refusing = await backend('refusing');
    refusing.server.on('upgrade', (_req, socket) => {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 6\r\n\r\nno way');
    });
    await expose(api, 'web', 'refusing', [refusing]);
    await createRoute(api, 'web', 'refusing', { host: 'refusing.example.com' });
    await untilServed(router, 'web/refusing', 1);
    await expect(openWs(router.httpUrl, 'refusing.example.com')).rejects.toThrow(
      'unexpected response 403',
    );
    await expect(openWs(router.httpUrl, 'nobody.example.com')).rejects.toThrow(
      'unexpected response 503',
    );
    expect((await send(router.httpUrl, { host: 'refusing.example.com' })).status).toBe(200);
  });
});

/** The certificate presented for a TLS server name on the router's HTTPS port. */
function presented(servername: string): Promise<string> {
  const u = new URL(world.router.httpsUrl!);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: u.hostname, port: Number(u.port), servername, rejectUnauthorized: false },
      () => {
        const cn = socket.getPeerCertificate().subject?.CN;
        socket.end();
        resolve(String(cn));
      },
    );
    socket.on('error', reject);
  });
}

describe('HTTPS (edge termination)', () => {
  function httpsGet(
    host: string,
    cert: string,
    path = '/',
  ): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
    const u = new URL(world.router.httpsUrl!);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: u.hostname,
          port: u.port,
          path,
          servername: host,
          headers: { host },
          ca: cert,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString(),
              headers: res.headers,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('serves each edge host with its own certificate, chosen by SNI', async () => {
    const { api, router } = world;
    const shop = await certificate('secure.example.com');
    const blog = await certificate('blog.example.com');
    const app = await backend('tls-app');
    await expose(api, 'web', 'tls-app', [app]);
    await createRoute(api, 'web', 'secure', {
      host: 'secure.example.com',
      to: { kind: 'Service', name: 'tls-app', weight: 100 },
      tls: {
        termination: 'edge',
        certificate: shop.cert,
        key: shop.key,
        insecureEdgeTerminationPolicy: 'Redirect',
      },
    });
    await createRoute(api, 'web', 'blog', {
      host: 'blog.example.com',
      to: { kind: 'Service', name: 'tls-app', weight: 100 },
      tls: {
        termination: 'edge',
        certificate: blog.cert,
        key: blog.key,
        insecureEdgeTerminationPolicy: 'Allow',
      },
    });
    await untilServed(router, 'web/secure', 1);
    await untilServed(router, 'web/blog', 1);

    expect(await presented('secure.example.com')).toBe('secure.example.com');
    expect(await presented('BLOG.example.com')).toBe('blog.example.com');
    const r = await httpsGet('secure.example.com', shop.cert, '/x?y=1');
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as { headers: Record<string, string>; url: string };
    expect(seen.url).toBe('/x?y=1');
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-port']).toBe(new URL(router.httpsUrl!).port);
    expect(String(r.headers['set-cookie'])).toMatch(/; Secure$/);
    expect((await httpsGet('blog.example.com', blog.cert)).status).toBe(200);
  });

  it('applies the insecure policy: Redirect, Allow, None', async () => {
    const { api, router } = world;
    const httpsPort = new URL(router.httpsUrl!).port;
    const redirect = await send(router.httpUrl, { host: 'secure.example.com', path: '/a?b=c' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe(`https://secure.example.com:${httpsPort}/a?b=c`);
    expect((await send(router.httpUrl, { host: 'blog.example.com' })).status).toBe(200);

    const only = await certificate('only.example.com');
    await createRoute(api, 'web', 'only', {
      host: 'only.example.com',
      to: { kind: 'Service', name: 'tls-app', weight: 100 },
      tls: { termination: 'edge', certificate: only.cert, key: only.key },
    });
    await untilServed(router, 'web/only', 1);
    expect((await send(router.httpUrl, { host: 'only.example.com' })).status).toBe(503);
    expect((await httpsGet('only.example.com', only.cert)).status).toBe(200);
    // A plain HTTP route is not served over HTTPS.
    const plain = await backend('plain');
    await expose(api, 'web', 'plain', [plain]);
    await createRoute(api, 'web', 'plain', { host: 'plain.example.com' });
    await untilServed(router, 'web/plain', 1);
    expect((await send(router.httpUrl, { host: 'plain.example.com' })).status).toBe(200);
    await expect(presented('plain.example.com')).rejects.toThrow();
  });

  it('refuses the handshake for names it has no certificate for (no default set)', async () => {
    await expect(presented('unknown.example.com')).rejects.toThrow();
    // And still serves the others.
    expect(await presented('secure.example.com')).toBe('secure.example.com');
  });
});

describe('TLS passthrough', () => {
  async function upstreamConnectErrors(): Promise<number> {
    const metric = await world.router.metrics.registry
      .getSingleMetric('slipway_router_upstream_errors_total')
      ?.get();
    return metric?.values.find((v) => v.labels.kind === 'connect')?.value ?? 0;
  }

  /** An HTTPS backend with its own certificate, answering its name and what it saw. */
  const tlsBackend = (name: string, pem: { cert: string; key: string }) =>
    httpsBackend(name, pem, (req, res) => {
      res.end(`${name} ${req.headers.host ?? ''} ${String(req.headers['x-forwarded-for'])}`);
    });

  function get(host: string, ca: string, servername = host): Promise<string> {
    const u = new URL(world.router.httpsUrl!);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: u.hostname,
          port: u.port,
          path: '/',
          servername,
          headers: { host },
          ca,
          agent: false,
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it("sends a passthrough host's connections to the backend untouched, beside edge hosts", async () => {
    const { api, router } = world;
    const pem = await certificate('pass.example.com');
    const one = await tlsBackend('pass-one', pem);
    const two = await tlsBackend('pass-two', pem);
    await expose(api, 'web', 'pass', [one, two]);
    await createRoute(api, 'web', 'pass', {
      host: 'pass.example.com',
      to: { kind: 'Service', name: 'pass', weight: 100 },
      tls: { termination: 'passthrough', insecureEdgeTerminationPolicy: 'Redirect' },
    });
    await untilServed(router, 'web/pass', 2);

    // The backend's certificate, verified by the client: TLS is end to end, and the backend
    // sees the request as sent (no X-Forwarded-For: the router never saw it).
    const answers = new Set<string>();
    for (let i = 0; i < 6; i++) answers.add(await get('pass.example.com', pem.cert));
    expect(answers.size).toBe(1);
    expect([...answers][0]).toMatch(/^pass-(one|two) pass\.example\.com undefined$/);
    // Plain HTTP is redirected to HTTPS.
    const redirect = await send(router.httpUrl, { host: 'pass.example.com', path: '/p' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe(
      `https://pass.example.com:${new URL(router.httpsUrl!).port}/p`,
    );
    // Edge hosts on the same port are still the router's own TLS.
    expect(await presented('secure.example.com')).toBe('secure.example.com');
    expect(await presented('pass.example.com')).toBe('pass.example.com');
  });

  it('skips a target that refuses the connection', async () => {
    const { api, router } = world;
    const pem = await certificate('flaky.example.com');
    const live = await tlsBackend('flaky-live', pem);
    // A port nothing listens on.
    const dead = await tlsBackend('flaky-dead', pem);
    await backends.at(-1)!.close();
    await expose(api, 'web', 'flaky', [dead, live]);
    // Round robin, so that connections do meet the dead target first.
    await createRoute(
      api,
      'web',
      'flaky',
      {
        host: 'flaky.example.com',
        to: { kind: 'Service', name: 'flaky', weight: 100 },
        tls: { termination: 'passthrough' },
      },
      { 'haproxy.router.openshift.io/balance': 'roundrobin' },
    );
    await untilServed(router, 'web/flaky', 2);
    const retriesBefore = await upstreamConnectErrors();
    for (let i = 0; i < 4; i++) {
      expect(await get('flaky.example.com', pem.cert)).toMatch(/^flaky-live /);
    }
    expect(await upstreamConnectErrors()).toBeGreaterThan(retriesBefore);
  });

  it('hands a client without a matching server name to the edge side, and plain garbage is closed', async () => {
    // No SNI (an IP address dialled): the router's own TLS, which has no default certificate.
    await expect(presented('')).rejects.toThrow();
    const u = new URL(world.router.httpsUrl!);
    const { connect } = await import('node:net');
    const socket = connect(Number(u.port), u.hostname);
    socket.on('error', () => undefined);
    socket.write('GET / HTTP/1.1\r\nHost: pass.example.com\r\n\r\n');
    await once(socket, 'close');
    // The router serves on.
    expect(await presented('secure.example.com')).toBe('secure.example.com');
  });
});

describe('reencrypt', () => {
  it("terminates the client's TLS and speaks TLS to the backend, verified by the route's CA", async () => {
    const { api, router } = world;
    const front = await certificate('reenc.example.com');
    // The backend's certificate names the service as OpenShift's service certificates do.
    const inner = await signed('slipway-test-ca', 'reenc.web.svc');
    const other = await signed('other-ca', 'unrelated.web.svc');
    const { port } = await httpsBackend('reenc', inner, (req, res) => {
      res.end(`reenc ${String(req.headers['x-forwarded-proto'])} ${req.url ?? ''}`);
    });
    await expose(api, 'web', 'reenc', [{ port }]);
    const routeSpec = (ca: string) => ({
      host: 'reenc.example.com',
      to: { kind: 'Service' as const, name: 'reenc', weight: 100 },
      tls: {
        termination: 'reencrypt' as const,
        certificate: front.cert,
        key: front.key,
        destinationCACertificate: ca,
        insecureEdgeTerminationPolicy: 'Allow' as const,
      },
    });
    await createRoute(api, 'web', 'reenc', routeSpec(inner.caCert));
    await untilServed(router, 'web/reenc', 1);

    expect(await presented('reenc.example.com')).toBe('reenc.example.com');
    const u = new URL(router.httpsUrl!);
    const get = (path: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(
          {
            host: u.hostname,
            port: u.port,
            path,
            servername: 'reenc.example.com',
            headers: { host: 'reenc.example.com' },
            ca: front.cert,
            agent: false,
          },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    expect(await get('/a?b=1')).toEqual({ status: 200, body: 'reenc https /a?b=1' });
    // Allow: plain HTTP too, still encrypted to the backend.
    const plain = await send(router.httpUrl, { host: 'reenc.example.com', path: '/p' });
    expect(plain.status).toBe(200);
    expect(plain.body).toBe('reenc http /p');

    // A CA the backend's certificate does not chain to: the router refuses to talk to it.
    const route = await api.get<Route>(routeKind, 'reenc', { namespace: 'web' });
    await api.update<Route>(routeKind, {
      ...route,
      spec: { ...route.spec, ...routeSpec(other.caCert) },
    });
    await untilTable(
      router,
      (r) => r.table().backend('web/reenc')?.tls?.destinationCA === other.caCert,
      'the new destination CA',
    );
    expect((await get('/')).status).toBe(502);
  });

  it('upgrades WebSockets over a reencrypted connection', async () => {
    const { api, router } = world;
    const inner = await signed('slipway-test-ca', 'wss.web.svc');
    const { port, server } = await httpsBackend('wss', inner, (_req, res) =>
      res.end('not a socket'),
    );
    new WebSocketServer({ server }).on('connection', (socket) =>
      socket.on('message', (data: Buffer) => socket.send(`tls:${data.toString()}`)),
    );
    await expose(api, 'web', 'wss', [{ port }]);
    await createRoute(api, 'web', 'wss', {
      host: 'wss.example.com',
      to: { kind: 'Service', name: 'wss', weight: 100 },
      tls: {
        termination: 'reencrypt',
        destinationCACertificate: inner.caCert,
        insecureEdgeTerminationPolicy: 'Allow',
      },
    });
    await untilServed(router, 'web/wss', 1);
    const ws = await openWs(router.httpUrl, 'wss.example.com');
    expect(await ask(ws, 'hello')).toBe('tls:hello');
    ws.close();
  });
});

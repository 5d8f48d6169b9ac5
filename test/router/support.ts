// A real master, real HTTP backends on 127.0.0.1 and a real router between them. Services,
// Endpoints and Routes are created through the API, as the endpoints controller and users will.
import { once } from 'node:events';
import {
  createServer,
  request,
  type Agent,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  endpointsKind,
  routeKind,
  serviceKind,
  type Endpoints,
  type Route,
  type Service,
} from '../../src/api/index.js';
import { ApiClient } from '../../src/client/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { loadConfig, type RouterOptions } from '../../router/config.js';
import { startRouter, type RunningRouter } from '../../router/main.js';
import { createProject, startTestMaster, type TestMaster } from '../api/helpers.js';

export { createProject };

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

export interface Backend {
  name: string;
  port: number;
  server: Server;
  /** Every request this backend received, in order. */
  seen: Seen[];
  close(): Promise<void>;
}

export type BackendHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** Answers `{ backend, method, url, headers, body }` as JSON unless given another handler. */
export async function startBackend(name: string, handler?: BackendHandler): Promise<Backend> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      if (handler) return handler(req, res, body);
      const json = JSON.stringify({
        backend: name,
        method: req.method,
        url: req.url,
        headers: req.headers,
        body,
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(json);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    server,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RouterWorld {
  t: TestMaster;
  api: ApiClient;
  router: RunningRouter;
  close(): Promise<void>;
}

/** A master and a router watching it with the admin token, proxying to loopback endpoints. */
export async function startWorld(options: RouterOptions = {}): Promise<RouterWorld> {
  const t = await startTestMaster();
  const api = new ApiClient({ server: t.url, token: t.master.adminToken });
  const router = await startRouterFor(t, options);
  return {
    t,
    api,
    router,
    close: async () => {
      await router.close();
      await t.close();
    },
  };
}

export async function startRouterFor(
  t: TestMaster,
  options: RouterOptions = {},
): Promise<RunningRouter> {
  const config = loadConfig(
    {},
    {
      server: t.url,
      token: t.master.adminToken,
      listen: '127.0.0.1:0',
      statsListen: '127.0.0.1:0',
      requireAdmission: false,
      allowLoopbackEndpoints: true,
      drainTimeout: '2s',
      logLevel: 'silent',
      ...options,
    },
  );
  const router = await startRouter(config, silentLogger(), { processMetrics: false });
  await router.synced();
  return router;
}

/** A Service named `name` in `ns` with one port, and Endpoints at the backends' ports. */
export async function expose(
  api: ApiClient,
  ns: string,
  name: string,
  backends: readonly { port: number }[],
  options: { portName?: string; notReady?: readonly { port: number }[] } = {},
): Promise<void> {
  const portName = options.portName ?? 'http';
  await api.create<Service>(serviceKind, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { selector: { app: name }, ports: [{ name: portName, port: 80, targetPort: 8080 }] },
  });
  await api.create<Endpoints>(endpointsKind, endpoints(ns, name, backends, options));
}

export function endpoints(
  ns: string,
  name: string,
  backends: readonly { port: number }[],
  options: { portName?: string; notReady?: readonly { port: number }[] } = {},
): Endpoints {
  // One subset per backend: each runs on its own port of 127.0.0.1.
  const subsets = [
    ...backends.map((b) => ({
      addresses: [{ ip: '127.0.0.1' }],
      ports: [{ name: options.portName ?? 'http', port: b.port, protocol: 'TCP' as const }],
    })),
    ...(options.notReady ?? []).map((b) => ({
      notReadyAddresses: [{ ip: '127.0.0.1' }],
      ports: [{ name: options.portName ?? 'http', port: b.port, protocol: 'TCP' as const }],
    })),
  ];
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: ns }, subsets };
}

export async function createRoute(
  api: ApiClient,
  ns: string,
  name: string,
  spec: Partial<Route['spec']> & { host: string },
  annotations?: Record<string, string>,
): Promise<Route> {
  return api.create<Route>(routeKind, {
    apiVersion: 'route.openshift.io/v1',
    kind: 'Route',
    metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
    spec: { to: { kind: 'Service', name }, ...spec },
  });
}

/** Waits (bounded) until the router's table satisfies `check`. */
export async function untilTable(
  router: RunningRouter,
  check: (r: RunningRouter) => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check(router)) {
    if (Date.now() > deadline) throw new Error(`the router's table never showed ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until route `ns/name` is in the table with `targets` ready targets. */
export function untilServed(
  router: RunningRouter,
  key: string,
  targets: number,
  timeoutMs?: number,
): Promise<void> {
  return untilTable(
    router,
    (r) => r.table().backend(key)?.targets.length === targets,
    `${key} with ${targets} target(s)`,
    timeoutMs,
  );
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json<T = { backend: string; headers: IncomingHttpHeaders; url: string; body: string }>(): T;
}

/** One HTTP request through the router with the Host (and anything else) a test chooses. */
export function send(
  url: string,
  options: {
    host?: string;
    path?: string;
    method?: string;
    headers?: Record<string, string | string[]>;
    body?: string;
    agent?: Agent | false;
    timeoutMs?: number;
  } = {},
): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: { ...(options.host ? { host: options.host } : {}), ...options.headers },
        agent: options.agent ?? false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: <T>() => JSON.parse(body) as T,
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

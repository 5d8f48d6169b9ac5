/**
 * The router's composition root: loads the last snapshot (if any) so traffic flows at once,
 * listens, and keeps the table in step with the master through the API.
 */
import { readFile } from 'node:fs/promises';
import type { Server as TcpServer } from 'node:net';
import { ApiClient } from '../src/client/index.js';
import type { Logger } from '../src/util/logger.js';
import { Balancer } from './balancer.js';
import type { Listen, RouterConfig } from './config.js';
import { RouterMetrics } from './metrics.js';
import { RequestHandler } from './proxy/request-handler.js';
import { PassthroughRouter } from './proxy/passthrough.js';
import { createHttpListener, createHttpsListener, type ListeningServer } from './proxy/servers.js';
import { poolKey, Upstreams } from './proxy/upstream.js';
import {
  buildRouteTable,
  RouteTable,
  upstreamTls,
  type TableInput,
  type TableOptions,
} from './route-table.js';
import { loadSnapshot, saveSnapshot } from './snapshot.js';
import { createStatsServer } from './stats-server.js';
import { RouteSync } from './sync.js';
import { CertificateStore } from './tls.js';

export interface RunningRouter {
  /** `http://HOST:PORT` of the HTTP listener. */
  httpUrl: string;
  httpsUrl: string | undefined;
  /** Undefined when the stats port is served elsewhere (workers). */
  statsUrl: string | undefined;
  metrics: RouterMetrics;
  /** The table being served now. */
  table(): RouteTable;
  /** True once a table is loaded (from the master or the snapshot). */
  ready(): boolean;
  /** Resolves once the first table built from the master is live. */
  synced(): Promise<void>;
  /** Stops listening, drains requests in flight, stops watching. */
  close(): Promise<void>;
}

export interface RouterDeps {
  /** For tests: another API client (the config's server and token by default). */
  client?: Pick<ApiClient, 'list' | 'watch'>;
  /** Process metrics (event loop, memory) on /metrics; on by default. */
  processMetrics?: boolean;
  /** Serve the stats port (a worker leaves it to its primary). Default true. */
  stats?: boolean;
  /** Write the snapshot file. Default true. */
  writeSnapshot?: boolean;
  /** Listen with SO_REUSEPORT beside sibling processes (workers). Default false. */
  reusePort?: boolean;
}

/** Splits a PEM file into its certificate chain and its private key. */
export function splitPem(text: string): { cert: string; key: string } {
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g)];
  const key = blocks.find((b) => b[1]!.endsWith('PRIVATE KEY'))?.[0];
  const cert = blocks
    .filter((b) => b[1] === 'CERTIFICATE')
    .map((b) => b[0])
    .join('\n');
  if (!key || !cert) throw new Error('the PEM file needs a certificate and a private key');
  return { cert, key };
}

function listen(server: TcpServer, at: Listen, reusePort = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    // A worker's own socket: the kernel spreads connections over the workers' sockets, and a
    // dead worker's socket is gone at once (its queued connections are reset, none hang).
    const options = reusePort ? { exclusive: true, reusePort: true } : {};
    server.listen({ port: at.port, host: at.host, ...options }, () => {
      server.off('error', onError);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : at.port;
      const host = at.host.includes(':') ? `[${at.host}]` : at.host;
      resolve(`${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host}:${port}`);
    });
  });
}

export async function startRouter(
  config: RouterConfig,
  logger: Logger,
  deps: RouterDeps = {},
): Promise<RunningRouter> {
  const log = logger.child({ component: 'router', router: config.routerName });
  const metrics = new RouterMetrics({ processMetrics: deps.processMetrics ?? true });
  const upstreams = new Upstreams({
    connectTimeoutMs: config.timeouts.connectMs,
    connectionsPerTarget: config.connectionsPerTarget,
    keepAliveTimeoutMs: 4_000,
  });
  const balancer = new Balancer(upstreams);
  const defaultPem = config.defaultCertificate
    ? splitPem(await readFile(config.defaultCertificate, 'utf8'))
    : undefined;
  const certificates = new CertificateStore(defaultPem);
  const tableOptions: TableOptions = {
    routerName: config.routerName,
    requireAdmission: config.requireAdmission,
    allowLoopback: config.allowLoopbackEndpoints,
    defaultBalance: config.defaultBalance,
  };

  let table = RouteTable.empty;
  let loaded = false;
  let pendingSnapshot: TableInput | undefined;
  let snapshotTimer: NodeJS.Timeout | undefined;
  let snapshotWrite: Promise<void> = Promise.resolve();
  const writeSnapshot = (): void => {
    snapshotTimer = undefined;
    const input = pendingSnapshot;
    pendingSnapshot = undefined;
    if (!input || !config.stateFile || deps.writeSnapshot === false) return;
    const file = config.stateFile;
    snapshotWrite = snapshotWrite
      .then(() => saveSnapshot(file, input))
      .catch((err: unknown) => log.warn({ err, file }, 'could not save the routing snapshot'));
  };

  /** The one place a table goes live. */
  const swap = (next: RouteTable, input: TableInput | undefined): void => {
    table = next;
    loaded = true;
    for (const p of certificates.update(next)) {
      log.warn({ host: p.host, problem: p.message }, 'route certificate unusable');
    }
    const keys = new Set<string>();
    const pools = new Set<string>();
    for (const b of next.backends) {
      for (const t of b.targets) {
        keys.add(t.key);
        pools.add(poolKey(t, upstreamTls(b, t)));
      }
    }
    upstreams.retain(pools);
    metrics.routes.set(next.backends.length);
    metrics.forgetRoutes(new Set(next.backends.map((b) => b.key)));
    metrics.targets.set(keys.size);
    metrics.rebuilds.inc();
    if (input && config.stateFile) {
      pendingSnapshot = input;
      snapshotTimer ??= setTimeout(writeSnapshot, 1000);
    }
  };

  if (config.stateFile) {
    const saved = await loadSnapshot(config.stateFile);
    if (saved) {
      try {
        swap(buildRouteTable(saved, tableOptions).table, undefined);
        log.info(
          { routes: table.backends.length, file: config.stateFile },
          'serving the saved table',
        );
      } catch (err) {
        log.warn({ err, file: config.stateFile }, 'the routing snapshot is unusable; ignoring it');
      }
    }
  }

  let httpsPort = config.listenHttps?.port ?? 443;
  const handler = new RequestHandler({
    table: () => table,
    balancer,
    upstreams,
    metrics,
    logger,
    timeouts: {
      connectMs: config.timeouts.connectMs,
      serverMs: config.timeouts.serverMs,
      tunnelMs: config.timeouts.tunnelMs,
    },
    httpsPort: () => httpsPort,
  });
  const passthrough = new PassthroughRouter({
    table: () => table,
    balancer,
    metrics,
    logger,
    connectTimeoutMs: config.timeouts.connectMs,
    helloTimeoutMs: config.timeouts.clientMs,
    tunnelMs: config.timeouts.tunnelMs,
  });
  const serverOptions = {
    handler,
    metrics,
    timeouts: {
      keepAliveMs: config.timeouts.clientMs,
      headersMs: config.timeouts.clientMs,
      requestMs: Math.max(config.timeouts.clientMs, 300_000),
    },
  };
  const listeners: ListeningServer[] = [];
  const stats =
    deps.stats === false
      ? undefined
      : createStatsServer(
          { contentType: metrics.registry.contentType, metrics: () => metrics.registry.metrics() },
          () => loaded,
        );
  let httpUrl: string;
  let httpsUrl: string | undefined;
  let statsUrl: string | undefined;
  try {
    const http = createHttpListener(serverOptions);
    listeners.push(http);
    httpUrl = `http://${await listen(http.server, config.listen, deps.reusePort)}`;
    if (config.listenHttps) {
      const https = createHttpsListener(
        serverOptions,
        certificates,
        passthrough,
        defaultPem ? { cert: defaultPem.cert, key: defaultPem.key } : {},
      );
      listeners.push(https);
      httpsUrl = `https://${await listen(https.server, config.listenHttps, deps.reusePort)}`;
      httpsPort = Number(new URL(httpsUrl).port || 443);
    }
    if (stats) statsUrl = `http://${await listen(stats, config.statsListen)}`;
  } catch (err) {
    for (const l of listeners) l.server.close();
    stats?.close();
    await upstreams.destroy();
    throw err;
  }

  const client =
    deps.client ??
    new ApiClient({ server: config.server, token: config.token, userAgent: 'slipway-router' });
  const abort = new AbortController();
  const sync = new RouteSync({
    client,
    logger,
    metrics,
    tableOptions,
    debounceMs: config.debounceMs,
    current: () => table,
    onTable: (next, input) => swap(next, input),
  });
  const running = sync.run(abort.signal).catch((err: unknown) => {
    log.error({ err }, 'route sync stopped');
  });
  log.info({ http: httpUrl, https: httpsUrl, stats: statsUrl }, 'router listening');

  return {
    httpUrl,
    httpsUrl,
    statsUrl,
    metrics,
    table: () => table,
    ready: () => loaded,
    synced: () => sync.whenSynced,
    close: async () => {
      abort.abort();
      await Promise.all(listeners.map((l) => l.close(config.timeouts.drainMs)));
      if (stats) await new Promise<void>((resolve) => stats.close(() => resolve()));
      await upstreams.close();
      await running;
      if (snapshotTimer) {
        clearTimeout(snapshotTimer);
        writeSnapshot();
      }
      await snapshotWrite;
      log.info('router stopped');
    },
  };
}

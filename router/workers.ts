/**
 * Several router processes on one host (`--workers N`), as nginx runs worker processes: one
 * Node process proxies on one core. Each worker listens on the same ports with SO_REUSEPORT, so
 * the kernel spreads new connections over them and a dead worker's socket disappears at once
 * (node:cluster's shared sockets would hand a connection to a worker that just died and leave it
 * hanging). The primary serves the stats port with the workers' metrics added up and replaces a
 * worker that dies. Each worker is a whole router: it watches the master and builds its table.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from '../src/util/logger.js';
import type { RouterConfig } from './config.js';
import { startRouter, type RunningRouter } from './main.js';
import { createStatsServer } from './stats-server.js';

const MESSAGE = 'slipway-router';

interface WorkerMessage {
  type: typeof MESSAGE;
  event: 'ready' | 'stop';
}

function isMessage(m: unknown, event: WorkerMessage['event']): boolean {
  return (
    typeof m === 'object' &&
    m !== null &&
    (m as WorkerMessage).type === MESSAGE &&
    (m as WorkerMessage).event === event
  );
}

/** True in a worker process forked by a router primary. */
export function isRouterWorker(): boolean {
  return cluster.isWorker;
}

export interface RunningPrimary {
  statsUrl: string;
  /** Workers that have a table loaded. */
  readyWorkers(): number;
  /** Asks every worker to drain and stop; kills those that do not within the drain time. */
  close(): Promise<void>;
}

function listenStats(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      resolve(`http://${host.includes(':') ? `[${host}]` : host}:${bound}`);
    });
  });
}

export async function startRouterPrimary(
  config: RouterConfig,
  logger: Logger,
): Promise<RunningPrimary> {
  const log = logger.child({ component: 'router-primary' });
  const aggregator = new AggregatorRegistry();
  const ready = new Set<number>();
  const live = new Set<Worker>();
  let stopping = false;
  let delay = 1000;

  const fork = (): void => {
    const worker = cluster.fork();
    live.add(worker);
    // A channel that closes under a send is the exit handler's business, not a crash.
    worker.on('error', () => undefined);
    worker.on('message', (m: unknown) => {
      if (isMessage(m, 'ready')) {
        ready.add(worker.id);
        delay = 1000;
      }
    });
    worker.on('exit', (code: number | null, signal: string | null) => {
      live.delete(worker);
      ready.delete(worker.id);
      if (stopping) return;
      log.error({ worker: worker.id, code, signal }, 'router worker exited; starting another');
      setTimeout(() => {
        if (!stopping) fork();
      }, delay).unref();
      delay = Math.min(delay * 2, 30_000);
    });
  };

  const stats = createStatsServer(
    { contentType: aggregator.contentType, metrics: () => aggregator.clusterMetrics() },
    () => live.size > 0 && ready.size === live.size,
  );
  const statsUrl = await listenStats(stats, config.statsListen.host, config.statsListen.port);
  for (let i = 0; i < config.workers; i++) fork();
  log.info({ workers: config.workers, stats: statsUrl }, 'router workers starting');

  return {
    statsUrl,
    readyWorkers: () => ready.size,
    close: async () => {
      stopping = true;
      const exits = [...live].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            w.once('exit', () => resolve());
            const kill = setTimeout(
              () => w.process.kill('SIGKILL'),
              config.timeouts.drainMs + 5000,
            );
            w.once('exit', () => clearTimeout(kill));
            try {
              w.send({ type: MESSAGE, event: 'stop' } satisfies WorkerMessage, (err) => {
                if (err) w.process.kill('SIGTERM');
              });
            } catch {
              w.process.kill('SIGTERM');
            }
          }),
      );
      await Promise.all(exits);
      await new Promise<void>((resolve) => stats.close(() => resolve()));
      log.info('router workers stopped');
    },
  };
}

/** A worker: a whole router without its own stats port, reporting to the primary. */
export async function startRouterWorker(
  config: RouterConfig,
  logger: Logger,
): Promise<RunningRouter> {
  const router = await startRouter(config, logger.child({ worker: cluster.worker?.id }), {
    stats: false,
    reusePort: true,
  });
  // Constructing one installs the listener that answers the primary's metrics requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([router.metrics.registry]);
  const announce = (): void => {
    if (!process.connected) return;
    process.send?.({ type: MESSAGE, event: 'ready' } satisfies WorkerMessage, undefined, {}, () => {
      // The primary went away: its 'disconnect' stops this worker.
    });
  };
  if (router.ready()) announce();
  else void router.synced().then(announce);
  return router;
}

/** Resolves when the primary asks this worker to stop, or goes away. */
export function stopRequestedByPrimary(): Promise<void> {
  return new Promise((resolve) => {
    process.on('message', (m: unknown) => {
      if (isMessage(m, 'stop')) resolve();
    });
    cluster.worker?.once('disconnect', () => resolve());
  });
}

/**
 * `slipway router`: the HTTP(S) router in the foreground, fed by the master's API (routes,
 * services and endpoints in every namespace) with the token it is given.
 */
import type { Command } from 'commander';
import { CliError, contextOf } from '../src/cli/index.js';
import { createLogger } from '../src/util/logger.js';
import { loadConfig, type RouterConfig, type RouterOptions } from '../router/config.js';
import type { RunningRouter } from '../router/main.js';
import { stopRequested } from './agent-command.js';

interface RouterCommandOptions {
  server?: string;
  token?: string;
  name?: string;
  listen?: string;
  listenHttps?: string;
  statsListen?: string;
  /** commander's name for --no-require-admission: false when given. */
  requireAdmission?: boolean;
  allowLoopbackEndpoints?: boolean;
  defaultCertificate?: string;
  stateFile?: string;
  balance?: string;
  workers?: string;
  logLevel?: string;
}

export function routerConfig(env: NodeJS.ProcessEnv, options: RouterOptions): RouterConfig {
  try {
    return loadConfig(env, options);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

function listenError(err: unknown): CliError {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e.code === 'EADDRINUSE' || e.code === 'EACCES') {
    return new CliError(
      `cannot listen on ${e.address ?? ''}:${e.port ?? ''} (${e.code}); choose another address with --listen/--listen-https/--stats-listen`,
    );
  }
  return new CliError(e.message);
}

export function registerRouterCommand(program: Command): void {
  const ctx = contextOf(program);
  program
    .command('router')
    .description(
      'run the HTTP(S) router in the foreground: serves routes to the ready endpoints of their services (SIGINT/SIGTERM drain and stop it)',
    )
    .option('--server <url>', "the master's API URL (or $SLIPWAY_ROUTER_SERVER)")
    .option(
      '--token <token>',
      'a token that may list and watch routes, services and endpoints (or $SLIPWAY_ROUTER_TOKEN)',
    )
    .option('--name <name>', "this router's name in route status (default: default)")
    .option('--listen <host:port>', 'HTTP address (default: 0.0.0.0:80)')
    .option('--listen-https <host:port>', 'HTTPS address for edge routes (default: off)')
    .option('--stats-listen <host:port>', '/healthz and /metrics address (default: 127.0.0.1:1936)')
    .option(
      '--no-require-admission',
      'also serve routes that no admission controller has admitted yet (oldest route still wins a host)',
    )
    .option(
      '--allow-loopback-endpoints',
      "proxy to endpoint addresses on this host's loopback (only where every project is trusted)",
    )
    .option(
      '--default-certificate <file>',
      'PEM certificate and key for HTTPS hosts without their own',
    )
    .option(
      '--state-file <file>',
      'save the routing table here and serve it at once after a restart',
    )
    .option('--balance <algorithm>', 'roundrobin (default), leastconn, source or random')
    .option(
      '--workers <n>',
      'processes serving traffic (default: auto, one per CPU; 1 when a listen port is 0)',
    )
    .option('--log-level <level>', 'log level (default: info)')
    .action(async (opts: RouterCommandOptions) => {
      const config = routerConfig(ctx.io.env, {
        server: opts.server,
        token: opts.token,
        routerName: opts.name,
        listen: opts.listen,
        listenHttps: opts.listenHttps,
        statsListen: opts.statsListen,
        requireAdmission: opts.requireAdmission === false ? false : undefined,
        allowLoopbackEndpoints: opts.allowLoopbackEndpoints ? true : undefined,
        defaultCertificate: opts.defaultCertificate,
        stateFile: opts.stateFile,
        defaultBalance: opts.balance,
        workers: opts.workers,
        logLevel: opts.logLevel,
      });
      const logger = createLogger({ level: config.logLevel });
      // Loaded only when the router runs: other commands start without it.
      const { isRouterWorker, startRouterPrimary, startRouterWorker, stopRequestedByPrimary } =
        await import('../router/workers.js');
      const { startRouter } = await import('../router/main.js');
      if (isRouterWorker()) {
        // A worker forked by the primary below: it stops when the primary says so.
        const worker = await startRouterWorker(config, logger);
        await Promise.race([stopRequestedByPrimary(), stopRequested()]);
        await worker.close();
        if (process.connected) process.disconnect?.();
        return;
      }
      if (config.workers > 1) {
        const primary = await startRouterPrimary(config, logger).catch((err: unknown) => {
          throw listenError(err);
        });
        const signal = await stopRequested();
        logger.info({ signal }, 'stopping the router');
        await primary.close();
        return;
      }
      let router: RunningRouter;
      try {
        router = await startRouter(config, logger);
      } catch (err) {
        throw listenError(err);
      }
      const signal = await stopRequested();
      logger.info({ signal }, 'stopping the router');
      await router.close();
    });
}

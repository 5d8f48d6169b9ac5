import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, contextOf, type CliContext } from '../src/cli/index.js';
import { ApiClient } from '../src/client/index.js';
import { createLogger } from '../src/util/logger.js';
import { loadConfig, type MasterConfig } from '../master/config.js';
import type { RunningMaster } from '../master/main.js';
import { loadOrCreateTokens } from '../master/auth/tokens.js';
import type { RunningRouter } from '../router/main.js';
import { parseListen } from '../src/util/listen.js';
import { freePort, isPortFree } from '../src/util/ports.js';
import type { RunningAgent } from '../agent/main.js';
import type { BuilderImageStream } from '../agent/platform/builder-images.js';
import type { Logger } from '../src/util/logger.js';
import { ensureBuilderStreams } from './builder-streams.js';
import { routerConfig } from './router-command.js';
import {
  agentConfig,
  checkDocker,
  registerAgentCommand,
  startLocalAgent,
  stopRequested,
} from './agent-command.js';
import {
  defaultDataDir,
  DEFAULT_REGISTRY,
  DEFAULT_ROUTER_LISTEN,
  logFile,
  planRegistry,
  publishBuilders,
  removeEndpoint,
  runningServer,
  startDetached,
  previousApiPort,
  startPlatform,
  stopServer,
  writeEndpoint,
  type RegistryPlan,
  type RouterEndpoint,
} from './all-in-one.js';

interface ServerOptions {
  dataDir?: string;
  listen?: string;
  logLevel?: string;
  /** commander's name for --no-agent: false when given. */
  agent?: boolean;
  /** --registry HOST:PORT, or false for --no-registry. */
  registry?: string | boolean;
  /** commander's name for --no-router: false when given. */
  router?: boolean;
  routerHttp?: string;
  routerHttps?: string;
  routerStats?: string;
}

/** Where the built-in router listens (HOST:PORT each), or undefined for --no-router. */
interface RouterListen {
  http: string;
  https: string;
  stats: string;
}

/** The router's addresses from the options, checked, with up's defaults. */
function routerListen(opts: ServerOptions): RouterListen | undefined {
  if (opts.router === false) return undefined;
  const listen = {
    http: opts.routerHttp ?? DEFAULT_ROUTER_LISTEN.http,
    https: opts.routerHttps ?? DEFAULT_ROUTER_LISTEN.https,
    stats: opts.routerStats ?? DEFAULT_ROUTER_LISTEN.stats,
  };
  for (const [flag, value] of Object.entries(listen)) {
    try {
      parseListen(value);
    } catch (err) {
      throw new CliError(`--router-${flag}: ${(err as Error).message}`);
    }
  }
  return listen;
}

/** The API server's listen address as HOST:PORT, IPv6 in brackets. */
function listenAddress(config: MasterConfig): string {
  const { host, port } = config.listen;
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** How this process reaches its own API: a wildcard listen address is reached on loopback. */
function loopbackUrl(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}

/**
 * The router beside the master, as a separate router would run: over HTTP to the master's
 * loopback URL, with its own token (`system:router`, allowed to read routes, services and
 * endpoints), serving admitted routes only, its table saved in the data directory.
 */
async function startBuiltInRouter(
  ctx: CliContext,
  config: MasterConfig,
  master: RunningMaster,
  listen: RouterListen,
  logger: Logger,
): Promise<RunningRouter> {
  const tokens = await loadOrCreateTokens(config.dataDir);
  const rc = routerConfig(ctx.io.env, {
    server: loopbackUrl(master.url),
    token: tokens.routerToken,
    listen: listen.http,
    listenHttps: listen.https,
    statsListen: listen.stats,
    stateFile: join(config.dataDir, 'router-state.json'),
    workers: 1,
    logLevel: config.logLevel,
  });
  const { startRouter } = await import('../router/main.js');
  try {
    return await startRouter(rc, logger);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES') {
      throw new CliError(
        `the router cannot listen on ${e.address ?? ''}:${e.port ?? ''} (${e.code === 'EADDRINUSE' ? 'address in use' : 'permission denied'}); choose other addresses with --router-http, --router-https and --router-stats, or pass --no-router`,
      );
    }
    throw new CliError(`the router did not start: ${e.message}`);
  }
}

/** Where a running router listens, as endpoint.json records it. */
function routerEndpoint(router: RunningRouter): RouterEndpoint {
  return { http: router.httpUrl, https: router.httpsUrl, stats: router.statsUrl };
}

/** The registry line `up` prints. */
interface RegistryNote {
  address: string;
  detail: string;
}

function masterConfig(ctx: CliContext, opts: ServerOptions): MasterConfig {
  try {
    return loadConfig(ctx.io.env, {
      dataDir: opts.dataDir,
      listen: opts.listen,
      logLevel: opts.logLevel,
      registry: typeof opts.registry === 'string' ? opts.registry : undefined,
    });
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/**
 * Runs the all-in-one server in this process until SIGINT/SIGTERM: the master, unless
 * `withAgent` is false an agent for the local Docker engine, and unless `routerAt` is undefined
 * the router. Stopping drains the router, stops the agent (its pods keep running, as when a
 * kubelet stops; the next start adopts them), then the master.
 */
async function serve(
  ctx: CliContext,
  config: MasterConfig,
  withAgent: boolean,
  routerAt: RouterListen | undefined,
  onReady?: (m: RunningMaster, router: RouterEndpoint | undefined) => Promise<void>,
): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  // The servers load only when they run: the client commands start without them.
  const { startMaster } = await import('../master/main.js');
  let master: RunningMaster;
  try {
    master = await startMaster(config, logger);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      throw new CliError(
        `address ${config.listen.host}:${config.listen.port} is already in use; choose another with --listen HOST:PORT`,
      );
    }
    throw new CliError(e.message);
  }
  let agent: RunningAgent | undefined;
  let router: RunningRouter | undefined;
  try {
    if (withAgent) {
      // Build workspaces and logs live with the rest of this server's data.
      agent = await startLocalAgent(
        ctx.io.env,
        master.url,
        master.joinToken,
        logger,
        config.logLevel,
        { dataDir: join(config.dataDir, 'agent') },
      );
    }
    if (routerAt) router = await startBuiltInRouter(ctx, config, master, routerAt, logger);
  } catch (err) {
    await agent?.close();
    await master.close();
    throw err;
  }
  const routerAddresses = router ? routerEndpoint(router) : undefined;
  await writeEndpoint(config.dataDir, {
    pid: process.pid,
    url: master.url,
    startedAt: new Date().toISOString(),
    router: routerAddresses,
  });
  // The builder images go to the cluster registry in the background: a fresh registry takes
  // ~15 s of compression, an up-to-date one a fraction of a second.
  const stopPublishing = new AbortController();
  const publishing =
    agent && config.registry
      ? publishBuilders(
          agentConfig(ctx.io.env, { server: master.url, token: '-' }).docker,
          config.registry,
          logger,
          stopPublishing.signal,
          master.registryTokens,
        ).then((builders) => builders && publishStreams(master, builders, logger))
      : undefined;
  try {
    await onReady?.(master, routerAddresses);
    const signal = await stopRequested();
    logger.info({ signal }, 'stopping');
  } finally {
    stopPublishing.abort();
    await publishing;
    await router?.close();
    await agent?.close();
    await master.close();
    await removeEndpoint(config.dataDir, process.pid);
  }
}

/** Points the `openshift` builder streams at the images just pushed. Failures are logged:
 * builds then say their builder cannot be resolved, and the next start tries again. */
async function publishStreams(
  master: RunningMaster,
  builders: BuilderImageStream[],
  logger: Logger,
): Promise<void> {
  const client = new ApiClient({ server: master.url, token: master.adminToken });
  try {
    const changed = await ensureBuilderStreams(client, builders);
    logger.info({ changed }, 'builder image streams are up to date');
  } catch (err) {
    logger.warn(
      { err: (err as Error).message },
      'cannot update the builder image streams in the openshift project',
    );
  }
}

/** Logs the CLI in as admin against the server and prints what to do next. */
async function loginAndGreet(
  ctx: CliContext,
  url: string,
  token: string,
  config: MasterConfig,
  log: string | undefined,
  node: string | undefined,
  registry: RegistryNote | undefined,
  router: RouterEndpoint | undefined,
): Promise<void> {
  const client = new ApiClient({ server: url, token });
  const user = (await client.whoami()).metadata.name;
  const previous = await ctx.config();
  const sameServer = previous.server === url;
  await ctx.saveConfig({
    ...previous,
    server: url,
    token,
    user,
    project: sameServer && previous.project ? previous.project : 'default',
  });
  ctx.out('Slipway is up.');
  ctx.out(`  API server   ${url}`);
  ctx.out(`  data         ${config.dataDir}`);
  ctx.out(
    node
      ? `  node         ${node} (the local Docker engine)`
      : '  node         none (--no-agent: pods stay Pending until an agent joins)',
  );
  ctx.out(
    registry
      ? `  registry     ${registry.address} (${registry.detail})`
      : '  registry     none (builds cannot push images)',
  );
  if (router) {
    const port = new URL(router.http).port;
    const extras = [
      ...(router.https ? [`HTTPS ${router.https}`] : []),
      ...(router.stats ? [`stats ${router.stats}`] : []),
    ];
    ctx.out(`  router       ${router.http}${extras.length ? ` (${extras.join(', ')})` : ''}`);
    ctx.out(
      `               routes answer at http://NAME-PROJECT.${config.routeSubdomain}${port ? `:${port}` : ''}/`,
    );
  } else {
    ctx.out('  router       none (--no-router: routes are not served)');
  }
  if (log) ctx.out(`  log          ${log}`);
  ctx.out(`  CLI config   ${ctx.configPath} (logged in as ${user})`);
  ctx.out('');
  ctx.out('Next:');
  ctx.out('  slipway new-project demo');
  ctx.out('  slipway get pods');
  ctx.out(
    `  slipway down${config.dataDir === resolve(defaultDataDir(ctx.io.env)) ? '' : ` --data-dir ${config.dataDir}`}`,
  );
}

/** Help of the router options of up and server. */
const ROUTER_HELP = {
  http: `the router's HTTP address (default: ${DEFAULT_ROUTER_LISTEN.http}; port 0: any free port)`,
  https: `the router's HTTPS address, for edge routes (default: ${DEFAULT_ROUTER_LISTEN.https})`,
  stats: `the router's /healthz and /metrics address (default: ${DEFAULT_ROUTER_LISTEN.stats})`,
  none: 'run no router (routes are not served)',
};

export function registerServerCommands(program: Command): void {
  const ctx = contextOf(program);
  const dataDirHelp =
    'where the server keeps its state (default: ~/.slipway/data or $SLIPWAY_DATA_DIR)';

  program
    .command('up')
    .description('start Slipway on this machine (all-in-one, embedded store) and log the CLI in')
    .option('--data-dir <dir>', dataDirHelp)
    .option('--listen <host:port>', 'API server address (default: 127.0.0.1:8443)')
    .option('--log-level <level>', 'server log level', 'info')
    .option('--foreground', 'run in this terminal instead of in the background')
    .option('--no-agent', 'do not run a node agent for the local Docker engine')
    .option(
      '--registry <host:port>',
      `the cluster's image registry; on a loopback address up runs it on the local Docker engine (default: ${DEFAULT_REGISTRY}; port 0: any free port)`,
    )
    .option('--no-registry', 'run no image registry (builds cannot push images)')
    .option('--router-http <host:port>', ROUTER_HELP.http)
    .option('--router-https <host:port>', ROUTER_HELP.https)
    .option('--router-stats <host:port>', ROUTER_HELP.stats)
    .option('--no-router', ROUTER_HELP.none)
    .action(async (opts: ServerOptions & { foreground?: boolean }) => {
      // The registry option is up's to interpret (below); the master gets the result.
      const config = masterConfig(ctx, { ...opts, registry: undefined });
      const running = await runningServer(config.dataDir);
      if (running) {
        throw new CliError(
          `Slipway is already running on data directory ${config.dataDir} (pid ${running.pid}, ${running.url}); stop it with "slipway down"`,
        );
      }
      const withAgent = opts.agent !== false;
      const routerAt = routerListen(opts);
      let node: string | undefined;
      let docker: string | undefined;
      if (withAgent) {
        // The agent's own settings (node name, Docker endpoint) are checked before starting.
        const agent = agentConfig(ctx.io.env, { server: 'http://127.0.0.1', token: '-' });
        await checkDocker(agent.docker);
        node = agent.nodeName;
        docker = agent.docker;
      }
      let plan: RegistryPlan;
      try {
        plan = planRegistry(opts.registry, ctx.io.env, withAgent);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      let registry: RegistryNote | undefined;
      if (plan.kind === 'local') {
        try {
          // The registry sends clients to the master's token endpoint, so the master's port
          // must be known before it starts: "any free port" is chosen here.
          if (config.listen.port === 0) {
            const realmHost = new URL(loopbackUrl(`http://${listenAddress(config)}`)).hostname;
            const previous = await previousApiPort(config.dataDir, realmHost, docker);
            config.listen.port =
              previous && (await isPortFree(config.listen.host, previous))
                ? previous
                : await freePort(config.listen.host);
          }
          const apiUrl = loopbackUrl(`http://${listenAddress(config)}`);
          const platform = await startPlatform(config.dataDir, plan, docker, apiUrl, (line) =>
            ctx.err(`slipway: ${line}`),
          );
          registry = {
            address: platform.registry.address,
            detail: `container ${platform.registry.container}, data in ${platform.registry.storage}`,
          };
        } catch (err) {
          throw new CliError((err as Error).message);
        }
      } else if (plan.kind === 'external') {
        registry = { address: plan.address, detail: 'not run by slipway up' };
      }
      const serverConfig = { ...config, registry: registry?.address };
      if (opts.foreground) {
        await serve(ctx, serverConfig, withAgent, routerAt, (m, router) =>
          loginAndGreet(ctx, m.url, m.adminToken, config, undefined, node, registry, router),
        );
        return;
      }
      const args = [
        '--listen',
        listenAddress(config),
        '--log-level',
        config.logLevel,
        ...(withAgent ? [] : ['--no-agent']),
        ...(registry ? ['--registry', registry.address] : ['--no-registry']),
        ...(routerAt
          ? [
              '--router-http',
              routerAt.http,
              '--router-https',
              routerAt.https,
              '--router-stats',
              routerAt.stats,
            ]
          : ['--no-router']),
      ];
      let started;
      try {
        started = await startDetached(config.dataDir, args);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const { loadOrCreateTokens } = await import('../master/auth/tokens.js');
      const tokens = await loadOrCreateTokens(config.dataDir);
      await loginAndGreet(
        ctx,
        started.endpoint.url,
        tokens.adminToken,
        config,
        started.log,
        node,
        registry,
        started.endpoint.router,
      );
    });

  program
    .command('down')
    .description(
      'stop the Slipway started by "slipway up" (the pods\' containers keep running; the next "up" adopts them)',
    )
    .option('--data-dir <dir>', dataDirHelp)
    .action(async (opts: ServerOptions) => {
      const config = masterConfig(ctx, opts);
      const stopped = await stopServer(config.dataDir);
      ctx.out(
        stopped
          ? `Slipway stopped (pid ${stopped.pid}).`
          : `Slipway is not running (data directory ${config.dataDir}).`,
      );
    });

  program
    .command('server')
    .description(
      'run the all-in-one server in the foreground, logging JSON to stdout (what "up" starts)',
    )
    .option('--data-dir <dir>', dataDirHelp)
    .option('--listen <host:port>', 'API server address (default: 127.0.0.1:8443)')
    .option('--log-level <level>', 'log level', 'info')
    .option('--no-agent', 'do not run a node agent for the local Docker engine')
    .option(
      '--registry <host:port>',
      "the cluster's image registry (the builder images are pushed to it)",
    )
    .option('--no-registry', 'no image registry, whatever SLIPWAY_REGISTRY says')
    .option('--router-http <host:port>', ROUTER_HELP.http)
    .option('--router-https <host:port>', ROUTER_HELP.https)
    .option('--router-stats <host:port>', ROUTER_HELP.stats)
    .option('--no-router', ROUTER_HELP.none)
    .action(async (opts: ServerOptions) => {
      const config = masterConfig(ctx, opts);
      await serve(
        ctx,
        opts.registry === false ? { ...config, registry: undefined } : config,
        opts.agent !== false,
        routerListen(opts),
      );
    });

  registerAgentCommand(program);
}

export { logFile };

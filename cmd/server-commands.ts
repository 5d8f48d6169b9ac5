import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, contextOf, type CliContext } from '../src/cli/index.js';
import { ApiClient } from '../src/client/index.js';
import { createLogger } from '../src/util/logger.js';
import { loadConfig, type MasterConfig } from '../master/config.js';
import { startMaster, type RunningMaster } from '../master/main.js';
import type { RunningAgent } from '../agent/main.js';
import type { BuilderImageStream } from '../agent/platform/builder-images.js';
import type { Logger } from '../src/util/logger.js';
import { ensureBuilderStreams } from './builder-streams.js';
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
  logFile,
  planRegistry,
  publishBuilders,
  removeEndpoint,
  runningServer,
  startDetached,
  startPlatform,
  stopServer,
  writeEndpoint,
  type RegistryPlan,
} from './all-in-one.js';

interface ServerOptions {
  dataDir?: string;
  listen?: string;
  logLevel?: string;
  /** commander's name for --no-agent: false when given. */
  agent?: boolean;
  /** --registry HOST:PORT, or false for --no-registry. */
  registry?: string | boolean;
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
 * Runs the all-in-one server in this process until SIGINT/SIGTERM: the master, and unless
 * `withAgent` is false an agent for the local Docker engine. Stopping stops the agent (its pods
 * keep running, as when a kubelet stops; the next start adopts them), then the master.
 */
async function serve(
  ctx: CliContext,
  config: MasterConfig,
  withAgent: boolean,
  onReady?: (m: RunningMaster) => Promise<void>,
): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
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
  } catch (err) {
    await master.close();
    throw err;
  }
  await writeEndpoint(config.dataDir, {
    pid: process.pid,
    url: master.url,
    startedAt: new Date().toISOString(),
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
        ).then((builders) => builders && publishStreams(master, builders, logger))
      : undefined;
  try {
    await onReady?.(master);
    const signal = await stopRequested();
    logger.info({ signal }, 'stopping');
  } finally {
    stopPublishing.abort();
    await publishing;
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
          const platform = await startPlatform(config.dataDir, plan, docker, (line) =>
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
        await serve(ctx, serverConfig, withAgent, (m) =>
          loginAndGreet(ctx, m.url, m.adminToken, config, undefined, node, registry),
        );
        return;
      }
      const args = [
        '--listen',
        `${config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${config.listen.port}`,
        '--log-level',
        config.logLevel,
        ...(withAgent ? [] : ['--no-agent']),
        ...(registry ? ['--registry', registry.address] : ['--no-registry']),
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
    .action(async (opts: ServerOptions) => {
      const config = masterConfig(ctx, opts);
      await serve(
        ctx,
        opts.registry === false ? { ...config, registry: undefined } : config,
        opts.agent !== false,
      );
    });

  registerAgentCommand(program);
}

export { logFile };

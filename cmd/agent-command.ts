/**
 * `slipway agent`: the node agent in the foreground, and the helpers `up`/`server` use to run
 * one agent for the local Docker engine next to the master. That agent reaches the master the
 * way a remote one does: over HTTP at the master's own loopback URL, with the join token.
 */
import type { Command } from 'commander';
import { CliError, contextOf } from '../src/cli/index.js';
import { createLogger, type Logger } from '../src/util/logger.js';
import {
  loadConfig as loadAgentConfig,
  type AgentConfig,
  type AgentOptions,
} from '../agent/config.js';
import type { RunningAgent } from '../agent/main.js';

// The agent and the Docker client load only when a command runs them: every other command
// starts without them.
const agentMain = () => import('../agent/main.js');

/** Resolves with the signal's name when the process is asked to stop. */
export function stopRequested(): Promise<string> {
  return new Promise((resolveStop) => {
    const stop = (signal: string): void => resolveStop(signal);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

export function agentConfig(env: NodeJS.ProcessEnv, options: AgentOptions): AgentConfig {
  try {
    return loadAgentConfig(env, options);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** What to tell a user whose Docker engine does not answer. */
export function dockerMissingMessage(endpoint: string, detail: string, noAgentHint = true): string {
  return (
    `the Docker engine at ${endpoint} does not answer (${detail}). ` +
    'Slipway runs pods on Docker: start it (on Debian/Ubuntu: bash scripts/setup-docker.sh)' +
    (noAgentHint ? ', or pass --no-agent to run the master without a node' : '')
  );
}

function causeOf(err: Error): string {
  return ((err.cause as Error | undefined)?.message ?? err.message).trim();
}

/** Fails with dockerMissingMessage when the engine does not answer. */
export async function checkDocker(endpoint: string): Promise<void> {
  const { pingDocker } = await import('../agent/docker/client.js');
  try {
    await pingDocker(endpoint, 5000);
  } catch (err) {
    throw new CliError(dockerMissingMessage(endpoint, (err as Error).message));
  }
}

/** The master's own URL as this process reaches it (a wildcard address is reached on loopback). */
export function loopbackUrl(url: string): string {
  const u = new URL(url);
  if (u.hostname === '0.0.0.0') u.hostname = '127.0.0.1';
  if (u.hostname === '[::]') u.hostname = '[::1]';
  return u.toString().replace(/\/$/, '');
}

/** Starts the agent of the all-in-one server, against the master at `url` with `joinToken`. */
export async function startLocalAgent(
  env: NodeJS.ProcessEnv,
  url: string,
  joinToken: string,
  logger: Logger,
  logLevel: string,
  options: AgentOptions = {},
): Promise<RunningAgent> {
  const config = agentConfig(env, {
    ...options,
    server: loopbackUrl(url),
    token: joinToken,
    logLevel,
  });
  const { startAgent, DockerUnavailableError } = await agentMain();
  try {
    return await startAgent(config, logger);
  } catch (err) {
    if (err instanceof DockerUnavailableError) {
      throw new CliError(dockerMissingMessage(config.docker, causeOf(err)));
    }
    throw new CliError((err as Error).message);
  }
}

interface AgentCommandOptions {
  server?: string;
  token?: string;
  name?: string;
  docker?: string;
  nodeIp?: string;
  dataDir?: string;
  logLevel?: string;
}

export function registerAgentCommand(program: Command): void {
  const ctx = contextOf(program);
  program
    .command('agent')
    .description(
      'run a node agent in the foreground: registers this Docker host as a node and runs the pods bound to it (SIGINT/SIGTERM stop the agent, not the pods)',
    )
    .option('--server <url>', "the master's API URL (or $SLIPWAY_AGENT_SERVER)")
    .option('--token <token>', 'the node-join token (or $SLIPWAY_AGENT_TOKEN)')
    .option('--name <name>', 'node name (default: the host name, or $SLIPWAY_AGENT_NODE_NAME)')
    .option(
      '--docker <endpoint>',
      'Docker engine (default: $DOCKER_HOST or unix:///var/run/docker.sock)',
    )
    .option('--node-ip <ip>', "the node's InternalIP (default: the Docker bridge gateway)")
    .option(
      '--data-dir <dir>',
      'where build workspaces and build logs are kept (default: /var/lib/slipway/agent, or $SLIPWAY_AGENT_DATA_DIR)',
    )
    .option('--log-level <level>', 'log level (default: info)')
    .action(async (opts: AgentCommandOptions) => {
      const config = agentConfig(ctx.io.env, {
        server: opts.server,
        token: opts.token,
        nodeName: opts.name,
        docker: opts.docker,
        nodeIP: opts.nodeIp,
        dataDir: opts.dataDir,
        logLevel: opts.logLevel,
      });
      const logger = createLogger({ level: config.logLevel });
      const { startAgent, DockerUnavailableError } = await agentMain();
      let agent: RunningAgent;
      try {
        agent = await startAgent(config, logger);
      } catch (err) {
        if (err instanceof DockerUnavailableError) {
          throw new CliError(dockerMissingMessage(config.docker, causeOf(err), false));
        }
        throw new CliError((err as Error).message);
      }
      const signal = await stopRequested();
      logger.info({ signal }, 'stopping the agent; pods keep running');
      await agent.close();
    });
}

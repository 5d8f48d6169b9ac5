import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { builtinKinds } from '../src/api/kinds/index.js';
import { installAdmission } from './admission/index.js';
import { parseCidr, type Cidr } from './admission/service-ip.js';
import { parsePortRange, type PortRange } from './admission/node-ports.js';
import { RuleAuthorizer } from './auth/authorizer.js';
import { loadOrCreateSigningKey, RegistryTokenIssuer } from './auth/registry-tokens.js';
import { loadOrCreateTokens, TokenAuthenticator } from './auth/tokens.js';
import { isLoopback, type MasterConfig } from './config.js';
import { startControllerManager, type RunningControllerManager } from './controllers/manager.js';
import { createApp, type VersionInfo } from './server/app.js';
import { ensureClusterDnsService } from './server/cluster-dns.js';
import { lockDataDir } from './server/data-dir-lock.js';
import { registerBuildAdmission } from './server/build-admission.js';
import { registerPodDeletion } from './server/pod-deletion.js';
import { registerRouteHostDefault } from './server/route-host.js';
import { apiUpgradeHandler } from './server/pod-proxy.js';
import { Projects } from './server/projects.js';
import { ResourceStore } from './server/resources.js';
import { ActiveWatches } from './server/watch-stream.js';
import { Compactor } from './store/compactor.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/types.js';

export interface RunningMaster {
  /** `http://127.0.0.1:PORT`, with the port actually bound. */
  url: string;
  /** Bearer token of user `admin` (cluster admin). */
  adminToken: string;
  /** Bearer token of user `system:node-bootstrap`, for agents joining the cluster. */
  joinToken: string;
  /** Bearer token of `system:controller-manager` (tests that play a controller use it). */
  controllerToken: string;
  /** Signs the cluster registry's tokens (the builder images' push is the master's own);
   * undefined without a registry. */
  registryTokens: RegistryTokenIssuer | undefined;
  /** Stops the controllers, then stops accepting, ends watches, waits for requests in flight
   * (bounded), closes the store. */
  close(): Promise<void>;
}

/** What tests (and embedders) may supply instead of the defaults. */
export interface MasterDependencies {
  /** Use this store instead of opening config.storeUrl; the caller keeps ownership. */
  store?: Store;
  /** How often watches with allowWatchBookmarks=true get a BOOKMARK (default 60 s). */
  bookmarkIntervalMs?: number;
}

/** The package.json version, found by walking up from this file (source or dist). */
async function packageVersion(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i += 1) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'slipway' && pkg.version) return pkg.version;
    } catch {
      // not here; look further up
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

async function versionInfo(): Promise<VersionInfo> {
  const version = await packageVersion();
  const [major = '0', minor = '0'] = version.split('.');
  return {
    major,
    minor,
    gitVersion: `v${version}`,
    platform: `${process.platform}/${process.arch}`,
    nodeVersion: process.version,
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Where this process reaches its own API: a wildcard listen address is reached on loopback. */
function loopbackUrl(host: string, port: number, url: string): string {
  if (host === '0.0.0.0') return `http://127.0.0.1:${port}`;
  if (host === '::') return `http://[::1]:${port}`;
  return url;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts the master: locks the data directory, loads (or creates) the tokens, opens the store,
 * finishes interrupted project deletions, serves the API, starts the controller-manager
 * (unless config.controllers is off) and runs the compactor.
 */
export async function startMaster(
  config: MasterConfig,
  logger: Logger,
  deps: MasterDependencies = {},
): Promise<RunningMaster> {
  const log = logger.child({ component: 'master' });
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const lock = await lockDataDir(config.dataDir);
  const undo: (() => Promise<void>)[] = [() => lock.release()];
  const rollback = async (): Promise<void> => {
    for (const step of undo.reverse())
      await step().catch((err: unknown) => log.error({ err }, 'cleanup failed'));
  };
  try {
    const tokens = await loadOrCreateTokens(config.dataDir);
    // The registry's token signing key, made on first start with a registry.
    const registryTokens = config.registry
      ? new RegistryTokenIssuer(await loadOrCreateSigningKey(config.dataDir))
      : undefined;
    const store = deps.store ?? (await openStore(config.storeUrl));
    if (!deps.store) undo.push(() => store.close());

    const registry = builtinKinds();
    const resources = new ResourceStore({ store, registry });
    const projects = new Projects(resources, log.child({ component: 'projects' }));
    registerPodDeletion(resources);
    registerBuildAdmission(resources, { allowFileGitSources: config.allowFileGitSources });
    registerRouteHostDefault(resources, { subdomain: config.routeSubdomain });
    const admission = installAdmission({
      resources,
      projects,
      logger: log,
      serviceCidr: parseCidr(config.serviceCidr) as Cidr,
      nodePortRange: parsePortRange(config.serviceNodePortRange) as PortRange,
    });
    await projects.resumeTerminating();
    await admission.repair();
    await projects.ensureBootstrap();
    await ensureClusterDnsService(resources, parseCidr(config.serviceCidr) as Cidr, log);

    const watches = new ActiveWatches();
    const inflight = { count: 0 };
    const app = createApp({
      registry,
      resources,
      projects,
      authenticator: new TokenAuthenticator(tokens.entries),
      authorizer: new RuleAuthorizer(),
      logger: log.child({ component: 'api' }),
      version: await versionInfo(),
      watches,
      inflight,
      joinToken: tokens.joinToken,
      builds: {
        dataDir: config.dataDir,
        binaryBuildMaxBytes: config.binaryBuildMaxBytes,
        allowFileGitSources: config.allowFileGitSources,
        registry: config.registry,
        allowedRegistriesForImport: config.allowedRegistriesForImport,
        registryTokens,
      },
      ...(deps.bookmarkIntervalMs === undefined
        ? {}
        : { bookmarkIntervalMs: deps.bookmarkIntervalMs }),
    });
    const server = createServer({ noDelay: true }, app);
    server.on('upgrade', apiUpgradeHandler(app));
    await listen(server, config.listen.host, config.listen.port);
    undo.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const { port } = server.address() as AddressInfo;
    const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
    const url = `http://${host}:${port}`;

    // The controllers reach the API the way any client does: over HTTP, with their own token.
    let controllers: RunningControllerManager | undefined;
    if (config.controllers) {
      controllers = startControllerManager({
        server: loopbackUrl(config.listen.host, port, url),
        token: tokens.controllerManagerToken,
        logger: log,
        nodeMonitorGracePeriodMs: config.nodeMonitorGracePeriodSeconds * 1000,
        podEvictionTimeoutMs: config.podEvictionTimeoutSeconds * 1000,
        registry: config.registry,
        scheduledImportIntervalMs: config.scheduledImageImportIntervalSeconds * 1000,
      });
      const running = controllers;
      undo.push(() => running.stop());
    }

    const compactor =
      config.compactionIntervalSeconds > 0
        ? new Compactor(store, {
            logger: log.child({ component: 'compactor' }),
            intervalMs: config.compactionIntervalSeconds * 1000,
          })
        : undefined;
    compactor?.start();

    if (!isLoopback(config.listen.host)) {
      log.warn(
        { listen: config.listen.host },
        'listening beyond loopback over plain HTTP: bearer tokens cross the network unencrypted',
      );
    }
    log.info(
      { url, dataDir: config.dataDir, store: config.storeUrl.replace(/^(\w+):.*/, '$1') },
      'master started',
    );

    const shutdown = async (): Promise<void> => {
      log.info({}, 'master stopping');
      await controllers?.stop();
      await compactor?.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      watches.abortAll();
      server.closeIdleConnections();
      const deadline = Date.now() + config.shutdownTimeoutSeconds * 1000;
      while (inflight.count > 0 && Date.now() < deadline) await sleep(10);
      if (inflight.count > 0)
        log.warn({ requests: inflight.count }, 'shutdown deadline reached; closing connections');
      server.closeAllConnections();
      await closed;
      if (!deps.store) await store.close();
      await lock.release();
      log.info({}, 'master stopped');
    };
    let closing: Promise<void> | undefined;
    return {
      url,
      adminToken: tokens.adminToken,
      joinToken: tokens.joinToken,
      controllerToken: tokens.controllerManagerToken,
      registryTokens,
      close: () => (closing ??= shutdown()),
    };
  } catch (err) {
    await rollback();
    throw err;
  }
}

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { BuilderImage, BuilderImageStream } from '../agent/platform/builder-images.js';
import { platformPaths } from '../agent/platform/paths.js';
import type { RunningRegistry } from '../agent/platform/registry.js';
import { silentLogger, type Logger } from '../src/util/logger.js';
import { CLUSTER_REGISTRY_SERVICE, REGISTRY_TOKEN_PATH } from '../src/api/registry-scope.js';
import type { RegistryTokenIssuer } from '../master/auth/registry-tokens.js';

/** Where `slipway up` keeps its state unless told otherwise. */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return join(env.HOME ?? homedir(), '.slipway', 'data');
}

export const DEFAULT_LISTEN = '127.0.0.1:8443';

/** Where the built-in router listens, as bound (port 0 resolved): `http://127.0.0.1:8080`. */
export interface RouterEndpoint {
  http: string;
  https?: string | undefined;
  stats?: string | undefined;
}

/** Written by a running all-in-one server once it listens; read by `up` and `down`. */
export interface Endpoint {
  pid: number;
  url: string;
  startedAt: string;
  /** Absent when the server runs no router (`--no-router`). */
  router?: RouterEndpoint | undefined;
}

/**
 * Where `up` runs the router unless told otherwise: loopback ports a user without root may
 * open, clear of the API server's 8443; 1936 is OpenShift's router stats port. Route hosts
 * under `apps.localhost` reach it without DNS: `http://APP-PROJECT.apps.localhost:8080/`.
 */
export const DEFAULT_ROUTER_LISTEN = {
  http: '127.0.0.1:8080',
  https: '127.0.0.1:9443',
  stats: '127.0.0.1:1936',
} as const;

export function endpointFile(dataDir: string): string {
  return join(dataDir, 'endpoint.json');
}

export function logFile(dataDir: string): string {
  return join(dataDir, 'slipway.log');
}

export async function writeEndpoint(dataDir: string, endpoint: Endpoint): Promise<void> {
  await writeFile(endpointFile(dataDir), `${JSON.stringify(endpoint, null, 2)}\n`, { mode: 0o600 });
}

export async function removeEndpoint(dataDir: string, pid: number): Promise<void> {
  const current = await readEndpoint(dataDir);
  if (current?.pid === pid) await rm(endpointFile(dataDir), { force: true });
}

export async function readEndpoint(dataDir: string): Promise<Endpoint | undefined> {
  try {
    return JSON.parse(await readFile(endpointFile(dataDir), 'utf8')) as Endpoint;
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The running server for a data dir, if any. */
export async function runningServer(dataDir: string): Promise<Endpoint | undefined> {
  const ep = await readEndpoint(dataDir);
  return ep && isAlive(ep.pid) ? ep : undefined;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export interface StartedServer {
  endpoint: Endpoint;
  log: string;
}

/**
 * Starts `slipway server` detached from this process, logging to the data dir, and waits until
 * it answers /healthz. Fails with the log's last lines when it exits first.
 */
export async function startDetached(
  dataDir: string,
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<StartedServer> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const log = logFile(dir);
  const fd = openSync(log, 'a', 0o600);
  const bin = fileURLToPath(new URL('../../bin/slipway.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'server', '--data-dir', dir, ...args], {
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let exited: number | null | undefined;
  child.once('exit', (code, signal) => {
    exited = code ?? (signal ? 128 : 1);
  });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new Error(
        `the server exited during start-up (code ${exited}); last lines of ${log}:\n${tail(log, 15)}`,
      );
    }
    const ep = await readEndpoint(dir);
    if (ep && ep.pid === child.pid && (await healthy(ep.url))) return { endpoint: ep, log };
    await sleep(100);
  }
  if (child.pid) process.kill(child.pid, 'SIGTERM');
  throw new Error(`the server did not become ready within ${timeoutMs / 1000}s; see ${log}`);
}

/** Stops the server of a data dir: SIGTERM, then SIGKILL after the grace period. */
export async function stopServer(dataDir: string, graceMs = 20_000): Promise<Endpoint | undefined> {
  const ep = await runningServer(resolve(dataDir));
  if (!ep) return undefined;
  process.kill(ep.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(ep.pid)) return ep;
    await sleep(100);
  }
  process.kill(ep.pid, 'SIGKILL');
  while (isAlive(ep.pid)) await sleep(50);
  await rm(endpointFile(resolve(dataDir)), { force: true });
  return ep;
}

/** Where `slipway up` runs the cluster registry unless told otherwise. */
export const DEFAULT_REGISTRY = '127.0.0.1:5000';

/** What `up` does about the registry. */
export type RegistryPlan =
  | { kind: 'none' }
  /** A registry `up` does not manage: only its address goes to the master. */
  | { kind: 'external'; address: string }
  /** Run (or adopt) the data directory's registry published on host:port (port 0: any). */
  | { kind: 'local'; host: string; port: number };

/** Loopback IPv4 (or `localhost`): addresses `up` can publish its own registry on. */
function loopbackHost(host: string): string | undefined {
  if (host === 'localhost') return '127.0.0.1';
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ? host : undefined;
}

/**
 * `--registry HOST:PORT` (or SLIPWAY_REGISTRY, else 127.0.0.1:5000 when an agent runs):
 * a loopback address with the local Docker engine means "run it here"; any other address is a
 * registry run elsewhere. `--no-registry` (`false`) runs none.
 */
export function planRegistry(
  option: string | boolean | undefined,
  env: NodeJS.ProcessEnv,
  withAgent: boolean,
): RegistryPlan {
  if (option === false) return { kind: 'none' };
  const explicit = typeof option === 'string' ? option : env.SLIPWAY_REGISTRY || undefined;
  if (!explicit && !withAgent) return { kind: 'none' };
  const value = explicit ?? DEFAULT_REGISTRY;
  const m = /^([^:/\s]+):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new Error(
      `--registry: "${value}" is not a HOST:PORT address (e.g. ${DEFAULT_REGISTRY}, or 127.0.0.1:0 for any free port)`,
    );
  }
  const host = loopbackHost(m[1]!);
  if (withAgent && host) return { kind: 'local', host, port };
  if (port === 0) {
    throw new Error(
      `--registry: port 0 (any free port) only works for a registry that up runs itself, on a loopback address with the local Docker engine`,
    );
  }
  return { kind: 'external', address: `${m[1]}:${port}` };
}

export interface StartedPlatform {
  registry: RunningRegistry;
  builders: BuilderImage[];
}

/**
 * `up`'s platform step, before the server starts: the data directory's registry (adopted when
 * it already runs) and the builder images (built only when missing or changed). `progress` gets
 * a line before anything slow.
 */
export async function startPlatform(
  dataDir: string,
  plan: { host: string; port: number },
  dockerEndpoint: string | undefined,
  apiUrl: string,
  progress: (line: string) => void,
): Promise<StartedPlatform> {
  // The Docker client and the platform steps load only for `up`.
  const [
    { PlatformEngine },
    { ensureRegistry },
    { ensureBuilderImages },
    { loadOrCreateSigningKey, REGISTRY_TOKEN_ISSUER },
  ] = await Promise.all([
    import('../agent/docker/platform-engine.js'),
    import('../agent/platform/registry.js'),
    import('../agent/platform/builder-images.js'),
    import('../master/auth/registry-tokens.js'),
  ]);
  // The registry takes only tokens the master signs; the engine asks the master's endpoint.
  const signing = await loadOrCreateSigningKey(resolve(dataDir));
  const docker = PlatformEngine.fromEndpoint(dockerEndpoint);
  const paths = platformPaths();
  const logger = silentLogger();
  const registry = await ensureRegistry(docker, {
    dataDir: resolve(dataDir),
    host: plan.host,
    port: plan.port,
    paths,
    logger,
    progress,
    auth: {
      realm: `${apiUrl}${REGISTRY_TOKEN_PATH}`,
      service: CLUSTER_REGISTRY_SERVICE,
      issuer: REGISTRY_TOKEN_ISSUER,
      certFile: signing.certFile,
      certPem: signing.certPem,
    },
  });
  const builders = await ensureBuilderImages(docker, { paths, logger, progress });
  return { registry, builders };
}

/**
 * The port of the token endpoint the data directory's registry sends clients to, when its
 * registry has one on `host` (a URL's hostname: IPv6 in brackets): `up` asked for any free port takes it again, so the registry
 * (whose settings name it) is kept rather than replaced.
 */
export async function previousApiPort(
  dataDir: string,
  host: string,
  dockerEndpoint: string | undefined,
): Promise<number | undefined> {
  const [{ PlatformEngine }, { registryRealm }] = await Promise.all([
    import('../agent/docker/platform-engine.js'),
    import('../agent/platform/registry.js'),
  ]);
  const realm = await registryRealm(PlatformEngine.fromEndpoint(dockerEndpoint), resolve(dataDir));
  if (!realm) return undefined;
  try {
    const url = new URL(realm);
    return url.hostname === host ? Number(url.port) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Credentials for pushing the builder images: a token for all their repositories, signed again
 * only when it has a minute left. The engine keys what it remembers of pushed layers by the
 * credentials, and mounts a layer from another repository only under the same ones.
 */
function builderPushAuth(
  issuer: RegistryTokenIssuer,
  subject: string,
  repositories: readonly string[],
): () => Promise<{ registrytoken: string }> {
  let current: { token: string; until: number } | undefined;
  return async () => {
    if (!current || current.until <= Date.now()) {
      const issued = await issuer.issue(
        subject,
        repositories.map((name) => ({ type: 'repository', name, actions: ['pull', 'push'] })),
      );
      current = { token: issued.token, until: Date.now() + (issued.expiresIn - 60) * 1000 };
    }
    return { registrytoken: current.token };
  };
}

/**
 * Pushes the builder images to the cluster registry (the server runs this in the background
 * once it is up); resolves with the references for the `openshift` ImageStreams, or undefined
 * when it failed (logged) or was stopped.
 */
export async function publishBuilders(
  dockerEndpoint: string,
  registry: string,
  logger: Logger,
  signal: AbortSignal,
  registryTokens?: RegistryTokenIssuer,
): Promise<BuilderImageStream[] | undefined> {
  const started = Date.now();
  try {
    const [
      { PlatformEngine },
      { BUILDER_NAMESPACE, BUILDERS, publishBuilderImages },
      { MASTER_REGISTRY_SUBJECT },
    ] = await Promise.all([
      import('../agent/docker/platform-engine.js'),
      import('../agent/platform/builder-images.js'),
      import('../master/auth/registry-tokens.js'),
    ]);
    const streams = await publishBuilderImages(
      PlatformEngine.fromEndpoint(dockerEndpoint),
      registry,
      {
        paths: platformPaths(),
        logger,
        signal,
        // The master's own push: one token for every builder repository, so the engine sees the
        // same credentials on each push and mounts the builders' shared base layers.
        ...(registryTokens
          ? {
              auth: builderPushAuth(
                registryTokens,
                MASTER_REGISTRY_SUBJECT,
                BUILDERS.map((b) => `${BUILDER_NAMESPACE}/${b}`),
              ),
            }
          : {}),
      },
    );
    logger.info(
      { registry, ms: Date.now() - started, builders: streams },
      'builder images are in the registry',
    );
    return streams;
  } catch (err) {
    if (!signal.aborted) {
      logger.warn(
        { registry, err: (err as Error).message },
        'cannot push the builder images to the registry; builds from them will fail',
      );
    }
    return undefined;
  }
}

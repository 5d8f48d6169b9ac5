/**
 * The cluster's image registry: a Docker Distribution registry in a container the engine
 * supervises (restart policy unless-stopped), started by `slipway up` and adopted by the next
 * one. Its data lives in DATA_DIR/registry (a bind mount), so replacing the container keeps
 * every image.
 *
 * It is published on a loopback address only (dockerd pushes and pulls through it; loopback
 * registries need no insecure-registry setting) and joins its own network, not the pods'
 * bridge: pods cannot reach it, so no workload can overwrite another project's images.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../src/util/logger.js';
import { isPortFree } from '../../src/util/ports.js';
import { isRuntimeError } from '../docker/errors.js';
import type { Labels } from '../docker/labels.js';
import {
  isPortConflict,
  PLATFORM_LABEL,
  type PlatformContainer,
  type PlatformDocker,
} from '../docker/platform-engine.js';
import type { PlatformPaths } from './paths.js';
import { ensureRegistryImage } from './registry-image.js';

/** The data directory a registry container serves (absolute path). */
export const DATA_DIR_LABEL = 'io.slipway.platform.data-dir';
export const REGISTRY_ROLE = 'registry';
/** A hash of the registry's token authentication settings (absent: none). */
export const AUTH_LABEL = 'io.slipway.platform.auth';
/** The token endpoint the registry sends clients to. */
export const REALM_LABEL = 'io.slipway.platform.token-realm';
/** The network platform services join, apart from the pods' bridge. */
export const PLATFORM_NETWORK = 'slipway-platform';
export const DEFAULT_REGISTRY_PORT = 5000;
const CONTAINER_PORT = 5000;
const STORAGE = '/var/lib/registry';
const TOKEN_CERT = '/etc/slipway/registry-token.crt';

/**
 * Distribution's token authentication: every request needs a token signed by the master (its
 * token endpoint at `realm` hands them out), so nothing is pulled or pushed anonymously.
 */
export interface RegistryTokenAuth {
  /** The token endpoint's URL as the Docker engine reaches it. */
  realm: string;
  service: string;
  issuer: string;
  /** The certificate whose key signs the tokens (a file the container mounts). */
  certFile: string;
  certPem: string;
}

function authHash(auth: RegistryTokenAuth | undefined): string {
  if (!auth) return 'none';
  return createHash('sha256')
    .update(JSON.stringify([auth.realm, auth.service, auth.issuer, auth.certPem]))
    .digest('hex')
    .slice(0, 16);
}

function authEnv(auth: RegistryTokenAuth | undefined): Record<string, string> {
  if (!auth) return {};
  return {
    REGISTRY_AUTH_TOKEN_REALM: auth.realm,
    REGISTRY_AUTH_TOKEN_SERVICE: auth.service,
    REGISTRY_AUTH_TOKEN_ISSUER: auth.issuer,
    REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE: TOKEN_CERT,
  };
}

/**
 * Configuration through REGISTRY_* variables, which Distribution reads over its config file, so
 * a pulled `registry:2` and the locally built image behave the same.
 */
export const REGISTRY_ENV: Record<string, string> = {
  REGISTRY_HTTP_ADDR: `0.0.0.0:${CONTAINER_PORT}`,
  REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: STORAGE,
  REGISTRY_STORAGE_DELETE_ENABLED: 'true',
  REGISTRY_HEALTH_STORAGEDRIVER_ENABLED: 'true',
  REGISTRY_HEALTH_STORAGEDRIVER_INTERVAL: '10s',
  REGISTRY_HEALTH_STORAGEDRIVER_THRESHOLD: '3',
  REGISTRY_LOG_LEVEL: 'info',
};

export interface RegistryOptions {
  /** Slipway's data directory (absolute); the registry stores into DATA_DIR/registry. */
  dataDir: string;
  /** Address to publish on: a loopback IPv4 address. */
  host: string;
  /** Host port; 0 picks a free one (and adopts the existing container whatever its port). */
  port: number;
  paths: PlatformPaths;
  logger: Logger;
  progress?: (message: string) => void;
  /** `uid:gid` the registry runs as (default: this process's, the owner of the data dir). */
  user?: string;
  /** Extra labels on the container (tests mark what they create). */
  labels?: Labels;
  /** Token authentication by the master; absent: anyone who reaches the registry may push. */
  auth?: RegistryTokenAuth;
  pull?: boolean;
  pullTimeoutMs?: number;
  /** How long a new container may take to answer (default 30 s). */
  startTimeoutMs?: number;
  /** How long a running container may take to answer before it is replaced (default 10 s). */
  adoptTimeoutMs?: number;
  /** Checks that nothing listens on host:port; replaced in unit tests. */
  portFree?: (host: string, port: number) => Promise<boolean>;
  /** The health probe; replaced in unit tests. */
  healthy?: (address: string) => Promise<boolean>;
}

export interface RunningRegistry {
  /** `host:port`: the registry's address for the master's `registry` setting. */
  address: string;
  container: string;
  image: string;
  /** True when an existing healthy container was kept. */
  adopted: boolean;
  /** The directory holding the images. */
  storage: string;
}

/** The registry container's name for a data directory: one registry per data directory. */
export function registryContainerName(dataDir: string): string {
  return `slipway-registry-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`;
}

/**
 * The token endpoint the data directory's registry was started with, if it has one: `up`
 * starting the master on "any free port" takes that port again when it is free, so the
 * registry is kept.
 */
export async function registryRealm(
  docker: PlatformDocker,
  dataDir: string,
): Promise<string | undefined> {
  const existing = await docker.inspectContainer(registryContainerName(dataDir));
  return existing?.labels[REALM_LABEL];
}

/** `host:port`, with brackets for IPv6. */
export function registryAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * GET /v2/ answers 200 with Distribution's API version header (401 when it wants a token: the
 * answer of a working registry all the same). With the storage health check on, a failing
 * storage turns it into a 503, so this is the registry's health endpoint.
 */
export async function probeRegistry(address: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return (
      (res.status === 200 || res.status === 401) &&
      (res.headers.get('docker-distribution-api-version') ?? '').startsWith('registry/2')
    );
  } catch {
    return false;
  }
}

async function waitHealthy(
  healthy: (address: string) => Promise<boolean>,
  address: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await healthy(address)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(200);
  }
}

function portHint(host: string): string {
  return `choose another port with --registry ${host}:PORT (or --registry ${host}:0 for any free port)`;
}

/** Starts the data directory's registry, or adopts the one already running. */
export async function ensureRegistry(
  docker: PlatformDocker,
  options: RegistryOptions,
): Promise<RunningRegistry> {
  const { dataDir, host, logger } = options;
  const healthy = options.healthy ?? probeRegistry;
  const portFree = options.portFree ?? isPortFree;
  const name = registryContainerName(dataDir);
  const storage = join(dataDir, 'registry');
  await mkdir(storage, { recursive: true, mode: 0o700 });

  const existing = await docker.inspectContainer(name);
  if (existing) {
    if (existing.labels[DATA_DIR_LABEL] !== dataDir) {
      throw new Error(
        `a container named ${name} exists but does not belong to data directory ${dataDir}; remove it (docker rm -f ${name})`,
      );
    }
    const reason = await adoptable(existing, options, healthy);
    if (reason === undefined) {
      const address = registryAddress(host, existing.published!.hostPort);
      logger.info({ container: name, address }, 'adopted the running registry');
      return { address, container: name, image: existing.image, adopted: true, storage };
    }
    logger.info({ container: name, reason }, 'replacing the registry container');
    await docker.removeContainer(existing.id);
  }

  // Registries whose data directory is gone serve nothing anyone can keep: remove them.
  const others = await docker.listContainers({ [PLATFORM_LABEL]: REGISTRY_ROLE });
  for (const other of others) {
    const dir = other.labels[DATA_DIR_LABEL];
    if (other.name !== name && dir && !existsSync(dir)) {
      logger.info(
        { container: other.name, dataDir: dir },
        'removing a registry whose data is gone',
      );
      await docker.removeContainer(other.id);
    }
  }

  if (options.port !== 0) {
    const owner = others.find(
      (o) =>
        o.name !== name &&
        o.running &&
        o.published?.hostPort === options.port &&
        existsSync(o.labels[DATA_DIR_LABEL] ?? ''),
    );
    if (owner) {
      throw new Error(
        `${registryAddress(host, options.port)} is taken by the registry of data directory ${owner.labels[DATA_DIR_LABEL]} (container ${owner.name}); ${portHint(host)}, or stop that one (docker rm -f ${owner.name})`,
      );
    }
    if (!(await portFree(host, options.port))) {
      throw new Error(
        `${registryAddress(host, options.port)} is already in use by another program; ${portHint(host)}`,
      );
    }
  }

  const image = await ensureRegistryImage(docker, {
    paths: options.paths,
    logger,
    ...(options.progress ? { progress: options.progress } : {}),
    ...(options.pull !== undefined ? { pull: options.pull } : {}),
    ...(options.pullTimeoutMs !== undefined ? { pullTimeoutMs: options.pullTimeoutMs } : {}),
  });
  await docker.ensureNetwork(PLATFORM_NETWORK, { [PLATFORM_LABEL]: 'network' });

  let container: PlatformContainer;
  try {
    container = await docker.runContainer({
      name,
      image,
      labels: {
        ...options.labels,
        [PLATFORM_LABEL]: REGISTRY_ROLE,
        [DATA_DIR_LABEL]: dataDir,
        [AUTH_LABEL]: authHash(options.auth),
        ...(options.auth ? { [REALM_LABEL]: options.auth.realm } : {}),
      },
      env: { ...REGISTRY_ENV, ...authEnv(options.auth) },
      user: options.user ?? defaultUser(),
      publish: { containerPort: CONTAINER_PORT, hostIp: host, hostPort: options.port },
      binds: [
        { source: storage, target: STORAGE },
        ...(options.auth
          ? [{ source: options.auth.certFile, target: TOKEN_CERT, readOnly: true }]
          : []),
      ],
      network: PLATFORM_NETWORK,
      restartPolicy: 'unless-stopped',
      readOnlyRootfs: true,
      tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
      pidsLimit: 512,
      log: { maxSize: '10m', maxFiles: 3 },
    });
  } catch (err) {
    if (isRuntimeError(err) && isPortConflict(err.message)) {
      throw new Error(
        `${registryAddress(host, options.port)} is already in use; ${portHint(host)}`,
        { cause: err },
      );
    }
    throw err;
  }
  if (!container.published) {
    await docker.removeContainer(container.id);
    throw new Error(`the registry container ${name} started without a published port`);
  }
  const address = registryAddress(host, container.published.hostPort);
  if (!(await waitHealthy(healthy, address, options.startTimeoutMs ?? 30_000))) {
    const logs = (await docker.containerLogs(container.id, 20)).trim();
    // A registry that does not answer is of no use; the engine would keep restarting it.
    await docker.removeContainer(container.id);
    throw new Error(
      `the registry (container ${name}, image ${image}) does not answer on http://${address}/v2/${logs ? `; its last lines:\n${logs}` : ''}`,
    );
  }
  logger.info({ container: name, address, image }, 'started the registry');
  return { address, container: name, image, adopted: false, storage };
}

/** Undefined when the container can be kept as it is; otherwise why it must be replaced. */
async function adoptable(
  c: PlatformContainer,
  options: RegistryOptions,
  healthy: (address: string) => Promise<boolean>,
): Promise<string | undefined> {
  if (!c.running) return `not running (${c.status})`;
  if (!c.published) return 'no published port';
  if (c.published.hostIp !== options.host) {
    return `published on ${c.published.hostIp}, not ${options.host}`;
  }
  if (options.port !== 0 && c.published.hostPort !== options.port) {
    return `published on port ${c.published.hostPort}, not ${options.port}`;
  }
  if ((c.labels[AUTH_LABEL] ?? 'none') !== authHash(options.auth)) {
    return 'its token authentication settings changed';
  }
  // Just restarted by the engine: give it a few seconds to answer.
  const address = registryAddress(options.host, c.published.hostPort);
  if (!(await waitHealthy(healthy, address, options.adoptTimeoutMs ?? 10_000))) {
    return 'not answering on /v2/';
  }
  return undefined;
}

function defaultUser(): string {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return `${uid}:${gid}`;
}

/**
 * The agent's configuration, validated once at start from the environment and the command line
 * (options win). Nothing else in the agent reads process.env.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { z } from 'zod';
import { serverUrlSchema, tokenSchema } from '../src/util/connection-config.js';
import { durationSchema, positiveDurationSchema } from '../src/util/duration.js';
import { dns1123Subdomain } from '../src/api/names.js';
import { memoryBytes } from '../src/api/quantity.js';
import { parseListen } from '../src/util/listen.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface BackoffConfig {
  /** First delay after the immediate restart; doubles up to capMs. */
  baseMs: number;
  capMs: number;
  /** A container that ran this long before it died restarts at once again. */
  resetAfterMs: number;
}

export interface AgentConfig {
  /** The master's API, e.g. `http://127.0.0.1:8443`. */
  server: string;
  /** The node-join token (user system:node-bootstrap). Never logged. */
  token: string;
  nodeName: string;
  /** `unix:///var/run/docker.sock`, a socket path, or `tcp://HOST:PORT`. */
  docker: string;
  /** How often the Node's conditions are posted (lastHeartbeatTime). */
  heartbeatIntervalMs: number;
  /** Restart back-off of crashed containers; image pulls back off the same way. */
  backoff: BackoffConfig;
  /** Max processes per container. */
  pidsLimit: number;
  /** How often dead containers beyond the newest per pod container are removed, and unused
   * images when the disk is full (imageGc). */
  gcIntervalMs: number;
  /** Image garbage collection (local engines): kubelet's thresholds and minimum age. */
  imageGc: { highThresholdPercent: number; lowThresholdPercent: number; minimumAgeMs: number };
  /** How often every pod, and everything in Docker, is reconciled even without events. */
  resyncIntervalMs: number;
  /** Pods reconciled concurrently. */
  workers: number;
  logLevel: LogLevel;
  /** The node's InternalIP; by default the Docker bridge gateway (local engine) or the host's
   * first non-loopback IPv4 address. */
  nodeIP: string | undefined;
  /** UID/GID for containers that name none (the project's assigned UID in OpenShift). */
  defaultUid: number;
  defaultGid: number;
  /** Added to every container and volume the agent creates (ownership labels win). */
  extraLabels: Record<string, string>;
  /** Where the agent serves logs and exec to the master. Port 0 picks a free port; the Node's
   * status tells the master which. */
  listen: { host: string; port: number };
  /** Where the agent keeps build workspaces and build logs (`DATA_DIR/builds/<pod uid>`). */
  dataDir: string;
  builds: BuildConfig;
  /** Run the service proxy and the cluster DNS (local engines only). */
  serviceProxy: boolean;
  /** Where the cluster DNS listens: host undefined means the Docker bridge gateway; port 0
   * picks a free one. */
  dnsListen: { host: string | undefined; port: number };
  /** The host's resolver settings (kubelet's `--resolv-conf`): pods' search domains and the
   * cluster DNS's upstreams; read again as they change. */
  resolvConf: string;
}

export interface BuildConfig {
  /** Most bytes a build's source may take (checkout, binary input, restored artifacts). */
  sourceLimitBytes: number;
  /** How long fetching a git source may take. */
  cloneTimeoutMs: number;
  /** Allow `file://` git sources, local paths and file:// S2I script URLs (tests; off). */
  allowLocalSources: boolean;
}

/** Command-line options; each overrides its environment variable. Numbers are milliseconds
 * for durations; strings take a unit (`200ms`, `10s`, `5m`, `1h`), plain digits are seconds. */
export interface AgentOptions {
  server?: string | undefined;
  token?: string | undefined;
  nodeName?: string | undefined;
  docker?: string | undefined;
  heartbeatInterval?: number | string | undefined;
  backoffBase?: number | string | undefined;
  backoffMax?: number | string | undefined;
  backoffReset?: number | string | undefined;
  pidsLimit?: number | string | undefined;
  gcInterval?: number | string | undefined;
  imageGcHighThreshold?: number | string | undefined;
  imageGcLowThreshold?: number | string | undefined;
  imageMinimumGcAge?: number | string | undefined;
  resyncInterval?: number | string | undefined;
  workers?: number | string | undefined;
  logLevel?: string | undefined;
  nodeIP?: string | undefined;
  defaultUid?: number | string | undefined;
  defaultGid?: number | string | undefined;
  extraLabels?: Record<string, string> | string | undefined;
  listen?: string | undefined;
  dataDir?: string | undefined;
  buildSourceLimit?: number | string | undefined;
  buildCloneTimeout?: number | string | undefined;
  buildAllowLocalSources?: boolean | string | undefined;
  serviceProxy?: boolean | string | undefined;
  dnsListen?: string | undefined;
  resolvConf?: string | undefined;
}

/** The environment variables loadConfig reads. */
/** The local Docker engine's socket, unless told otherwise. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export const AGENT_ENV = {
  server: 'SLIPWAY_AGENT_SERVER',
  token: 'SLIPWAY_AGENT_TOKEN',
  nodeName: 'SLIPWAY_AGENT_NODE_NAME',
  docker: 'DOCKER_HOST',
  heartbeatInterval: 'SLIPWAY_AGENT_HEARTBEAT_INTERVAL',
  backoffBase: 'SLIPWAY_AGENT_BACKOFF_BASE',
  backoffMax: 'SLIPWAY_AGENT_BACKOFF_MAX',
  backoffReset: 'SLIPWAY_AGENT_BACKOFF_RESET',
  pidsLimit: 'SLIPWAY_AGENT_PIDS_LIMIT',
  gcInterval: 'SLIPWAY_AGENT_GC_INTERVAL',
  imageGcHighThreshold: 'SLIPWAY_AGENT_IMAGE_GC_HIGH_THRESHOLD',
  imageGcLowThreshold: 'SLIPWAY_AGENT_IMAGE_GC_LOW_THRESHOLD',
  imageMinimumGcAge: 'SLIPWAY_AGENT_IMAGE_MINIMUM_GC_AGE',
  resyncInterval: 'SLIPWAY_AGENT_RESYNC_INTERVAL',
  workers: 'SLIPWAY_AGENT_WORKERS',
  logLevel: 'SLIPWAY_LOG_LEVEL',
  nodeIP: 'SLIPWAY_AGENT_NODE_IP',
  defaultUid: 'SLIPWAY_AGENT_DEFAULT_UID',
  defaultGid: 'SLIPWAY_AGENT_DEFAULT_GID',
  extraLabels: 'SLIPWAY_AGENT_LABELS',
  listen: 'SLIPWAY_AGENT_LISTEN',
  dataDir: 'SLIPWAY_AGENT_DATA_DIR',
  buildSourceLimit: 'SLIPWAY_AGENT_BUILD_SOURCE_LIMIT',
  buildCloneTimeout: 'SLIPWAY_AGENT_BUILD_CLONE_TIMEOUT',
  buildAllowLocalSources: 'SLIPWAY_AGENT_BUILD_ALLOW_LOCAL_SOURCES',
  serviceProxy: 'SLIPWAY_AGENT_SERVICE_PROXY',
  dnsListen: 'SLIPWAY_AGENT_DNS_LISTEN',
  resolvConf: 'SLIPWAY_AGENT_RESOLV_CONF',
} as const;

export const AGENT_DEFAULTS = {
  heartbeatInterval: 10_000,
  backoffBase: 10_000,
  backoffMax: 300_000,
  backoffReset: 600_000,
  pidsLimit: 1024,
  gcInterval: 60_000,
  /** The kubelet's imageGCHighThresholdPercent, imageGCLowThresholdPercent, imageMinimumGCAge. */
  imageGcHighThreshold: 85,
  imageGcLowThreshold: 80,
  imageMinimumGcAge: 120_000,
  resyncInterval: 60_000,
  workers: 4,
  logLevel: 'info',
  /** The first UID of OpenShift's usual first project range (1000680000/10000). */
  defaultUid: 1000680000,
  /** OpenShift runs arbitrary UIDs in the root group, so images can make files group-writable. */
  defaultGid: 0,
  /** Every interface, a free port: the Node's status tells the master which. Fix the port
   * (e.g. 0.0.0.0:10250) where a firewall must allow it. */
  listen: '0.0.0.0:0',
  dataDir: '/var/lib/slipway/agent',
  /** 1 GiB: quantities (`512Mi`, `2Gi`) or bytes. */
  buildSourceLimit: '1Gi',
  buildCloneTimeout: 300_000,
  buildAllowLocalSources: false,
  serviceProxy: true,
  /** The Docker bridge gateway, a free port. */
  dnsListen: '0',
  resolvConf: '/etc/resolv.conf',
} as const;

/** `k=v,k2=v2` to a record. */
export function parseLabels(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(',')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`"${item}" is not a KEY=VALUE label`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

const booleanSetting = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  ctx.addIssue({ code: 'custom', message: `"${v}" is not true or false` });
  return z.NEVER;
});

/** `PORT` (on the bridge gateway) or `IPV4:PORT`. */
function parseDnsListen(value: string): { host: string | undefined; port: number } {
  if (/^\d{1,5}$/.test(value.trim())) {
    const port = Number(value);
    if (port > 65535) throw new Error(`"${value}" is not a port`);
    return { host: undefined, port };
  }
  const parsed = parseListen(value);
  // The service proxy's rules are IPv4 (they DNAT the cluster DNS address to this one).
  if (isIP(parsed.host) !== 4) throw new Error(`"${parsed.host}" is not an IPv4 address`);
  return parsed;
}

const int = (min: number, max: number): z.ZodType<number, number | string> =>
  z.coerce.number().int().min(min).max(max) as unknown as z.ZodType<number, number | string>;

const schema = z.object({
  server: serverUrlSchema('SLIPWAY_AGENT_SERVER'),
  token: tokenSchema('SLIPWAY_AGENT_TOKEN'),
  nodeName: z.string().superRefine((v, ctx) => {
    for (const problem of dns1123Subdomain(v)) ctx.addIssue({ code: 'custom', message: problem });
  }),
  docker: z.string().min(1),
  heartbeatInterval: positiveDurationSchema,
  backoffBase: positiveDurationSchema,
  backoffMax: positiveDurationSchema,
  backoffReset: positiveDurationSchema,
  pidsLimit: int(16, 4_194_304),
  gcInterval: positiveDurationSchema,
  imageGcHighThreshold: int(0, 100),
  imageGcLowThreshold: int(0, 100),
  imageMinimumGcAge: durationSchema,
  resyncInterval: positiveDurationSchema,
  workers: int(1, 64),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  nodeIP: z.union([z.ipv4(), z.ipv6()]).optional(),
  defaultUid: int(0, 2 ** 31 - 1),
  defaultGid: int(0, 2 ** 31 - 1),
  listen: z.string().transform((value, ctx) => {
    try {
      return parseListen(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
  dataDir: z
    .string()
    .min(1)
    .refine((v) => v.startsWith('/'), 'must be an absolute path'),
  buildSourceLimit: z.union([z.number(), z.string()]).transform((v, ctx) => {
    try {
      const bytes = memoryBytes(v);
      if (bytes < 1024 * 1024) throw new Error('must be at least 1Mi');
      return bytes;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
  buildCloneTimeout: positiveDurationSchema,
  buildAllowLocalSources: z.union([z.boolean(), z.string()]).transform((v, ctx) => {
    if (typeof v === 'boolean') return v;
    if (/^(true|1|yes)$/i.test(v)) return true;
    if (/^(false|0|no)$/i.test(v)) return false;
    ctx.addIssue({ code: 'custom', message: `"${v}" is not true or false` });
    return z.NEVER;
  }),
  serviceProxy: booleanSetting,
  resolvConf: z.string(),
  dnsListen: z.string().transform((value, ctx) => {
    try {
      return parseDnsListen(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
  extraLabels: z.union([z.record(z.string(), z.string()), z.string()]).transform((v, ctx) => {
    if (typeof v !== 'string') return v;
    try {
      return parseLabels(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
});

/** The machine's host name as a node name: lower case, at most 253 characters. */
export function defaultNodeName(): string {
  return hostname().toLowerCase().slice(0, 253);
}

/**
 * Builds the agent's configuration from the environment and options (options win). Throws an
 * Error naming every invalid setting.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  options: AgentOptions = {},
): AgentConfig {
  const pick = <K extends keyof typeof AGENT_ENV>(key: K): AgentOptions[K] | string | undefined => {
    const value = options[key];
    if (value !== undefined && value !== '') return value;
    const fromEnv = env[AGENT_ENV[key]];
    return fromEnv === '' ? undefined : fromEnv;
  };
  const input = {
    server: pick('server'),
    token: pick('token'),
    nodeName: pick('nodeName') ?? defaultNodeName(),
    docker: pick('docker') ?? `unix://${DEFAULT_DOCKER_SOCKET}`,
    heartbeatInterval: pick('heartbeatInterval') ?? AGENT_DEFAULTS.heartbeatInterval,
    backoffBase: pick('backoffBase') ?? AGENT_DEFAULTS.backoffBase,
    backoffMax: pick('backoffMax') ?? AGENT_DEFAULTS.backoffMax,
    backoffReset: pick('backoffReset') ?? AGENT_DEFAULTS.backoffReset,
    pidsLimit: pick('pidsLimit') ?? AGENT_DEFAULTS.pidsLimit,
    gcInterval: pick('gcInterval') ?? AGENT_DEFAULTS.gcInterval,
    imageGcHighThreshold: pick('imageGcHighThreshold') ?? AGENT_DEFAULTS.imageGcHighThreshold,
    imageGcLowThreshold: pick('imageGcLowThreshold') ?? AGENT_DEFAULTS.imageGcLowThreshold,
    imageMinimumGcAge: pick('imageMinimumGcAge') ?? AGENT_DEFAULTS.imageMinimumGcAge,
    resyncInterval: pick('resyncInterval') ?? AGENT_DEFAULTS.resyncInterval,
    workers: pick('workers') ?? AGENT_DEFAULTS.workers,
    logLevel: pick('logLevel') ?? AGENT_DEFAULTS.logLevel,
    nodeIP: pick('nodeIP'),
    defaultUid: pick('defaultUid') ?? AGENT_DEFAULTS.defaultUid,
    defaultGid: pick('defaultGid') ?? AGENT_DEFAULTS.defaultGid,
    extraLabels: pick('extraLabels') ?? {},
    listen: pick('listen') ?? AGENT_DEFAULTS.listen,
    dataDir: pick('dataDir') ?? AGENT_DEFAULTS.dataDir,
    buildSourceLimit: pick('buildSourceLimit') ?? AGENT_DEFAULTS.buildSourceLimit,
    buildCloneTimeout: pick('buildCloneTimeout') ?? AGENT_DEFAULTS.buildCloneTimeout,
    buildAllowLocalSources: pick('buildAllowLocalSources') ?? AGENT_DEFAULTS.buildAllowLocalSources,
    serviceProxy: pick('serviceProxy') ?? AGENT_DEFAULTS.serviceProxy,
    dnsListen: pick('dnsListen') ?? AGENT_DEFAULTS.dnsListen,
    resolvConf: pick('resolvConf') ?? AGENT_DEFAULTS.resolvConf,
  };
  const result = schema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.join('.') || 'config'}: ${i.message}`,
    );
    throw new Error(`invalid agent configuration: ${problems.join('; ')}`);
  }
  const c = result.data;
  if (c.imageGcLowThreshold > c.imageGcHighThreshold) {
    throw new Error(
      `invalid agent configuration: imageGcLowThreshold: must not be more than imageGcHighThreshold (${c.imageGcHighThreshold})`,
    );
  }
  if (c.backoffMax < c.backoffBase) {
    throw new Error(
      `invalid agent configuration: backoffMax: must not be less than backoffBase (${c.backoffBase} ms)`,
    );
  }
  return {
    server: c.server.replace(/\/+$/, ''),
    token: c.token,
    nodeName: c.nodeName,
    docker: c.docker,
    heartbeatIntervalMs: c.heartbeatInterval,
    backoff: { baseMs: c.backoffBase, capMs: c.backoffMax, resetAfterMs: c.backoffReset },
    pidsLimit: c.pidsLimit,
    gcIntervalMs: c.gcInterval,
    imageGc: {
      highThresholdPercent: c.imageGcHighThreshold,
      lowThresholdPercent: c.imageGcLowThreshold,
      minimumAgeMs: c.imageMinimumGcAge,
    },
    resyncIntervalMs: c.resyncInterval,
    workers: c.workers,
    logLevel: c.logLevel,
    nodeIP: c.nodeIP,
    defaultUid: c.defaultUid,
    defaultGid: c.defaultGid,
    extraLabels: c.extraLabels,
    listen: c.listen,
    dataDir: c.dataDir.replace(/\/+$/, '') || '/',
    builds: {
      sourceLimitBytes: c.buildSourceLimit,
      cloneTimeoutMs: c.buildCloneTimeout,
      allowLocalSources: c.buildAllowLocalSources,
    },
    serviceProxy: c.serviceProxy,
    dnsListen: c.dnsListen,
    resolvConf: c.resolvConf,
  };
}

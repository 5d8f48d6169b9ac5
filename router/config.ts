/**
 * The router's configuration, validated once at start from the environment and the command
 * line (options win). Nothing else in the router reads process.env.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { serverUrlSchema, tokenSchema } from '../src/util/connection-config.js';
import { durationSchema, positiveDurationSchema } from '../src/util/duration.js';
import { dns1123Subdomain } from '../src/api/names.js';
import { parseListen } from '../src/util/listen.js';
import type { Balance } from './annotations.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Listen {
  host: string;
  port: number;
}

export interface RouterConfig {
  /** The master's API, e.g. `http://127.0.0.1:8443`. */
  server: string;
  /** A token allowed to list and watch routes, services and endpoints. Never logged. */
  token: string;
  /** This router's name in routes' status.ingress (OpenShift: `default`). */
  routerName: string;
  listen: Listen;
  /** HTTPS for edge routes; off unless given. */
  listenHttps: Listen | undefined;
  /** /healthz, /healthz/ready and /metrics. */
  statsListen: Listen;
  /** Serve only routes admitted for this router (see router/README.md). */
  requireAdmission: boolean;
  /** Proxy to endpoint addresses on loopback (tests, single-host set-ups you trust). */
  allowLoopbackEndpoints: boolean;
  /** A PEM file with the certificate (and chain) and key used when no route's matches. */
  defaultCertificate: string | undefined;
  /** Where the table's inputs are saved, so a restart serves at once. */
  stateFile: string | undefined;
  defaultBalance: Balance;
  timeouts: {
    connectMs: number;
    /** Waiting for a backend (head, then between body chunks). */
    serverMs: number;
    /** Idle client keep-alive connections and slow request heads. */
    clientMs: number;
    /** Idle WebSocket tunnels. */
    tunnelMs: number;
    /** How long a stopping router lets requests in flight finish. */
    drainMs: number;
  };
  /** Table rebuild debounce after a change. */
  debounceMs: number;
  connectionsPerTarget: number;
  /** Processes serving traffic (node:cluster); 1 runs everything in this process. */
  workers: number;
  logLevel: LogLevel;
}

/** Command-line options; each overrides its environment variable. Durations take a unit
 * (`250ms`, `5s`, `1h`); plain digits are seconds. */
export interface RouterOptions {
  server?: string | undefined;
  token?: string | undefined;
  routerName?: string | undefined;
  listen?: string | undefined;
  listenHttps?: string | undefined;
  statsListen?: string | undefined;
  requireAdmission?: boolean | string | undefined;
  allowLoopbackEndpoints?: boolean | string | undefined;
  defaultCertificate?: string | undefined;
  stateFile?: string | undefined;
  defaultBalance?: string | undefined;
  connectTimeout?: number | string | undefined;
  serverTimeout?: number | string | undefined;
  clientTimeout?: number | string | undefined;
  tunnelTimeout?: number | string | undefined;
  drainTimeout?: number | string | undefined;
  debounce?: number | string | undefined;
  connectionsPerTarget?: number | string | undefined;
  /** A number, or `auto` for one per CPU. */
  workers?: number | string | undefined;
  logLevel?: string | undefined;
}

export const ROUTER_ENV = {
  server: 'SLIPWAY_ROUTER_SERVER',
  token: 'SLIPWAY_ROUTER_TOKEN',
  routerName: 'SLIPWAY_ROUTER_NAME',
  listen: 'SLIPWAY_ROUTER_LISTEN',
  listenHttps: 'SLIPWAY_ROUTER_LISTEN_HTTPS',
  statsListen: 'SLIPWAY_ROUTER_STATS_LISTEN',
  requireAdmission: 'SLIPWAY_ROUTER_REQUIRE_ADMISSION',
  allowLoopbackEndpoints: 'SLIPWAY_ROUTER_ALLOW_LOOPBACK_ENDPOINTS',
  defaultCertificate: 'SLIPWAY_ROUTER_DEFAULT_CERTIFICATE',
  stateFile: 'SLIPWAY_ROUTER_STATE_FILE',
  defaultBalance: 'SLIPWAY_ROUTER_BALANCE',
  connectTimeout: 'SLIPWAY_ROUTER_CONNECT_TIMEOUT',
  serverTimeout: 'SLIPWAY_ROUTER_SERVER_TIMEOUT',
  clientTimeout: 'SLIPWAY_ROUTER_CLIENT_TIMEOUT',
  tunnelTimeout: 'SLIPWAY_ROUTER_TUNNEL_TIMEOUT',
  drainTimeout: 'SLIPWAY_ROUTER_DRAIN_TIMEOUT',
  debounce: 'SLIPWAY_ROUTER_DEBOUNCE',
  connectionsPerTarget: 'SLIPWAY_ROUTER_CONNECTIONS_PER_TARGET',
  workers: 'SLIPWAY_ROUTER_WORKERS',
  logLevel: 'SLIPWAY_LOG_LEVEL',
} as const;

/** OpenShift's router defaults: connect 5 s, client/server 30 s, tunnel 1 h. */
export const ROUTER_DEFAULTS = {
  routerName: 'default',
  listen: '0.0.0.0:80',
  statsListen: '127.0.0.1:1936',
  requireAdmission: true,
  allowLoopbackEndpoints: false,
  defaultBalance: 'roundrobin',
  connectTimeout: '5s',
  serverTimeout: '30s',
  clientTimeout: '30s',
  tunnelTimeout: '1h',
  drainTimeout: '10s',
  debounce: '5ms',
  connectionsPerTarget: 256,
  /** One process per CPU, as nginx's `worker_processes auto` and HAProxy's threads. */
  workers: 'auto',
  logLevel: 'info',
} as const;

const listen = z.string().transform((value, ctx) => {
  try {
    return parseListen(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const bool = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  const t = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off'].includes(t)) return false;
  ctx.addIssue({ code: 'custom', message: `"${v}" is not true or false` });
  return z.NEVER;
});

const schema = z.object({
  server: serverUrlSchema('SLIPWAY_ROUTER_SERVER'),
  token: tokenSchema('SLIPWAY_ROUTER_TOKEN'),
  routerName: z.string().superRefine((v, ctx) => {
    for (const problem of dns1123Subdomain(v)) ctx.addIssue({ code: 'custom', message: problem });
  }),
  listen,
  listenHttps: listen.optional(),
  statsListen: listen,
  requireAdmission: bool,
  allowLoopbackEndpoints: bool,
  defaultCertificate: z.string().min(1).optional(),
  stateFile: z.string().min(1).optional(),
  defaultBalance: z.enum(['roundrobin', 'leastconn', 'source', 'random']),
  connectTimeout: positiveDurationSchema,
  serverTimeout: positiveDurationSchema,
  clientTimeout: positiveDurationSchema,
  tunnelTimeout: positiveDurationSchema,
  drainTimeout: durationSchema,
  debounce: durationSchema,
  connectionsPerTarget: z.coerce.number().int().min(1).max(65536),
  workers: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)]),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
});

/** Builds the router's configuration; throws an Error naming every invalid setting. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  options: RouterOptions = {},
): RouterConfig {
  const pick = <K extends keyof typeof ROUTER_ENV>(
    key: K,
  ): RouterOptions[K] | string | undefined => {
    const value = options[key];
    if (value !== undefined && value !== '') return value;
    const fromEnv = env[ROUTER_ENV[key]];
    return fromEnv === '' ? undefined : fromEnv;
  };
  const input = {
    server: pick('server'),
    token: pick('token'),
    routerName: pick('routerName') ?? ROUTER_DEFAULTS.routerName,
    listen: pick('listen') ?? ROUTER_DEFAULTS.listen,
    listenHttps: pick('listenHttps'),
    statsListen: pick('statsListen') ?? ROUTER_DEFAULTS.statsListen,
    requireAdmission: pick('requireAdmission') ?? ROUTER_DEFAULTS.requireAdmission,
    allowLoopbackEndpoints:
      pick('allowLoopbackEndpoints') ?? ROUTER_DEFAULTS.allowLoopbackEndpoints,
    defaultCertificate: pick('defaultCertificate'),
    stateFile: pick('stateFile'),
    defaultBalance: pick('defaultBalance') ?? ROUTER_DEFAULTS.defaultBalance,
    connectTimeout: pick('connectTimeout') ?? ROUTER_DEFAULTS.connectTimeout,
    serverTimeout: pick('serverTimeout') ?? ROUTER_DEFAULTS.serverTimeout,
    clientTimeout: pick('clientTimeout') ?? ROUTER_DEFAULTS.clientTimeout,
    tunnelTimeout: pick('tunnelTimeout') ?? ROUTER_DEFAULTS.tunnelTimeout,
    drainTimeout: pick('drainTimeout') ?? ROUTER_DEFAULTS.drainTimeout,
    debounce: pick('debounce') ?? ROUTER_DEFAULTS.debounce,
    connectionsPerTarget: pick('connectionsPerTarget') ?? ROUTER_DEFAULTS.connectionsPerTarget,
    workers: pick('workers') ?? ROUTER_DEFAULTS.workers,
    logLevel: pick('logLevel') ?? ROUTER_DEFAULTS.logLevel,
  };
  const result = schema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.join('.') || 'config'}: ${i.message}`,
    );
    throw new Error(`invalid router configuration: ${problems.join('; ')}`);
  }
  const c = result.data;
  const kernelChosenPort = c.listen.port === 0 || c.listenHttps?.port === 0;
  // Workers share their ports, so `auto` keeps one process where the kernel picks a port.
  const workers = c.workers !== 'auto' ? c.workers : kernelChosenPort ? 1 : availableParallelism();
  if (workers > 1) {
    for (const [name, at] of [
      ['listen', c.listen],
      ['listenHttps', c.listenHttps],
    ] as const) {
      if (at?.port === 0) {
        throw new Error(
          `invalid router configuration: ${name}: several workers share a port, so it must be fixed (not 0)`,
        );
      }
    }
  }
  return {
    server: c.server.replace(/\/+$/, ''),
    token: c.token,
    routerName: c.routerName,
    listen: c.listen,
    listenHttps: c.listenHttps,
    statsListen: c.statsListen,
    requireAdmission: c.requireAdmission,
    allowLoopbackEndpoints: c.allowLoopbackEndpoints,
    defaultCertificate: c.defaultCertificate,
    stateFile: c.stateFile,
    defaultBalance: c.defaultBalance,
    timeouts: {
      connectMs: c.connectTimeout,
      serverMs: c.serverTimeout,
      clientMs: c.clientTimeout,
      tunnelMs: c.tunnelTimeout,
      drainMs: c.drainTimeout,
    },
    debounceMs: c.debounce,
    connectionsPerTarget: c.connectionsPerTarget,
    workers,
    logLevel: c.logLevel,
  };
}

import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { parseListen } from '../src/util/listen.js';
import { DEFAULT_SERVICE_CIDR, parseCidr } from './admission/service-ip.js';
import { DEFAULT_NODE_PORT_RANGE, parsePortRange } from './admission/node-ports.js';

/** The master's configuration, validated once at start. */
export interface MasterConfig {
  /** Holds the store, tokens.json and the lock file. Absolute. */
  dataDir: string;
  listen: { host: string; port: number };
  /** `sqlite:///abs/state.db` (default: DATA_DIR/state.db) or `memory://`. */
  storeUrl: string;
  /** 0 disables compaction. */
  compactionIntervalSeconds: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** How long shutdown waits for requests in flight before cutting connections. */
  shutdownTimeoutSeconds: number;
  /** Run the controller-manager (scheduler, node lifecycle). Off: a bare API server. */
  controllers: boolean;
  /** A node whose heartbeat is older than this is marked Ready=Unknown (Kubernetes: 40 s). */
  nodeMonitorGracePeriodSeconds: number;
  /** Pods on a node that has not been Ready for this long are deleted (Kubernetes: 300 s). */
  podEvictionTimeoutSeconds: number;
  /** The cluster's image registry (`HOST:PORT`), where builds push; unset: builds that push
   * to an image stream fail with a message saying so. */
  registry: string | undefined;
  /** Accept `file://` URLs and local paths as git sources of builds (off: only network
   * repositories). */
  allowFileGitSources: boolean;
  /**
   * Registries image imports may read (`docker.io`, `*.example.com`, `host:5000`); the cluster's
   * own is always allowed. Undefined: any registry.
   */
  allowedRegistriesForImport: string[] | undefined;
  /** How often image stream tags with `importPolicy.scheduled` are imported again (seconds). */
  scheduledImageImportIntervalSeconds: number;
  /** The largest binary build input (`start-build --from-dir`) accepted, in bytes. */
  binaryBuildMaxBytes: number;
  /** The IPv4 range Services' ClusterIPs are allocated from. */
  serviceCidr: string;
  /** The ports NodePort Services' node ports are allocated from (`FIRST-LAST`). */
  serviceNodePortRange: string;
  /** The domain of generated route hosts: a route without spec.host gets
   * `NAME-NAMESPACE.SUBDOMAIN`. */
  routeSubdomain: string;
}

/** What the command line may set; each overrides its environment variable. */
export interface MasterOptions {
  dataDir?: string | undefined;
  listen?: string | undefined;
  storeUrl?: string | undefined;
  compactionIntervalSeconds?: number | string | undefined;
  logLevel?: string | undefined;
  shutdownTimeoutSeconds?: number | string | undefined;
  controllers?: boolean | string | undefined;
  nodeMonitorGracePeriodSeconds?: number | string | undefined;
  podEvictionTimeoutSeconds?: number | string | undefined;
  registry?: string | undefined;
  allowedRegistriesForImport?: string | undefined;
  scheduledImageImportIntervalSeconds?: number | string | undefined;
  allowFileGitSources?: boolean | string | undefined;
  binaryBuildMaxBytes?: number | string | undefined;
  serviceCidr?: string | undefined;
  serviceNodePortRange?: string | undefined;
  routeSubdomain?: string | undefined;
}

export const DEFAULT_LISTEN = '127.0.0.1:8443';

/** `*.localhost` names resolve to loopback without any DNS set-up (RFC 6761; browsers and
 * curl do it themselves), so generated route hosts reach a router on this machine. */
export const DEFAULT_ROUTE_SUBDOMAIN = 'apps.localhost';

/** The environment variables loadConfig reads. */
export const ENV = {
  dataDir: 'SLIPWAY_DATA_DIR',
  listen: 'SLIPWAY_LISTEN',
  storeUrl: 'SLIPWAY_STORE_URL',
  compactionIntervalSeconds: 'SLIPWAY_COMPACTION_INTERVAL_SECONDS',
  logLevel: 'SLIPWAY_LOG_LEVEL',
  shutdownTimeoutSeconds: 'SLIPWAY_SHUTDOWN_TIMEOUT_SECONDS',
  controllers: 'SLIPWAY_CONTROLLERS',
  nodeMonitorGracePeriodSeconds: 'SLIPWAY_NODE_MONITOR_GRACE_PERIOD_SECONDS',
  podEvictionTimeoutSeconds: 'SLIPWAY_POD_EVICTION_TIMEOUT_SECONDS',
  registry: 'SLIPWAY_REGISTRY',
  allowedRegistriesForImport: 'SLIPWAY_ALLOWED_REGISTRIES_FOR_IMPORT',
  scheduledImageImportIntervalSeconds: 'SLIPWAY_SCHEDULED_IMAGE_IMPORT_INTERVAL_SECONDS',
  allowFileGitSources: 'SLIPWAY_ALLOW_FILE_GIT_SOURCES',
  binaryBuildMaxBytes: 'SLIPWAY_BINARY_BUILD_MAX_BYTES',
  serviceCidr: 'SLIPWAY_SERVICE_CIDR',
  serviceNodePortRange: 'SLIPWAY_SERVICE_NODE_PORT_RANGE',
  routeSubdomain: 'SLIPWAY_ROUTE_SUBDOMAIN',
} as const;

/** OpenShift's minimum interval of scheduled image imports: 15 minutes. */
export const DEFAULT_SCHEDULED_IMAGE_IMPORT_INTERVAL_SECONDS = 900;

/** Default limit of a binary build's input: 50 MiB. */
export const DEFAULT_BINARY_BUILD_MAX_BYTES = 50 * 1024 * 1024;

export { parseListen };

/** Whether a listen host only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const seconds = z.coerce
  .number()
  .int()
  .min(0)
  .max(7 * 24 * 3600);

const schema = z.object({
  dataDir: z.string().min(1, 'Required value: set --data-dir or SLIPWAY_DATA_DIR (or HOME)'),
  listen: z.string().transform((value, ctx) => {
    try {
      return parseListen(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }),
  storeUrl: z
    .string()
    .regex(/^[a-z][a-z0-9+.-]*:\/\//i, 'must be a URL such as sqlite:///path/state.db or memory://')
    .optional(),
  compactionIntervalSeconds: seconds,
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  shutdownTimeoutSeconds: seconds.max(600),
  controllers: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])], {
      message: 'must be true or false',
    })
    .transform((v) => v === true || v === 'true' || v === '1'),
  registry: z
    .string()
    .regex(
      /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._/-][a-z0-9]+)*)?$/,
      'must be HOST[:PORT] (for example 127.0.0.1:5000), without a scheme',
    )
    .optional(),
  scheduledImageImportIntervalSeconds: seconds.min(1),
  allowedRegistriesForImport: z
    .string()
    .transform((value, ctx) => {
      const patterns = value
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p !== '');
      for (const p of patterns) {
        if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$/.test(p)) {
          ctx.addIssue({
            code: 'custom',
            message: `"${p}" is not HOST[:PORT] or *.DOMAIN (comma-separated, for example docker.io,*.example.com,127.0.0.1:5000)`,
          });
        }
      }
      return patterns;
    })
    .optional(),
  allowFileGitSources: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])], {
      message: 'must be true or false',
    })
    .transform((v) => v === true || v === 'true' || v === '1'),
  binaryBuildMaxBytes: z.coerce
    .number()
    .int()
    .min(1)
    .max(8 * 1024 * 1024 * 1024),
  serviceCidr: z.string().superRefine((value, ctx) => {
    const parsed = parseCidr(value);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
  }),
  serviceNodePortRange: z.string().superRefine((value, ctx) => {
    const parsed = parsePortRange(value);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
  }),
  nodeMonitorGracePeriodSeconds: seconds.min(1),
  podEvictionTimeoutSeconds: seconds,
  routeSubdomain: z
    .string()
    .max(200)
    .regex(
      /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/,
      'must be a lowercase DNS subdomain (for example apps.localhost)',
    ),
});

/**
 * Builds the master's configuration from the environment and command-line options (options
 * win). Throws an Error listing every invalid setting.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  options: MasterOptions = {},
): MasterConfig {
  const pick = <K extends keyof typeof ENV>(key: K): string | number | boolean | undefined => {
    const value = options[key];
    if (value !== undefined && value !== '') return value;
    const fromEnv = env[ENV[key]];
    return fromEnv === '' ? undefined : fromEnv;
  };
  const defaultDataDir = env.HOME ? join(env.HOME, '.slipway', 'data') : '';
  const input = {
    dataDir: pick('dataDir') ?? defaultDataDir,
    listen: pick('listen') ?? DEFAULT_LISTEN,
    storeUrl: pick('storeUrl'),
    compactionIntervalSeconds: pick('compactionIntervalSeconds') ?? 300,
    logLevel: pick('logLevel') ?? 'info',
    shutdownTimeoutSeconds: pick('shutdownTimeoutSeconds') ?? 10,
    controllers: pick('controllers') ?? true,
    nodeMonitorGracePeriodSeconds: pick('nodeMonitorGracePeriodSeconds') ?? 40,
    podEvictionTimeoutSeconds: pick('podEvictionTimeoutSeconds') ?? 300,
    registry: pick('registry'),
    allowedRegistriesForImport: pick('allowedRegistriesForImport'),
    scheduledImageImportIntervalSeconds:
      pick('scheduledImageImportIntervalSeconds') ??
      DEFAULT_SCHEDULED_IMAGE_IMPORT_INTERVAL_SECONDS,
    allowFileGitSources: pick('allowFileGitSources') ?? false,
    binaryBuildMaxBytes: pick('binaryBuildMaxBytes') ?? DEFAULT_BINARY_BUILD_MAX_BYTES,
    serviceCidr: pick('serviceCidr') ?? DEFAULT_SERVICE_CIDR,
    serviceNodePortRange: pick('serviceNodePortRange') ?? DEFAULT_NODE_PORT_RANGE,
    routeSubdomain: pick('routeSubdomain') ?? DEFAULT_ROUTE_SUBDOMAIN,
  };
  const result = schema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.join('.') || 'config'}: ${i.message}`,
    );
    throw new Error(`invalid master configuration: ${problems.join('; ')}`);
  }
  const c = result.data;
  const dataDir = isAbsolute(c.dataDir) ? c.dataDir : resolve(c.dataDir);
  return {
    dataDir,
    listen: c.listen,
    storeUrl: c.storeUrl ?? `sqlite://${join(dataDir, 'state.db')}`,
    compactionIntervalSeconds: c.compactionIntervalSeconds,
    logLevel: c.logLevel,
    shutdownTimeoutSeconds: c.shutdownTimeoutSeconds,
    controllers: c.controllers,
    nodeMonitorGracePeriodSeconds: c.nodeMonitorGracePeriodSeconds,
    podEvictionTimeoutSeconds: c.podEvictionTimeoutSeconds,
    registry: c.registry,
    allowedRegistriesForImport: c.allowedRegistriesForImport,
    scheduledImageImportIntervalSeconds: c.scheduledImageImportIntervalSeconds,
    allowFileGitSources: c.allowFileGitSources,
    binaryBuildMaxBytes: c.binaryBuildMaxBytes,
    serviceCidr: c.serviceCidr,
    serviceNodePortRange: c.serviceNodePortRange,
    routeSubdomain: c.routeSubdomain,
  };
}

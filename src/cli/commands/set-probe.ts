/**
 * `set probe`, as `oc set probe` has it: adds, changes or removes the liveness, readiness and
 * startup probes of a pod template's containers.
 *
 *   set probe dc/web --readiness --get-url=http://:8080/healthz --initial-delay-seconds=5
 *   set probe dc/web --liveness --open-tcp=8080
 *   set probe dc/web --liveness -- cat /tmp/healthy
 *   set probe dc/web --readiness --period-seconds=20      (an existing probe's timing only)
 *   set probe dc/web --liveness --readiness --remove
 *
 * A handler replaces the probe's handler; timing flags change only what they name. Written
 * back with the resourceVersion read, like the other `set` commands.
 */
import type { Command } from 'commander';
import type { Container } from '../../api/index.js';
import { jsonEqual } from '../../api/merge-patch.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { qualifiedName } from '../resources.js';
import { targetContainers } from './set-targets.js';

type ProbeField = 'livenessProbe' | 'readinessProbe' | 'startupProbe';
type Probe = NonNullable<Container[ProbeField]>;
type Handler = Pick<Probe, 'exec' | 'httpGet' | 'tcpSocket'>;

const TIMINGS = {
  initialDelaySeconds: { flag: '--initial-delay-seconds', min: 0 },
  timeoutSeconds: { flag: '--timeout-seconds', min: 1 },
  periodSeconds: { flag: '--period-seconds', min: 1 },
  successThreshold: { flag: '--success-threshold', min: 1 },
  failureThreshold: { flag: '--failure-threshold', min: 1 },
} as const;
type Timing = keyof typeof TIMINGS;

export interface ProbeOptions {
  namespace?: string;
  containers: string;
  liveness?: boolean;
  readiness?: boolean;
  startup?: boolean;
  remove?: boolean;
  getUrl?: string;
  openTcp?: string;
  initialDelaySeconds?: string;
  timeoutSeconds?: string;
  periodSeconds?: string;
  successThreshold?: string;
  failureThreshold?: string;
}

export interface ProbeChange {
  fields: ProbeField[];
  remove: boolean;
  handler?: Handler;
  timings: Partial<Record<Timing, number>>;
}

/** `http://:8080/healthz`, `https://host:8443/x`: an httpGet handler. */
export function parseGetUrl(value: string): Handler {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // `http://:8080/path` has an empty host, which WHATWG URLs refuse: parse it by hand.
    const m = /^([a-z][a-z0-9+.-]*):\/\/:(\d+)(\/.*)?$/i.exec(value);
    if (!m) throw new CliError(`--get-url "${value}": expected a URL such as http://:8080/healthz`);
    if (!/^https?$/i.test(m[1]!)) {
      throw new CliError(`--get-url "${value}": the scheme must be http or https`);
    }
    return {
      httpGet: {
        scheme: m[1]!.toUpperCase() as 'HTTP' | 'HTTPS',
        port: Number(m[2]),
        path: m[3] ?? '/',
      },
    };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`--get-url "${value}": the scheme must be http or https`);
  }
  const https = url.protocol === 'https:';
  return {
    httpGet: {
      scheme: https ? 'HTTPS' : 'HTTP',
      port: url.port ? Number(url.port) : https ? 443 : 80,
      path: `${url.pathname}${url.search}`,
      ...(url.hostname ? { host: url.hostname } : {}),
    },
  };
}

function parseTcp(value: string): Handler {
  if (/^\d+$/.test(value)) {
    const port = Number(value);
    if (port >= 1 && port <= 65535) return { tcpSocket: { port } };
  } else if (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value) && value.length <= 15) {
    return { tcpSocket: { port: value } };
  }
  throw new CliError(`--open-tcp "${value}": expected a port number (1-65535) or a port name`);
}

/** The change the flags and the command after `--` ask for; CliError for a contradiction. */
export function probeChange(opts: ProbeOptions, command: readonly string[]): ProbeChange {
  const fields: ProbeField[] = [];
  if (opts.liveness) fields.push('livenessProbe');
  if (opts.readiness) fields.push('readinessProbe');
  if (opts.startup) fields.push('startupProbe');
  if (fields.length === 0) {
    throw new CliError('you must specify one of --liveness, --readiness or --startup, or several');
  }
  const handlers = [
    opts.getUrl === undefined ? undefined : parseGetUrl(opts.getUrl),
    opts.openTcp === undefined ? undefined : parseTcp(opts.openTcp),
    command.length === 0 ? undefined : ({ exec: { command: [...command] } } satisfies Handler),
  ].filter((h): h is Handler => h !== undefined);
  if (handlers.length > 1) {
    throw new CliError('give only one of --get-url, --open-tcp or a command after --');
  }
  const timings: Partial<Record<Timing, number>> = {};
  for (const [key, { flag, min }] of Object.entries(TIMINGS) as [
    Timing,
    (typeof TIMINGS)[Timing],
  ][]) {
    const raw = opts[key];
    if (raw === undefined) continue;
    if (!/^\d+$/.test(raw) || Number(raw) < min) {
      throw new CliError(`${flag} "${raw}": expected a whole number of at least ${min}`);
    }
    timings[key] = Number(raw);
  }
  if (opts.remove) {
    if (handlers.length > 0 || Object.keys(timings).length > 0) {
      throw new CliError('--remove cannot be combined with a handler or timing flags');
    }
    return { fields, remove: true, timings };
  }
  if (handlers.length === 0 && Object.keys(timings).length === 0) {
    throw new CliError(
      'give a handler (--get-url, --open-tcp or a command after --), timing flags, or --remove',
    );
  }
  return { fields, remove: false, ...(handlers[0] ? { handler: handlers[0] } : {}), timings };
}

/**
 * Applies the change to the containers; true when anything changed. A container without the
 * probe gets one only with a handler (CliError otherwise, naming it).
 */
export function applyProbeChange(containers: readonly Container[], change: ProbeChange): boolean {
  let changed = false;
  for (const c of containers) {
    for (const field of change.fields) {
      const before = structuredClone(c[field] ?? null);
      if (change.remove) {
        delete c[field];
      } else {
        const current = c[field];
        if (!current && !change.handler) {
          throw new CliError(
            `container "${c.name}" has no ${field.replace('Probe', '')} probe to change; give a handler (--get-url, --open-tcp or a command after --)`,
          );
        }
        const base: Probe = { ...(current ?? {}) };
        if (change.handler) {
          delete base.exec;
          delete base.httpGet;
          delete base.tcpSocket;
          Object.assign(base, structuredClone(change.handler));
        }
        Object.assign(base, change.timings);
        c[field] = base;
      }
      if (!jsonEqual(c[field] ?? null, before)) changed = true;
    }
  }
  return changed;
}

async function setProbe(ctx: CliContext, args: string[], opts: ProbeOptions): Promise<void> {
  // Commander passes what follows `--` on as operands, after the resources.
  const exec = ctx.afterDoubleDash;
  const resources = args.slice(0, args.length - exec.length);
  const change = probeChange(opts, exec);
  const client = await ctx.client();
  const targets = await targetContainers(ctx, resources, opts.namespace, opts.containers);
  // Every object is changed in memory first: one that cannot take the change stops the command
  // before anything is written.
  const changed = targets.map(({ containers }) => applyProbeChange(containers, change));
  for (const [i, { def, obj, name }] of targets.entries()) {
    if (!changed[i]) {
      ctx.out(`${qualifiedName(def, name)} not changed`);
      continue;
    }
    await client.update(def, obj);
    ctx.out(`${qualifiedName(def, name)} probes updated`);
  }
}

export function registerSetProbe(set: Command, ctx: CliContext): void {
  set
    .command('probe')
    .description(
      'Add, change or remove liveness, readiness and startup probes: set probe dc/NAME --readiness --get-url=http://:8080/healthz',
    )
    .argument('<args...>', 'TYPE/NAME..., then -- COMMAND [ARGS...] for an exec probe')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .option('-c, --containers <name>', 'the containers to change (a name or glob)', '*')
    .option('--liveness', 'the liveness probe')
    .option('--readiness', 'the readiness probe')
    .option('--startup', 'the startup probe')
    .option('--remove', 'remove the probes named')
    .option('--get-url <url>', 'probe with an HTTP GET, e.g. http://:8080/healthz')
    .option('--open-tcp <port>', 'probe by opening a TCP connection to this port (number or name)')
    .option('--initial-delay-seconds <n>', 'seconds after the container starts before probing')
    .option('--timeout-seconds <n>', 'seconds a probe may take')
    .option('--period-seconds <n>', 'seconds between probes')
    .option('--success-threshold <n>', 'successes in a row to count as passing')
    .option('--failure-threshold <n>', 'failures in a row to count as failing')
    .action((args: string[], opts: ProbeOptions) => setProbe(ctx, args, opts));
}

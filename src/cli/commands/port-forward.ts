/**
 * `slipway port-forward TYPE/NAME [LOCAL:]REMOTE...`: listens on local ports and joins each
 * connection to a connection to REMOTE inside one pod, through the master and the pod's node
 * (`pods/NAME/portforward`, one WebSocket per connection). A Service or workload names a running
 * pod by its selector; a Service's port is translated to its target port, as kubectl does.
 * Runs until interrupted.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Command } from 'commander';
import { isApiError, type ApiError } from '../../api/errors.js';
import { podKind } from '../../api/kinds/index.js';
import type { Pod, Service } from '../../api/index.js';
import type { ApiClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { interruptSignal } from '../io.js';
import { parsePodArg, resolvePod, type PodArg } from '../pod-target.js';

/** One `[LOCAL:]REMOTE` argument; LOCAL 0 means any free port. REMOTE may be a port name. */
export interface PortSpec {
  local: number;
  remote: number | string;
}

const PORT_NAME = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

function portNumber(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** `8080`, `8888:8080`, `:8080` (any free local port), `8888:http` (a named port). */
export function parsePortSpecs(args: readonly string[]): PortSpec[] {
  if (args.length === 0) throw new CliError('at least 1 PORT is required for port-forward');
  return args.map((arg) => {
    const parts = arg.split(':');
    const bad = (): CliError =>
      new CliError(
        `invalid port specification "${arg}": use [LOCAL_PORT:]REMOTE_PORT with ports from 1 to 65535 (LOCAL_PORT may be empty for any free port)`,
      );
    if (parts.length > 2) throw bad();
    const remoteText = parts.at(-1)!;
    const remote = portNumber(remoteText) ?? (PORT_NAME.test(remoteText) ? remoteText : undefined);
    if (remote === undefined) throw bad();
    if (parts.length === 1) {
      if (typeof remote === 'string') {
        throw new CliError(
          `invalid port specification "${arg}": a named port needs a local port (LOCAL_PORT:${remote})`,
        );
      }
      return { local: remote, remote };
    }
    const localText = parts[0]!;
    const local = localText === '' ? 0 : portNumber(localText);
    if (local === undefined) throw bad();
    return { local, remote };
  });
}

/** A named port of the pod's containers, as a number. */
function containerPortNamed(pod: Pod, name: string): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    const port = (c.ports ?? []).find((p) => p.name === name);
    if (port) return port.containerPort;
  }
  return undefined;
}

/** What a REMOTE of a Service means inside the pod: its target port. */
export function serviceTargetPort(service: Service, pod: Pod, remote: number | string): number {
  const name = service.metadata.name ?? '';
  const ports = service.spec?.ports ?? [];
  const port =
    typeof remote === 'number'
      ? ports.find((p) => p.port === remote)
      : ports.find((p) => p.name === remote);
  if (!port) throw new CliError(`Service ${name} does not have a service port ${remote}`);
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (/^[0-9]+$/.test(target)) return Number(target);
  const resolved = containerPortNamed(pod, target);
  if (resolved === undefined) {
    throw new CliError(
      `Pod '${pod.metadata.name ?? ''}' does not have a named port '${target}' (the target port of service port ${port.port})`,
    );
  }
  return resolved;
}

interface Target {
  pod: Pod;
  /** The pod-side port of each spec. */
  remotes: number[];
}

async function resolveTarget(
  ctx: CliContext,
  client: ApiClient,
  namespace: string,
  arg: PodArg,
  specs: readonly PortSpec[],
): Promise<Target> {
  const resolved = await resolvePod(ctx, client, namespace, arg);
  const pod = resolved.pod ?? (await client.get<Pod>(podKind, resolved.name, { namespace }));
  const phase = pod.status?.phase ?? 'Pending';
  if (phase !== 'Running') {
    throw new CliError(
      `unable to forward port because pod is not running. Current status=${phase}`,
    );
  }
  const { service } = resolved;
  const remotes = specs.map((spec) => {
    if (service) return serviceTargetPort(service, pod, spec.remote);
    if (typeof spec.remote === 'number') return spec.remote;
    const port = containerPortNamed(pod, spec.remote);
    if (port === undefined) {
      throw new CliError(
        `Pod '${pod.metadata.name ?? ''}' does not have a named port '${spec.remote}'`,
      );
    }
    return port;
  });
  return { pod, remotes };
}

function hostPort(address: AddressInfo): string {
  return address.family === 'IPv6'
    ? `[${address.address}]:${address.port}`
    : `${address.address}:${address.port}`;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Errors after which no connection can succeed: the command stops with them. */
/** The pod is gone or the user may no longer reach it: no later connection can work. */
function fatal(err: unknown): err is ApiError {
  return isApiError(err) && [401, 403, 404].includes(err.code);
}

export interface PortForwardRequest {
  namespace: string;
  target: PodArg;
  ports: PortSpec[];
  addresses: string[];
}

/** Forwards until interrupted (or until a connection shows the pod is gone). */
export async function runPortForward(ctx: CliContext, req: PortForwardRequest): Promise<void> {
  const client = await ctx.client();
  const { pod, remotes } = await resolveTarget(ctx, client, req.namespace, req.target, req.ports);
  const podName = pod.metadata.name ?? '';
  const { signal, release } = interruptSignal(ctx.io);
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  let failure: ApiError | undefined;
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  signal.addEventListener('abort', () => stop(), { once: true });

  const handle = (socket: Socket, local: number, remote: number): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.pause();
    ctx.out(`Handling connection for ${local}`);
    client.portForward(req.namespace, podName, remote).then(
      (conn) => {
        if (socket.destroyed) {
          conn.stream.destroy();
          return;
        }
        conn.stream.on('error', () => socket.destroy());
        socket.on('close', () => conn.stream.destroy());
        conn.stream.on('end', () => socket.end());
        socket.pipe(conn.stream);
        conn.stream.pipe(socket, { end: false });
        socket.resume();
        void conn.error.then((message) => {
          if (message) ctx.err(`an error occurred forwarding ${local} -> ${remote}: ${message}`);
        });
      },
      (err: unknown) => {
        socket.destroy();
        if (fatal(err)) {
          failure ??= err;
          stop();
          return;
        }
        ctx.err(`an error occurred forwarding ${local} -> ${remote}: ${(err as Error).message}`);
      },
    );
  };

  try {
    for (const [i, spec] of req.ports.entries()) {
      const remote = remotes[i]!;
      let local = spec.local;
      let bound = 0;
      for (const address of req.addresses) {
        const server = createServer((socket) => handle(socket, local, remote));
        try {
          await listen(server, address, local);
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          // `localhost` means both loopbacks where there are both; IPv6 may be missing.
          if (address === '::1' && req.addresses.includes('127.0.0.1') && bound > 0) continue;
          throw new CliError(
            `unable to listen on ${address}:${local || 'any port'}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`,
          );
        }
        servers.push(server);
        bound += 1;
        const addressInfo = server.address() as AddressInfo;
        // A free port chosen for the first address is used for the others too.
        local = addressInfo.port;
        ctx.out(`Forwarding from ${hostPort(addressInfo)} -> ${remote}`);
      }
    }
    await stopped;
  } finally {
    release();
    for (const server of servers) server.close();
    for (const socket of sockets) socket.destroy();
  }
  if (failure) throw failure;
}

interface PortForwardOptions {
  address: string;
  namespace?: string;
}

/** `--address localhost,10.0.0.5`: `localhost` is 127.0.0.1 and ::1. */
export function parseAddresses(value: string): string[] {
  const out: string[] = [];
  for (const raw of value.split(',')) {
    const a = raw.trim();
    if (a === 'localhost') out.push('127.0.0.1', '::1');
    else if (a) out.push(a);
  }
  if (out.length === 0) throw new CliError('--address: at least one address is required');
  return [...new Set(out)];
}

export function registerPortForwardCommand(program: Command, ctx: CliContext): void {
  program
    .command('port-forward')
    .description(
      'Forward local ports to a pod: port-forward TYPE/NAME [LOCAL_PORT:]REMOTE_PORT [...]',
    )
    .argument('<target>', 'POD, pod/NAME, svc/NAME, or a workload (dc/NAME, deployment/NAME, ...)')
    .argument('<ports...>', '[LOCAL_PORT:]REMOTE_PORT; LOCAL_PORT empty for any free port')
    .option(
      '--address <addresses>',
      'local addresses to listen on, comma-separated (localhost: 127.0.0.1 and ::1)',
      'localhost',
    )
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action(async (target: string, ports: string[], opts: PortForwardOptions) => {
      await runPortForward(ctx, {
        namespace: await ctx.namespace(opts.namespace),
        target: parsePodArg(ctx, target, 'forward to'),
        ports: parsePortSpecs(ports),
        addresses: parseAddresses(opts.address),
      });
    });
}

/**
 * Kubernetes handlers (exec, httpGet, tcpSocket), shared by probes and lifecycle hooks: an exec
 * runs in the container through the runtime; HTTP and TCP go from the agent to the pod IP,
 * which the agent reaches over the Docker bridge.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Container } from '../../src/api/index.js';
import { isRuntimeError } from '../docker/errors.js';
import type { DockerRuntime } from '../docker/runtime.js';

export interface HandlerOutcome {
  ok: boolean;
  /** What a failure looked like, in kubelet's words where it has them. */
  output: string;
}

/** The handler fields of a probe or lifecycle hook (loosely typed: specs keep unknown fields). */
export interface Handler {
  exec?: { command: string[] } | undefined;
  httpGet?:
    | {
        path?: string | undefined;
        port: number | string;
        host?: string | undefined;
        scheme?: 'HTTP' | 'HTTPS' | undefined;
        httpHeaders?: { name: string; value: string }[] | undefined;
      }
    | undefined;
  tcpSocket?: { port: number | string; host?: string | undefined } | undefined;
}

export interface HandlerTarget {
  containerId: string;
  podIP: string | undefined;
  /** The container's spec, for named ports. */
  spec: Pick<Container, 'ports'>;
}

export type ExecRuntime = Pick<DockerRuntime, 'execInContainer'>;

/** A number, a numeric string, or the name of one of the container's ports. */
export function resolvePort(port: number | string, spec: Pick<Container, 'ports'>): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = (spec.ports ?? []).find((p) => p.name === port);
  if (!named) throw new Error(`port "${port}" is not a named port of the container`);
  return named.containerPort;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function runExec(
  runtime: ExecRuntime,
  containerId: string,
  command: string[],
  timeoutMs: number,
): Promise<HandlerOutcome> {
  try {
    const r = await runtime.execInContainer(containerId, command, {
      timeoutMs,
      maxOutputBytes: 10 * 1024,
    });
    const output = `${r.stdout}${r.stderr}`.trim();
    return r.exitCode === 0
      ? { ok: true, output }
      : { ok: false, output: output || `command exited with code ${r.exitCode}` };
  } catch (err) {
    if (isRuntimeError(err, 'Timeout')) {
      return {
        ok: false,
        output: `command ${JSON.stringify(command)} timed out after ${timeoutMs / 1000}s`,
      };
    }
    return { ok: false, output: (err as Error).message };
  }
}

/** Where a httpGet or tcpSocket handler connects: its host (default: the pod IP) and its port
 * (a number, or a container port's name), or the failure to report. */
function resolveEndpoint(
  h: { host?: string | undefined; port: number | string },
  target: HandlerTarget,
): { host: string; port: number } | HandlerOutcome {
  let port: number;
  try {
    port = resolvePort(h.port, target.spec);
  } catch (err) {
    return { ok: false, output: (err as Error).message };
  }
  const host = h.host || target.podIP;
  if (!host) return { ok: false, output: 'the pod has no IP yet' };
  return { host, port };
}

export function runHttpGet(
  h: NonNullable<Handler['httpGet']>,
  target: HandlerTarget,
  timeoutMs: number,
): Promise<HandlerOutcome> {
  const endpoint = resolveEndpoint(h, target);
  if ('ok' in endpoint) return Promise.resolve(endpoint);
  const { host, port } = endpoint;
  const scheme = h.scheme === 'HTTPS' ? 'https' : 'http';
  const path = h.path ? (h.path.startsWith('/') ? h.path : `/${h.path}`) : '/';
  const url = `${scheme}://${hostPort(host, port)}${path}`;
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/slipway', Accept: '*/*' };
  for (const hd of h.httpHeaders ?? []) headers[hd.name] = hd.value;
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: HandlerOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const onResponse = (res: IncomingMessage): void => {
      const code = res.statusCode ?? 0;
      res.resume();
      res.destroy();
      done(
        code >= 200 && code < 400
          ? { ok: true, output: `HTTP ${code}` }
          : { ok: false, output: `HTTP probe failed with statuscode: ${code}` },
      );
    };
    const options = {
      host: host.replace(/^\[|\]$/g, ''),
      port,
      path,
      method: 'GET',
      headers,
      agent: false as const,
    };
    const req =
      scheme === 'https'
        ? httpsRequest({ ...options, rejectUnauthorized: false }, onResponse)
        : httpRequest(options, onResponse);
    const timer = setTimeout(() => {
      req.destroy();
      done({
        ok: false,
        output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
      });
    }, timeoutMs);
    req.on('error', (err) => done({ ok: false, output: `Get "${url}": ${describe(err)}` }));
    req.end();
  });
}

export function runTcpSocket(
  h: NonNullable<Handler['tcpSocket']>,
  target: HandlerTarget,
  timeoutMs: number,
): Promise<HandlerOutcome> {
  const endpoint = resolveEndpoint(h, target);
  if ('ok' in endpoint) return Promise.resolve(endpoint);
  const { host, port } = endpoint;
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, output: `dial tcp ${hostPort(host, port)}: i/o timeout` });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: true, output: '' });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: false, output: `dial tcp ${hostPort(host, port)}: ${describe(err)}` });
    });
  });
}

/** Runs whichever handler is set; a handler with none fails. */
export async function runHandler(
  runtime: ExecRuntime,
  handler: Handler,
  target: HandlerTarget,
  timeoutMs: number,
): Promise<HandlerOutcome> {
  if (handler.exec) return runExec(runtime, target.containerId, handler.exec.command, timeoutMs);
  if (handler.httpGet) return runHttpGet(handler.httpGet, target, timeoutMs);
  if (handler.tcpSocket) return runTcpSocket(handler.tcpSocket, target, timeoutMs);
  return { ok: false, output: 'the handler names no action (exec, httpGet or tcpSocket)' };
}

function describe(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connect: connection refused';
  if (code === 'EHOSTUNREACH') return 'connect: no route to host';
  if (code === 'ECONNRESET') return 'read: connection reset by peer';
  return err.message;
}

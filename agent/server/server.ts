/**
 * The agent's own HTTP server, the kubelet's port: the master proxies `logs`, `exec` and
 * `portforward` of the pods on this node to it. Every request but /healthz must carry the master's credential for
 * exactly that request (auth.ts); the container is found through the runtime's inventory
 * (containers.ts), never by a name or ID taken from the request.
 *
 *   GET /healthz                                  ok (no credential)
 *   GET /containerLogs/NS/POD/CONTAINER?follow=&previous=&tailLines=&timestamps=&sinceSeconds=
 *   GET /exec/NS/POD/CONTAINER?command=..&stdin=&stdout=&stderr=&tty=   (WebSocket upgrade,
 *       subprotocol v5.channel.k8s.io or v4.channel.k8s.io)
 *   GET /portForward/NS/POD?port=N[&port=M]      (WebSocket upgrade, v4.channel.k8s.io)
 *
 * Errors are Kubernetes `Status` objects. Neither credentials nor queries (exec commands may hold
 * secrets) are logged.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { ApiError, isApiError } from '../../src/api/errors.js';
import { POD_NETWORK_CONTAINER } from '../../src/client/agent-credential.js';
import { EXEC_PROTOCOL_V4, EXEC_PROTOCOL_V5 } from '../../src/client/exec-protocol.js';
import {
  parseForwardedPorts,
  PORT_FORWARD_PROTOCOL,
} from '../../src/client/port-forward-protocol.js';
import { isRuntimeError } from '../docker/errors.js';
import type { AgentAuthenticator, AgentRequest } from './auth.js';
import { execInstance, logInstance, sandboxInstance, type InstanceQuery } from './containers.js';
import { parseExecParams, runExec } from './exec.js';
import { runPortForward } from './port-forward.js';
import { parseLogParams, streamLogLines, streamLogs, type LogParams } from './logs.js';
import type { AgentRuntime } from './runtime.js';
import type { Readable } from 'node:stream';

/**
 * Logs the agent keeps itself rather than Docker: a build pod's build log. `serves` says
 * whether a request is for such a log (throwing ApiError when it is one that cannot be served:
 * not started yet, `previous`); `open` gives its lines (LogLine objects) until `signal` aborts.
 */
export interface AgentLogSource {
  serves(query: InstanceQuery, params: LogParams): Promise<boolean>;
  open(query: InstanceQuery, params: LogParams, signal: AbortSignal): Promise<Readable>;
}

/** Kubernetes' kubelet port; the agent listens there unless configured otherwise. */
export const DEFAULT_AGENT_PORT = 10250;

export interface AgentServerOptions {
  runtime: AgentRuntime;
  nodeName: string;
  /** Where to listen; `{ host: '0.0.0.0', port: 10250 }` in production, port 0 in tests. */
  listen: { host: string; port: number };
  /** Checks the master's credential (joinTokenAuthenticator in production). */
  authenticate: AgentAuthenticator;
  logger: Logger;
  /** Most log and exec streams served at once; more are refused with 429. Default 128. */
  maxStreams?: number;
  /** Build logs (agent/builds); without it every log is a container's. */
  buildLogs?: AgentLogSource;
}

export interface RunningAgentServer {
  /** The port actually bound: report it as status.daemonEndpoints.kubeletEndpoint.Port. */
  port: number;
  /** Ends every stream, stops listening and closes every connection. */
  close(): Promise<void>;
}

/** The fields of a Node's status that tell the master where this server is. */
export function daemonEndpointsStatus(port: number): {
  daemonEndpoints: { kubeletEndpoint: { Port: number } };
} {
  return { daemonEndpoints: { kubeletEndpoint: { Port: port } } };
}

interface Route {
  verb: 'logs' | 'exec' | 'portforward';
  namespace: string;
  pod: string;
  container: string;
  query: URLSearchParams;
  target: string;
}

function parsePath(req: IncomingMessage): Route | 'healthz' {
  const target = req.url ?? '/';
  const url = new URL(target, 'http://agent');
  const raw = url.pathname.split('/').slice(1);
  if (raw.length === 1 && raw[0] === 'healthz') return 'healthz';
  let seg: string[];
  try {
    seg = raw.map((s) => decodeURIComponent(s));
  } catch {
    throw ApiError.badRequest('the request path is not validly percent-encoded');
  }
  const verb =
    seg[0] === 'containerLogs'
      ? 'logs'
      : seg[0] === 'exec'
        ? 'exec'
        : seg[0] === 'portForward'
          ? 'portforward'
          : undefined;
  // `/portForward/NS/POD` names no container: it reaches the pod's network.
  const length = verb === 'portforward' ? 3 : 4;
  if (!verb || seg.length !== length || seg.slice(1).some((s) => s === '')) {
    throw new ApiError('NotFound', `the node agent has no handler for path "${url.pathname}"`);
  }
  return {
    verb,
    namespace: seg[1]!,
    pod: seg[2]!,
    container: verb === 'portforward' ? POD_NETWORK_CONTAINER : seg[3]!,
    query: url.searchParams,
    target,
  };
}

function statusBody(err: ApiError): string {
  return JSON.stringify(err.toStatus());
}

function toApiError(err: unknown): ApiError {
  if (isApiError(err)) return err;
  if (isRuntimeError(err, 'ContainerNotFound')) {
    return ApiError.badRequest(`the container is gone: ${err.message}`);
  }
  if (isRuntimeError(err, 'EngineUnavailable')) {
    return new ApiError(
      'ServiceUnavailable',
      `the node's Docker engine is unavailable: ${err.message}`,
    );
  }
  return new ApiError('InternalError', `the node agent failed: ${(err as Error).message}`);
}

/** Writes an HTTP error on a socket that asked for an upgrade, then closes it. */
function rejectUpgrade(socket: Duplex, err: ApiError): void {
  const body = statusBody(err);
  const extra = err.code === 401 ? 'WWW-Authenticate: Bearer realm="slipway-agent"\r\n' : '';
  socket.end(
    `HTTP/1.1 ${err.code} ${STATUS_CODES[err.code] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      extra +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (err.code === 401) headers['WWW-Authenticate'] = 'Bearer realm="slipway-agent"';
  res.writeHead(err.code, headers).end(statusBody(err));
}

function offeredProtocols(req: IncomingMessage): Set<string> {
  const header = req.headers['sec-websocket-protocol'];
  return new Set(
    (header ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  );
}

function listen(
  server: ReturnType<typeof createServer>,
  host: string,
  port: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Starts the agent's server; resolves once it listens. */
export async function startAgentServer(options: AgentServerOptions): Promise<RunningAgentServer> {
  const { runtime, nodeName, authenticate } = options;
  const log = options.logger.child({ component: 'agent-server', node: nodeName });
  const maxStreams = options.maxStreams ?? 128;
  const streams = new Set<AbortController>();
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 16 * 1024 * 1024,
    handleProtocols: (protocols, req) =>
      req.url?.startsWith('/portForward/')
        ? protocols.has(PORT_FORWARD_PROTOCOL) && PORT_FORWARD_PROTOCOL
        : protocols.has(EXEC_PROTOCOL_V5)
          ? EXEC_PROTOCOL_V5
          : protocols.has(EXEC_PROTOCOL_V4)
            ? EXEC_PROTOCOL_V4
            : false,
  });

  /** Authenticates, then finds the instance; throws ApiError. */
  const admit = (
    route: Route,
    remote: string | undefined,
    authorization: string | undefined,
  ): { query: InstanceQuery } => {
    const request: AgentRequest = {
      verb: route.verb,
      namespace: route.namespace,
      pod: route.pod,
      container: route.container,
      target: route.target,
    };
    const result = authenticate(authorization, request);
    if (!result.ok) {
      log.warn(
        { remote, verb: route.verb, reason: result.reason },
        'refused a request without a valid credential',
      );
      throw new ApiError('Unauthorized', 'Unauthorized: only the master may call the node agent');
    }
    if (streams.size >= maxStreams) {
      throw new ApiError(
        'TooManyRequests',
        `too many log, exec and port-forward streams on node "${nodeName}"; try again later`,
      );
    }
    return {
      query: {
        podUid: result.podUid,
        namespace: route.namespace,
        pod: route.pod,
        container: route.container,
      },
    };
  };

  const track = (): AbortController => {
    const controller = new AbortController();
    streams.add(controller);
    return controller;
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const route = parsePath(req);
      if (req.method !== 'GET') {
        throw new ApiError('MethodNotAllowed', `${req.method} is not allowed here`);
      }
      if (route === 'healthz') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
        return;
      }
      const { query } = admit(route, req.socket.remoteAddress, req.headers.authorization);
      if (route.verb === 'exec') {
        throw ApiError.badRequest(
          `exec needs a WebSocket upgrade with subprotocol ${EXEC_PROTOCOL_V5} or ${EXEC_PROTOCOL_V4}`,
        );
      }
      if (route.verb === 'portforward') {
        throw ApiError.badRequest(
          `port-forward needs a WebSocket upgrade with subprotocol ${PORT_FORWARD_PROTOCOL}`,
        );
      }
      const params = parseLogParams(route.query);
      const buildLogs = options.buildLogs;
      if (buildLogs && (await buildLogs.serves(query, params))) {
        const controller = track();
        try {
          log.debug(
            { pod: `${query.namespace}/${query.pod}`, container: query.container },
            'serving a build log',
          );
          await streamLogLines(
            (s) => buildLogs.open(query, params, s),
            params,
            req,
            res,
            controller.signal,
          );
        } finally {
          streams.delete(controller);
        }
        return;
      }
      const instance = logInstance(await runtime.listPods(), query, params.previous);
      const controller = track();
      try {
        log.debug(
          {
            pod: `${query.namespace}/${query.pod}`,
            container: query.container,
            follow: params.follow,
          },
          'serving logs',
        );
        await streamLogs(runtime, instance.id, params, req, res, controller.signal);
      } finally {
        streams.delete(controller);
      }
    } catch (err) {
      const apiError = toApiError(err);
      if (apiError.code >= 500) log.error({ err: (err as Error).message }, 'agent request failed');
      sendError(res, apiError);
    }
  };

  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    socket.on('error', () => undefined);
    try {
      const route = parsePath(req);
      if (route === 'healthz' || route.verb === 'logs' || req.method !== 'GET') {
        throw new ApiError(
          'NotFound',
          'only /exec/NS/POD/CONTAINER and /portForward/NS/POD take an upgrade',
        );
      }
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
        throw ApiError.badRequest('only WebSocket upgrades are supported');
      }
      const { query } = admit(route, req.socket.remoteAddress, req.headers.authorization);
      const protocols = offeredProtocols(req);
      if (route.verb === 'portforward') {
        if (!protocols.has(PORT_FORWARD_PROTOCOL)) {
          throw ApiError.badRequest(
            `port-forward needs the WebSocket subprotocol ${PORT_FORWARD_PROTOCOL}`,
          );
        }
        const ports = parseForwardedPorts(route.query.getAll('port'), 'port');
        const sandbox = sandboxInstance(await runtime.listPods(), query);
        const pod = `${query.namespace}/${query.pod}`;
        wss.handleUpgrade(req, socket, head, (ws) => {
          const controller = track();
          log.debug({ pod, ports }, 'port-forward started');
          runPortForward(ws, runtime, { sandboxId: sandbox.id, pod, ports }, controller.signal, log)
            .catch((err: unknown) =>
              log.error({ err: (err as Error).message }, 'port-forward failed'),
            )
            .finally(() => streams.delete(controller));
        });
        return;
      }
      if (!protocols.has(EXEC_PROTOCOL_V5) && !protocols.has(EXEC_PROTOCOL_V4)) {
        throw ApiError.badRequest(
          `exec needs the WebSocket subprotocol ${EXEC_PROTOCOL_V5} or ${EXEC_PROTOCOL_V4}`,
        );
      }
      const params = parseExecParams(route.query);
      const instance = execInstance(await runtime.listPods(), query);
      // A malformed handshake is answered by handleUpgrade itself; the callback then never runs.
      wss.handleUpgrade(req, socket, head, (ws) => {
        const controller = track();
        log.debug(
          { pod: `${query.namespace}/${query.pod}`, container: query.container, tty: params.tty },
          'exec started',
        );
        runExec(ws, runtime, instance.id, params, controller.signal, log)
          .catch((err: unknown) => log.error({ err: (err as Error).message }, 'exec failed'))
          .finally(() => streams.delete(controller));
      });
    } catch (err) {
      const apiError = toApiError(err);
      if (apiError.code >= 500) log.error({ err: (err as Error).message }, 'agent upgrade failed');
      rejectUpgrade(socket, apiError);
    }
  };

  const server = createServer({ noDelay: true }, (req, res) => {
    void onRequest(req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    void onUpgrade(req, socket, head);
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
  await listen(server, options.listen.host, options.listen.port);
  const { port } = server.address() as AddressInfo;
  log.info({ address: options.listen.host, port }, 'agent server listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const c of streams) c.abort();
        streams.clear();
        for (const ws of wss.clients) ws.terminate();
        server.closeAllConnections();
        await closed;
        wss.close();
      })()),
  };
}

/**
 * `pods/NAME/log`, `pods/NAME/exec` and `pods/NAME/portforward`: the master authorizes the user,
 * finds the pod's node and
 * the address and port its agent reports (status.addresses, status.daemonEndpoints), and proxies
 * to that agent with a credential signed for exactly this request (src/client/agent-credential.ts).
 * Logs are a chunked text stream; exec (`v5.channel.k8s.io` / `v4.channel.k8s.io`) and port-forward
 * (`v4.channel.k8s.io`) are WebSockets whose frames pass through unchanged, so what the agent
 * says (an exit status, a port's error) reaches the client as is.
 *
 * The agent is dialled before the client's WebSocket is accepted, so every failure up to then is
 * an ordinary HTTP error with a Status body.
 */
import { request as httpRequest, ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { ApiError, isStatus } from '../../src/api/errors.js';
import type { Node, Pod } from '../../src/api/index.js';
import { nodeKind, podKind } from '../../src/api/kinds/index.js';
import type { AnyKindDefinition } from '../../src/api/registry.js';
import {
  POD_NETWORK_CONTAINER,
  signAgentCredential,
  type AgentVerb,
} from '../../src/client/agent-credential.js';
import { describeNetworkError, errorFromResponse } from '../../src/client/api-client.js';
import { readResponse } from '../../src/client/channel-socket.js';
import { EXEC_PROTOCOL_V4, EXEC_PROTOCOL_V5 } from '../../src/client/exec-protocol.js';
import {
  parseForwardedPorts,
  PORT_FORWARD_PROTOCOL,
} from '../../src/client/port-forward-protocol.js';
import type { RuleAuthorizer } from '../auth/authorizer.js';
import type { UserInfo } from '../auth/user.js';
import type { ResourceStore } from './resources.js';
import type { ActiveWatches } from './watch-stream.js';

export interface PodProxyOptions {
  resources: ResourceStore;
  authorizer: RuleAuthorizer;
  /** The node-join token: the shared secret the agents' credentials are derived from. */
  joinToken: string | undefined;
  watches: ActiveWatches;
  logger: Logger;
  /** How long to wait for a node's agent to answer. Default 10 s. */
  dialTimeoutMs?: number;
}

/** A pod route: `/api/v1/namespaces/NS/pods/NAME/(log|exec|portforward)`. */
export interface PodRoute {
  def: AnyKindDefinition;
  namespace?: string | undefined;
  name?: string | undefined;
}

/** Sockets of upgrade requests, for the exec handler to take over (see apiUpgradeHandler). */
const upgrades = new WeakMap<IncomingMessage, { socket: Duplex; head: Buffer }>();

/**
 * The HTTP server's `upgrade` listener: runs WebSocket handshakes through the same express app
 * (request log, authentication, routing, Status errors) on a response bound to the raw socket;
 * only `pods/NAME/exec` and `pods/NAME/portforward` accept the upgrade, every other path answers
 * over HTTP and closes.
 */
export function apiUpgradeHandler(
  app: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on('error', () => undefined);
    if (req.method !== 'GET') {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    upgrades.set(req, { socket, head });
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    // An answer over HTTP (an error, or a path that takes no upgrade) ends the connection.
    res.on('finish', () => socket.end());
    app(req, res);
  };
}

/** The Node status fields that say where its agent listens (Kubernetes' names). */
interface AgentEndpointFields {
  addresses?: { type: string; address: string }[];
  daemonEndpoints?: { kubeletEndpoint?: { Port?: unknown } };
}

/** Where a node's agent listens, from its Node object. */
export function agentEndpoint(node: {
  status?: unknown;
}): { host: string; port: number } | undefined {
  const status = node.status as AgentEndpointFields | undefined;
  const port = status?.daemonEndpoints?.kubeletEndpoint?.Port;
  const addresses = status?.addresses ?? [];
  const host = ['InternalIP', 'ExternalIP', 'Hostname']
    .map((type) => addresses.find((a) => a.type === type && a.address)?.address)
    .find((a) => a !== undefined);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return;
  if (!host) return;
  return { host, port };
}

/** The container a request means: `container=`, or the pod's only container. */
export function selectContainer(pod: Pod, requested: string | undefined): string {
  const name = pod.metadata.name ?? '';
  const containers = (pod.spec?.containers ?? []).map((c) => c.name);
  const init = (pod.spec?.initContainers ?? []).map((c) => c.name);
  if (!requested) {
    if (containers.length === 1) return containers[0]!;
    const initPart = init.length ? ` or one of the init containers: [${init.join(' ')}]` : '';
    throw ApiError.badRequest(
      `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]${initPart}`,
    );
  }
  if (!containers.includes(requested) && !init.includes(requested)) {
    throw ApiError.badRequest(`container ${requested} is not valid for pod ${name}`);
  }
  return requested;
}

function boolParam(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  if (v === null || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw ApiError.badRequest(`invalid value for ${name}: "${v}" (expected true or false)`, [
    { field: name, message: `Invalid value: "${v}"`, reason: 'FieldValueInvalid' },
  ]);
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  if (!/^[0-9]{1,9}$/.test(v)) {
    throw ApiError.badRequest(
      `invalid value for ${name}: "${v}" (expected a non-negative integer)`,
      [{ field: name, message: `Invalid value: "${v}"`, reason: 'FieldValueInvalid' }],
    );
  }
  return Number(v);
}

function offeredProtocols(req: IncomingMessage, known: readonly string[]): string[] {
  return (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => known.includes(p));
}

/** Where the proxy sends one request. */
interface Upstream {
  pod: Pod;
  container: string;
  nodeName: string;
  host: string;
  port: number;
}

/** Output to one side is paused while more than this is queued for the other. */
const HIGH_WATER = 1024 * 1024;

export class PodProxy {
  private readonly resources: ResourceStore;
  private readonly authorizer: RuleAuthorizer;
  private readonly joinToken: string | undefined;
  private readonly watches: ActiveWatches;
  private readonly log: Logger;
  private readonly dialTimeoutMs: number;
  /** Protocol the agent chose, per client handshake, so the client gets the same. */
  private readonly chosen = new WeakMap<IncomingMessage, string>();
  private readonly wss: WebSocketServer;

  constructor(options: PodProxyOptions) {
    this.resources = options.resources;
    this.authorizer = options.authorizer;
    this.joinToken = options.joinToken || undefined;
    this.watches = options.watches;
    this.log = options.logger.child({ component: 'pod-proxy' });
    this.dialTimeoutMs = options.dialTimeoutMs ?? 10_000;
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: 16 * 1024 * 1024,
      handleProtocols: (_protocols, req) => this.chosen.get(req) ?? false,
    });
  }

  /** `GET .../pods/NAME/log` (verb get on pods/log). */
  async serveLog(route: PodRoute, req: Request, res: Response, user: UserInfo): Promise<void> {
    if (req.method !== 'GET') {
      throw new ApiError('MethodNotAllowed', `${req.method} is not allowed on pods/log`);
    }
    const { namespace, name } = this.authorize(route, user, 'get', 'log');
    await this.streamLog(namespace, name, req, res);
  }

  /**
   * The log of a container of pod `name`, streamed to `res`, for a caller that has already
   * authorized the request (pods/log above; builds/log for a build's pod).
   */
  async streamLog(namespace: string, name: string, req: Request, res: Response): Promise<void> {
    const query = new URL(req.originalUrl, 'http://master').searchParams;
    const params = {
      follow: boolParam(query, 'follow'),
      previous: boolParam(query, 'previous'),
      timestamps: boolParam(query, 'timestamps'),
      tailLines: intParam(query, 'tailLines'),
      sinceSeconds: intParam(query, 'sinceSeconds'),
    };
    const up = await this.upstream(namespace, name, query.get('container') ?? undefined, 'logs');
    const agentQuery = new URLSearchParams();
    for (const key of ['follow', 'previous', 'timestamps'] as const)
      if (params[key]) agentQuery.set(key, 'true');
    if (params.tailLines !== undefined) agentQuery.set('tailLines', String(params.tailLines));
    if (params.sinceSeconds !== undefined)
      agentQuery.set('sinceSeconds', String(params.sinceSeconds));
    const target = `/containerLogs/${this.podPath(namespace, name, up.container)}${agentQuery.size ? `?${agentQuery.toString()}` : ''}`;
    const authorization = this.credential(up, namespace, 'logs', target);

    const controller = new AbortController();
    const onClose = (): void => controller.abort();
    this.watches.add(controller);
    res.on('close', onClose);
    try {
      const upstream = await this.dialHttp(up, target, authorization, controller.signal);
      if (upstream.statusCode !== 200) {
        throw this.agentError(up, upstream.statusCode ?? 500, await readResponse(upstream));
      }
      res.status(200);
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.setHeader('Cache-Control', 'no-cache');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.flushHeaders();
      try {
        await pipeline(upstream, res, { signal: controller.signal });
      } catch (err) {
        // The client left, the master is shutting down, or the agent went away mid-stream:
        // the response is cut short (a chunked response without its end tells the client).
        if (!controller.signal.aborted)
          this.log.debug({ err: (err as Error).message, node: up.nodeName }, 'log stream broke');
        res.destroy();
      }
    } finally {
      res.off('close', onClose);
      this.watches.delete(controller);
      controller.abort();
    }
  }

  /** `GET .../pods/NAME/exec` with a WebSocket upgrade (verb create on pods/exec). */
  async serveExec(route: PodRoute, req: Request, res: Response, user: UserInfo): Promise<void> {
    const { namespace, name } = this.authorize(route, user, 'create', 'exec');
    const upgrade = upgrades.get(req);
    const offered = offeredProtocols(req, [EXEC_PROTOCOL_V5, EXEC_PROTOCOL_V4]);
    if (!upgrade || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      throw ApiError.badRequest(
        `exec needs a WebSocket upgrade with subprotocol ${EXEC_PROTOCOL_V5} or ${EXEC_PROTOCOL_V4}`,
      );
    }
    if (offered.length === 0) {
      throw ApiError.badRequest(
        `exec needs the WebSocket subprotocol ${EXEC_PROTOCOL_V5} or ${EXEC_PROTOCOL_V4}`,
      );
    }
    const query = new URL(req.originalUrl, 'http://master').searchParams;
    const command = query.getAll('command');
    if (command.length === 0 || command[0] === '') {
      throw ApiError.badRequest('you must specify at least one command for the container');
    }
    const flags = {
      stdin: boolParam(query, 'stdin'),
      stdout: boolParam(query, 'stdout'),
      stderr: boolParam(query, 'stderr'),
      tty: boolParam(query, 'tty'),
    };
    if (!flags.stdin && !flags.stdout && !flags.stderr) {
      throw ApiError.badRequest('you must specify at least one of stdin, stdout, stderr');
    }
    const up = await this.upstream(namespace, name, query.get('container') ?? undefined, 'exec');
    const agentQuery = new URLSearchParams();
    for (const c of command) agentQuery.append('command', c);
    for (const [k, v] of Object.entries(flags)) agentQuery.set(k, String(v));
    const target = `/exec/${this.podPath(namespace, name, up.container)}?${agentQuery.toString()}`;
    const authorization = this.credential(up, namespace, 'exec', target);

    await this.upgradeAndBridge(req, res, upgrade, up, target, authorization, offered);
  }

  /**
   * `GET .../pods/NAME/portforward?ports=N` with a WebSocket upgrade (verb create on
   * pods/portforward): the agent of the pod's node connects to each port inside the pod.
   */
  async servePortForward(
    route: PodRoute,
    req: Request,
    res: Response,
    user: UserInfo,
  ): Promise<void> {
    const { namespace, name } = this.authorize(route, user, 'create', 'portforward');
    const upgrade = upgrades.get(req);
    if (!upgrade || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      throw ApiError.badRequest(
        `port-forward needs a WebSocket upgrade with subprotocol ${PORT_FORWARD_PROTOCOL}`,
      );
    }
    const offered = offeredProtocols(req, [PORT_FORWARD_PROTOCOL]);
    if (offered.length === 0) {
      throw ApiError.badRequest(
        `port-forward needs the WebSocket subprotocol ${PORT_FORWARD_PROTOCOL}`,
      );
    }
    const query = new URL(req.originalUrl, 'http://master').searchParams;
    const ports = parseForwardedPorts(query.getAll('ports'), 'ports');
    const up = await this.upstream(namespace, name, undefined, 'portforward');
    const agentQuery = new URLSearchParams();
    for (const port of ports) agentQuery.append('port', String(port));
    const pod = [namespace, name].map(encodeURIComponent).join('/');
    const target = `/portForward/${pod}?${agentQuery.toString()}`;
    const authorization = this.credential(up, namespace, 'portforward', target);
    await this.upgradeAndBridge(req, res, upgrade, up, target, authorization, offered);
  }

  /** Dials the agent's WebSocket first, then accepts the client's and joins the two. */
  private async upgradeAndBridge(
    req: Request,
    res: Response,
    upgrade: { socket: Duplex; head: Buffer },
    up: Upstream,
    target: string,
    authorization: string,
    offered: string[],
  ): Promise<void> {
    const agent = await this.dialWebSocket(up, target, authorization, offered);
    if (upgrade.socket.destroyed) {
      agent.terminate();
      return;
    }
    this.chosen.set(req, agent.protocol);
    res.status(101);
    let bridged = false;
    // A handshake ws refuses (a bad key, say) is answered by it, and the callback never runs.
    upgrade.socket.once('close', () => {
      if (!bridged) agent.terminate();
    });
    this.wss.handleUpgrade(req, upgrade.socket, upgrade.head, (client) => {
      bridged = true;
      this.bridge(client, agent, up);
    });
  }

  private authorize(
    route: PodRoute,
    user: UserInfo,
    verb: 'get' | 'create',
    subresource: 'log' | 'exec' | 'portforward',
  ): { namespace: string; name: string } {
    const { def, namespace, name } = route;
    if (namespace === undefined || name === undefined) {
      throw new ApiError('NotFound', `the server could not find the requested resource`);
    }
    this.authorizer.authorize(user, {
      verb,
      group: def.group,
      resource: def.plural,
      subresource,
      namespace,
      name,
    });
    return { namespace, name };
  }

  private podPath(namespace: string, name: string, container: string): string {
    return [namespace, name, container].map(encodeURIComponent).join('/');
  }

  private credential(up: Upstream, namespace: string, verb: AgentVerb, target: string): string {
    if (!this.joinToken) {
      throw new ApiError(
        'ServiceUnavailable',
        'the master has no join token to sign requests to node agents with',
      );
    }
    const credential = signAgentCredential(this.joinToken, {
      node: up.nodeName,
      namespace,
      pod: up.pod.metadata.name ?? '',
      uid: up.pod.metadata.uid ?? '',
      container: up.container,
      verb,
      target,
    });
    return `Bearer ${credential}`;
  }

  /** The pod, its container and where its node's agent listens; ApiError otherwise. */
  private async upstream(
    namespace: string,
    name: string,
    requested: string | undefined,
    verb: AgentVerb,
  ): Promise<Upstream> {
    const pod = (await this.resources.get(podKind, namespace, name)) as Pod;
    const phase = pod.status?.phase;
    // Port-forward reaches the pod's network, which only a running pod has.
    if (verb === 'portforward' && phase !== 'Running') {
      throw ApiError.badRequest(
        `unable to forward port because pod is not running. Current status=${phase ?? 'Pending'}`,
      );
    }
    const container =
      verb === 'portforward' ? POD_NETWORK_CONTAINER : selectContainer(pod, requested);
    if (verb === 'exec' && (phase === 'Succeeded' || phase === 'Failed')) {
      throw ApiError.badRequest(
        `cannot exec into a container in a completed pod; current phase is ${phase}`,
      );
    }
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) {
      const status = [
        ...(pod.status?.containerStatuses ?? []),
        ...(pod.status?.initContainerStatuses ?? []),
      ].find((s) => s.name === container);
      const reason = status?.state?.waiting?.reason ?? 'ContainerCreating';
      throw ApiError.badRequest(
        `container "${container}" in pod "${name}" is waiting to start: ${reason}`,
      );
    }
    let node: Node;
    try {
      node = await this.resources.get(nodeKind, undefined, nodeName);
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'NotFound') {
        throw new ApiError(
          'ServiceUnavailable',
          `node "${nodeName}" of pod "${name}" is not registered`,
        );
      }
      throw err;
    }
    const endpoint = agentEndpoint(node);
    if (!endpoint) {
      throw new ApiError(
        'ServiceUnavailable',
        `node "${nodeName}" does not report where its agent listens (status.addresses, status.daemonEndpoints.kubeletEndpoint.Port)`,
      );
    }
    return { pod, container, nodeName, ...endpoint };
  }

  private unreachable(up: Upstream, err: unknown): ApiError {
    return new ApiError(
      'ServiceUnavailable',
      `unable to reach the agent of node "${up.nodeName}" at ${hostPort(up)}: ${describeNetworkError(err)}`,
    );
  }

  /** An agent's error answer as the error the client sees. */
  private agentError(up: Upstream, code: number, body: string): ApiError {
    if (code === 401 || code === 403) {
      this.log.error(
        { node: up.nodeName, code },
        "the node agent refused the master's credential; do they share the join token?",
      );
      return new ApiError(
        'InternalError',
        `node "${up.nodeName}" refused the master's credential (do the master and the node share the join token?)`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
    if (isStatus(parsed)) return errorFromResponse(code, '', body);
    return new ApiError(
      'ServiceUnavailable',
      `the agent of node "${up.nodeName}" answered ${code}${body.trim() ? `: ${body.trim().split('\n')[0]!.slice(0, 200)}` : ''}`,
    );
  }

  private dialHttp(
    up: Upstream,
    target: string,
    authorization: string,
    signal: AbortSignal,
  ): Promise<IncomingMessage> {
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest({
        host: up.host,
        port: up.port,
        method: 'GET',
        path: target,
        headers: { Authorization: authorization, Accept: 'text/plain' },
        signal,
      });
      const timer = setTimeout(() => {
        req.destroy(
          Object.assign(new Error('connection timed out'), { code: 'ETIMEDOUT' as const }),
        );
      }, this.dialTimeoutMs);
      req.on('response', (upstream) => {
        clearTimeout(timer);
        resolve(upstream);
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(
          signal.aborted
            ? new ApiError('Timeout', 'the request was cancelled')
            : this.unreachable(up, err),
        );
      });
      req.end();
    });
  }

  private dialWebSocket(
    up: Upstream,
    target: string,
    authorization: string,
    protocols: string[],
  ): Promise<WebSocket> {
    return new Promise<WebSocket>((resolve, reject) => {
      const host = up.host.includes(':') ? `[${up.host}]` : up.host;
      const ws = new WebSocket(`ws://${host}:${up.port}${target}`, protocols, {
        headers: { Authorization: authorization },
        handshakeTimeout: this.dialTimeoutMs,
        perMessageDeflate: false,
        followRedirects: false,
        maxPayload: 16 * 1024 * 1024,
      });
      let settled = false;
      const fail = (err: ApiError): void => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      ws.on('unexpected-response', (req, response) => {
        readResponse(response).then(
          (body) => {
            fail(this.agentError(up, response.statusCode ?? 500, body));
            req.destroy();
          },
          (err: unknown) => {
            fail(this.unreachable(up, err));
            req.destroy();
          },
        );
      });
      ws.on('error', (err) => fail(this.unreachable(up, err)));
      ws.on('open', () => {
        if (settled) {
          ws.terminate();
          return;
        }
        settled = true;
        // What the agent sends before the client's side is bridged (a port-forward's first
        // frames) waits in the socket: bridge() resumes reading.
        ws.pause();
        resolve(ws);
      });
    });
  }

  /** Passes frames both ways until either side closes; shutdown closes both. */
  private bridge(client: WebSocket, agent: WebSocket, up: Upstream): void {
    const controller = new AbortController();
    this.watches.add(controller);
    const pipe = (from: WebSocket, to: WebSocket): void => {
      from.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
        if (to.readyState !== WebSocket.OPEN) return;
        to.send(data, { binary: isBinary }, () => {
          if (to.bufferedAmount < HIGH_WATER / 2 && from.isPaused) from.resume();
        });
        if (to.bufferedAmount > HIGH_WATER) from.pause();
      });
    };
    pipe(client, agent);
    pipe(agent, client);
    agent.resume();
    const closeCode = (code: number): number =>
      code === 1000 || (code >= 3000 && code <= 4999) || code === 1001 || code === 1011
        ? code
        : 1000;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.watches.delete(controller);
    };
    // Each side may be paused for back-pressure: resume it so its close reply is read.
    agent.on('close', (code, reason) => {
      end();
      client.resume();
      if (client.readyState === WebSocket.OPEN) client.close(closeCode(code), reason);
      else client.terminate();
    });
    client.on('close', (code, reason) => {
      end();
      agent.resume();
      if (agent.readyState === WebSocket.OPEN) agent.close(closeCode(code), reason);
      else agent.terminate();
    });
    client.on('error', (err) => this.log.debug({ err: err.message }, 'client socket error'));
    agent.on('error', (err) =>
      this.log.debug({ err: err.message, node: up.nodeName }, 'agent socket error'),
    );
    controller.signal.addEventListener(
      'abort',
      () => {
        client.resume();
        agent.resume();
        client.close(1001, 'the master is shutting down');
        agent.close(1001, 'the master is shutting down');
        setTimeout(() => {
          client.terminate();
          agent.terminate();
        }, 1000).unref();
      },
      { once: true },
    );
  }
}

function hostPort(up: { host: string; port: number }): string {
  return up.host.includes(':') ? `[${up.host}]:${up.port}` : `${up.host}:${up.port}`;
}

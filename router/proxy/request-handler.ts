/**
 * What the router does with one client request: check it, look it up in the current table,
 * choose a target, forward it, and answer every failure itself (400, 502, 503, 504). Each
 * request reads the table once, at its start: a table swapped in meanwhile affects only later
 * requests, so requests in flight finish on the target they started with.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Balancer } from '../balancer.js';
import { pageFor, rawResponse } from '../error-pages.js';
import { plainIp, requestHeaders, type ForwardContext } from '../forwarded-headers.js';
import { requestPathOf } from '../host.js';
import type { RouterMetrics } from '../metrics.js';
import { checkRequest } from '../request-guards.js';
import {
  upstreamTls,
  type Backend,
  type RouteTable,
  type Scheme,
  type Target,
} from '../route-table.js';
import type { Logger } from '../../src/util/logger.js';
import type { Outcome, Upstreams } from './upstream.js';
import { tunnel } from './websocket.js';

export interface ProxyTimeouts {
  connectMs: number;
  /** Default server timeout (route annotation `haproxy.router.openshift.io/timeout` wins). */
  serverMs: number;
  /** Default WebSocket idle timeout (`haproxy.router.openshift.io/timeout-tunnel` wins). */
  tunnelMs: number;
}

export interface RequestHandlerOptions {
  table: () => RouteTable;
  balancer: Balancer;
  upstreams: Upstreams;
  metrics: RouterMetrics;
  logger: Logger;
  timeouts: ProxyTimeouts;
  /** The HTTPS port redirects point to (omitted from URLs when 443). */
  httpsPort: () => number;
  /** Attempts per request when connecting fails (only requests without a body). */
  maxAttempts?: number;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** The value of cookie `name` in a Cookie header, if present. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let from = 0;
  while (from < header.length) {
    const i = header.indexOf(name, from);
    if (i < 0) return undefined;
    const before = i === 0 ? ';' : header[i - 1];
    const after = header[i + name.length];
    if ((before === ';' || before === ' ') && after === '=') {
      const start = i + name.length + 1;
      const end = header.indexOf(';', start);
      return header.slice(start, end < 0 ? undefined : end).trim();
    }
    from = i + name.length;
  }
  return undefined;
}

function stickyCookie(backend: Backend, target: Target, scheme: Scheme): string {
  return `${backend.cookieName}=${target.cookie}; path=/; HttpOnly${scheme === 'https' ? '; Secure' : ''}`;
}

export class RequestHandler {
  readonly #o: RequestHandlerOptions;
  readonly #log: Logger;
  readonly #maxAttempts: number;

  constructor(options: RequestHandlerOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'proxy' });
    this.#maxAttempts = options.maxAttempts ?? 3;
  }

  /** Answers a request the router itself refuses or cannot serve. */
  #reply(
    res: ServerResponse,
    status: number,
    started: number,
    backend?: Backend,
    headers: Record<string, string> = {},
  ): void {
    if (!res.headersSent) {
      const body = status === 302 ? Buffer.alloc(0) : pageFor(status);
      const close = status === 400 || status === 501;
      try {
        res.writeHead(status, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-cache',
          'content-length': String(body.length),
          ...(close ? { connection: 'close' } : {}),
          ...headers,
        });
        res.end(body);
      } catch {
        res.destroy();
      }
      // Ambiguous framing: what follows on this connection cannot be trusted.
      if (close) res.once('finish', () => res.socket?.destroy());
    } else {
      res.destroy();
    }
    this.#count(backend, status, started);
  }

  #count(backend: Backend | undefined, status: number, started: number): void {
    this.#o.metrics.request(backend?.namespace ?? '', backend?.name ?? '', status);
    this.#o.metrics.duration.observe((performance.now() - started) / 1000);
  }

  /** The `request` listener of the HTTP and HTTPS servers. */
  handle(scheme: Scheme, req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const checked = checkRequest(req);
    if (!checked.ok) {
      this.#o.metrics.badRequests.inc({ reason: checked.reason });
      // Do not read a body whose framing is in doubt.
      this.#reply(res, checked.status, started);
      return;
    }
    const match = this.#o.table().match(scheme, checked.host, requestPathOf(checked.path));
    if (!match) {
      this.#reply(res, 503, started);
      return;
    }
    const backend = match.backend;
    if (match.redirect) {
      const httpsPort = this.#o.httpsPort();
      const port = httpsPort === 443 ? '' : `:${httpsPort}`;
      this.#reply(res, 302, started, backend, {
        location: `https://${checked.host}${port}${checked.path}`,
      });
      return;
    }
    const clientIp = plainIp(req.socket.remoteAddress);
    const sticky = backend.cookieName ? cookieValue(checked.cookie, backend.cookieName) : undefined;
    const target = this.#o.balancer.pick(backend, clientIp, sticky);
    if (!target) {
      this.#reply(res, 503, started, backend);
      return;
    }
    const ctx: ForwardContext = {
      clientIp,
      host: checked.hostHeader,
      port: req.socket.localPort ?? 0,
      proto: scheme,
    };
    const headers = requestHeaders(req.rawHeaders, ctx);
    const method = req.method ?? 'GET';
    const retryable = !checked.hasBody && IDEMPOTENT.has(method);
    const tried = new Set<string>();
    const attempt = (current: Backend, t: Target, n: number): void => {
      tried.add(t.key);
      const extraHeaders =
        current.cookieName && t.cookie !== sticky
          ? ['set-cookie', stickyCookie(current, t, scheme)]
          : undefined;
      this.#o.upstreams.forward(
        t,
        req,
        res,
        {
          method,
          path: checked.path,
          headers,
          body: checked.hasBody,
          timeoutMs: current.timeoutMs ?? this.#o.timeouts.serverMs,
          extraHeaders,
          tls: upstreamTls(current, t),
        },
        (outcome: Outcome) => {
          if (outcome.ok) {
            this.#count(current, outcome.status, started);
            return;
          }
          if (outcome.kind !== 'aborted')
            this.#o.metrics.upstreamErrors.inc({ kind: outcome.kind });
          const again =
            !outcome.responded &&
            retryable &&
            n < this.#maxAttempts &&
            !res.destroyed &&
            (outcome.kind === 'connect' || outcome.kind === 'reset');
          if (again) {
            // The table may have changed meanwhile: take the route's current targets.
            const now = this.#o.table().backend(current.key) ?? current;
            const exclude =
              tried.size < now.targets.length || outcome.kind === 'connect' ? tried : undefined;
            const next = this.#o.balancer.pick(now, clientIp, undefined, exclude);
            if (next) {
              this.#o.metrics.retries.inc();
              attempt(now, next, n + 1);
              return;
            }
          }
          if (outcome.kind === 'aborted' || outcome.responded) {
            this.#count(current, outcome.responded ? res.statusCode : 499, started);
            if (!res.writableEnded) res.destroy();
            return;
          }
          this.#log.debug(
            { route: current.key, target: t.key, kind: outcome.kind, err: outcome.error.message },
            'upstream failed',
          );
          this.#reply(res, outcome.kind === 'timeout' ? 504 : 502, started, current);
        },
      );
    };
    attempt(backend, target, 1);
  }

  /** The `upgrade` listener: WebSocket tunnels. */
  upgrade(scheme: Scheme, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = performance.now();
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, backend?: Backend): void => {
      if (socket.writable) socket.end(rawResponse(status));
      else socket.destroy();
      this.#count(backend, status, started);
    };
    const checked = checkRequest(req);
    if (!checked.ok) {
      this.#o.metrics.badRequests.inc({ reason: checked.reason });
      refuse(checked.status);
      return;
    }
    const protocol = req.headers.upgrade ?? '';
    if (protocol.trim().toLowerCase() !== 'websocket' || checked.hasBody) {
      this.#o.metrics.badRequests.inc({ reason: 'unsupported upgrade' });
      refuse(400);
      return;
    }
    const match = this.#o.table().match(scheme, checked.host, requestPathOf(checked.path));
    if (!match || match.redirect) {
      // A browser never follows a redirect for a WebSocket: say "not here" plainly.
      refuse(503, match?.backend);
      return;
    }
    const backend = match.backend;
    const clientIp = plainIp(req.socket.remoteAddress);
    const sticky = backend.cookieName ? cookieValue(checked.cookie, backend.cookieName) : undefined;
    const target = this.#o.balancer.pick(backend, clientIp, sticky);
    if (!target) {
      refuse(503, backend);
      return;
    }
    const headers = requestHeaders(req.rawHeaders, {
      clientIp,
      host: checked.hostHeader,
      port: req.socket.localPort ?? 0,
      proto: scheme,
    });
    this.#o.metrics.tunnels.inc();
    tunnel(
      target,
      req,
      socket,
      head,
      {
        path: checked.path,
        headers,
        upgrade: protocol,
        connectTimeoutMs: this.#o.timeouts.connectMs,
        responseTimeoutMs: backend.timeoutMs ?? this.#o.timeouts.serverMs,
        idleTimeoutMs: backend.tunnelTimeoutMs ?? this.#o.timeouts.tunnelMs,
        tls: upstreamTls(backend, target),
      },
      (outcome) => {
        this.#o.metrics.tunnels.dec();
        if (outcome.kind === 'failed') {
          this.#o.metrics.upstreamErrors.inc({
            kind: outcome.status === 504 ? 'timeout' : 'connect',
          });
        }
        const status =
          outcome.kind === 'upgraded'
            ? 101
            : outcome.kind === 'refused'
              ? outcome.status
              : outcome.status;
        this.#count(backend, status, started);
      },
    );
  }
}

/**
 * The client-facing HTTP and HTTPS servers. Node's strict parser stays on (insecureHTTPParser
 * false); every parser error becomes a 400/408/431 written to the socket and the connection is
 * closed; nothing a client sends can throw out of a listener. Closing drains: listeners stop,
 * idle keep-alive connections close, requests in flight get `drainMs` to finish.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions } from 'node:tls';
import { rawResponse } from '../error-pages.js';
import type { RouterMetrics } from '../metrics.js';
import type { Scheme } from '../route-table.js';
import type { CertificateStore } from '../tls.js';
import type { PassthroughRouter } from './passthrough.js';
import type { RequestHandler } from './request-handler.js';

export interface ServerTimeouts {
  /** Idle keep-alive connections close after this. */
  keepAliveMs: number;
  /** A request head must arrive within this (slow-loris guard). */
  headersMs: number;
  /** A whole request (head and body) must arrive within this. */
  requestMs: number;
}

export interface ServerOptions {
  handler: RequestHandler;
  metrics: RouterMetrics;
  timeouts: ServerTimeouts;
}

const BASE = {
  insecureHTTPParser: false,
  requireHostHeader: true,
  joinDuplicateHeaders: false,
  maxHeaderSize: 32 * 1024,
} as const;

interface ParserError extends Error {
  code?: string;
}

/** Node's own rule: answer only if no response on this connection has started. */
function canAnswer(socket: Duplex): boolean {
  const current = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  return socket.writable && (!current || !current.headersSent);
}

function wire(server: Server, scheme: Scheme, options: ServerOptions): Set<Duplex> {
  const { handler, metrics, timeouts } = options;
  const upgraded = new Set<Duplex>();
  server.keepAliveTimeout = timeouts.keepAliveMs;
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = timeouts.requestMs;
  server.on('request', (req, res) => handler.handle(scheme, req, res));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    handler.upgrade(scheme, req, socket, head);
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    metrics.badRequests.inc({ reason: 'CONNECT' });
    socket.on('error', () => socket.destroy());
    socket.end(rawResponse(400));
  });
  server.on('clientError', (err: ParserError, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    if (err.code === 'ECONNRESET' || !canAnswer(socket)) {
      socket.destroy();
      return;
    }
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? 431
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 408
          : 400;
    metrics.badRequests.inc({ reason: err.code ?? 'parse error' });
    socket.end(rawResponse(status));
  });
  server.on('connection', (socket: Socket) => {
    metrics.connections.inc();
    socket.once('close', () => metrics.connections.dec());
  });
  return upgraded;
}

export interface ListeningServer {
  /** What listens: the HTTP server, or for HTTPS the TCP front that reads server names first. */
  server: TcpServer;
  scheme: Scheme;
  /** Stops listening and drains; connections still busy after `drainMs` are cut. */
  close(drainMs: number): Promise<void>;
}

function closer(server: Server, upgraded: Set<Duplex>) {
  return async (drainMs: number): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => {
      server.closeAllConnections();
      for (const s of upgraded) s.destroy();
    }, drainMs);
    // Upgraded sockets are not the HTTP server's any more; end them with the server.
    for (const s of upgraded) s.end();
    await closed;
    clearTimeout(timer);
  };
}

export function createHttpListener(options: ServerOptions): ListeningServer {
  const server = createHttpServer({ ...BASE });
  const upgraded = wire(server, 'http', options);
  return { server, scheme: 'http', close: closer(server, upgraded) };
}

/**
 * The HTTPS port: a TCP server whose connections go through `passthrough` (which sends
 * passthrough routes' connections on untouched) to the router's own TLS server, which does not
 * listen itself.
 */
export function createHttpsListener(
  options: ServerOptions,
  certificates: CertificateStore,
  passthrough: PassthroughRouter,
  tls: SecureContextOptions = {},
): ListeningServer {
  const server = createHttpsServer({
    ...BASE,
    ...tls,
    SNICallback: certificates.sniCallback,
    ALPNProtocols: ['http/1.1'],
  });
  server.on('tlsClientError', (_err: Error, socket: Duplex) => socket.destroy());
  const upgraded = wire(server, 'https', options);
  const terminate = (socket: Socket): void => {
    server.emit('connection', socket);
  };
  const front = createTcpServer({ noDelay: true }, (socket) =>
    passthrough.accept(socket, terminate),
  );
  const drain = closer(server, upgraded);
  return {
    server: front,
    scheme: 'https',
    close: async (drainMs) => {
      const stopped = new Promise<void>((resolve) => front.close(() => resolve()));
      await Promise.all([drain(drainMs), passthrough.end(drainMs), stopped]);
    },
  };
}

/**
 * TLS passthrough: the HTTPS port's connections are read up to the end of the client's
 * ClientHello (never further, never decrypted); one whose server name is a passthrough route's
 * host is joined, byte for byte, to a target of that route, which terminates TLS itself.
 * Everything else (other names, no name, not TLS at all) goes on to the router's own TLS server
 * with the bytes already read put back. While no route is passthrough, connections go straight
 * to the TLS server without being read.
 *
 * Balancing is by client address unless the route's annotation says otherwise (OpenShift's
 * default for passthrough: nothing else is visible). A target that refuses the connection is
 * replaced by another: nothing has reached any backend until one accepts.
 */
import { connect, type Socket } from 'node:net';
import type { Balancer } from '../balancer.js';
import { readClientHello } from '../client-hello.js';
import { plainIp } from '../forwarded-headers.js';
import { normalizeHost } from '../host.js';
import type { RouterMetrics } from '../metrics.js';
import type { Backend, RouteTable, Target } from '../route-table.js';
import type { Logger } from '../../src/util/logger.js';

export interface PassthroughOptions {
  table: () => RouteTable;
  balancer: Balancer;
  metrics: RouterMetrics;
  logger: Logger;
  connectTimeoutMs: number;
  /** The ClientHello must arrive within this. */
  helloTimeoutMs: number;
  /** Default idle timeout of a passthrough connection (`timeout-tunnel` wins). */
  tunnelMs: number;
  /** Targets tried when connecting fails. */
  maxAttempts?: number;
}

export class PassthroughRouter {
  readonly #o: PassthroughOptions;
  readonly #log: Logger;
  /** Open passthrough connections (client sockets), ended when the router drains. */
  readonly open = new Set<Socket>();

  constructor(options: PassthroughOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'passthrough' });
  }

  /** Takes a new connection of the HTTPS port; `terminate` hands it to the TLS server. */
  accept(socket: Socket, terminate: (socket: Socket) => void): void {
    if (!this.#o.table().hasPassthrough) {
      terminate(socket);
      return;
    }
    socket.on('error', () => socket.destroy());
    let buffered: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), this.#o.helloTimeoutMs);
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const hello = readClientHello(buffered);
      if (hello.kind === 'incomplete') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      const host = hello.kind === 'hello' ? normalizeHost(hello.name) : undefined;
      const backend = host ? this.#o.table().passthrough(host) : undefined;
      if (!backend) {
        // The TLS server reads what was put back before anything new.
        socket.unshift(buffered);
        terminate(socket);
        return;
      }
      this.#join(socket, backend, buffered);
    };
    socket.on('data', onData);
    socket.once('close', () => clearTimeout(timer));
  }

  #join(client: Socket, backend: Backend, hello: Buffer): void {
    const { metrics } = this.#o;
    const clientIp = plainIp(client.remoteAddress);
    const tried = new Set<string>();
    const maxAttempts = this.#o.maxAttempts ?? 3;
    metrics.passthrough.inc();
    this.open.add(client);
    let closed = false;
    const onClientClose = (): void => {
      if (closed) return;
      closed = true;
      this.open.delete(client);
      metrics.passthrough.dec();
    };
    client.once('close', onClientClose);

    const attempt = (current: Backend, n: number): void => {
      const target = this.#o.balancer.pick(
        current,
        clientIp,
        undefined,
        tried.size > 0 ? tried : undefined,
      );
      if (!target || client.destroyed) {
        if (!target) metrics.upstreamErrors.inc({ kind: 'connect' });
        client.destroy();
        return;
      }
      tried.add(target.key);
      this.#connect(target, (upstream, err) => {
        if (err || !upstream) {
          metrics.upstreamErrors.inc({ kind: 'connect' });
          this.#log.debug(
            { route: current.key, target: target.key, err: err?.message },
            'passthrough connect failed',
          );
          const now = this.#o.table().backend(current.key) ?? current;
          if (n < maxAttempts && !client.destroyed) attempt(now, n + 1);
          else client.destroy();
          return;
        }
        if (client.destroyed) {
          upstream.destroy();
          return;
        }
        upstream.on('error', () => upstream.destroy());
        upstream.write(hello);
        const idleMs = current.tunnelTimeoutMs ?? this.#o.tunnelMs;
        const idle = (): void => {
          upstream.destroy();
          client.destroy();
        };
        upstream.setTimeout(idleMs, idle);
        client.setTimeout(idleMs, idle);
        upstream.pipe(client);
        client.pipe(upstream);
        client.resume();
        upstream.once('close', () => client.destroy());
        client.once('close', () => upstream.destroy());
      });
    };
    attempt(backend, 1);
  }

  /** A connection to `target`, or why there is none, within the connect timeout. */
  #connect(target: Target, done: (socket: Socket | undefined, err?: Error) => void): void {
    const upstream = connect({ host: target.ip, port: target.port });
    let settled = false;
    const settle = (err?: Error): void => {
      if (settled) return;
      settled = true;
      upstream.setTimeout(0);
      if (err) {
        upstream.destroy();
        done(undefined, err);
      } else {
        done(upstream);
      }
    };
    upstream.setTimeout(this.#o.connectTimeoutMs, () => settle(new Error('connect timed out')));
    upstream.once('connect', () => {
      upstream.setNoDelay(true);
      settle();
    });
    upstream.once('error', (err) => settle(err));
  }

  /** Ends open passthrough connections (at drain), cutting them after `graceMs`. */
  async end(graceMs: number): Promise<void> {
    const sockets = [...this.open];
    if (sockets.length === 0) return;
    const closed = Promise.all(
      sockets.map(
        (s) =>
          new Promise<void>((resolve) =>
            s.destroyed ? resolve() : s.once('close', () => resolve()),
          ),
      ),
    );
    for (const s of sockets) s.end();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      closed,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    for (const s of this.open) s.destroy();
  }
}

/**
 * The upstream side of the proxy: a keep-alive connection pool per target and the forwarding of
 * one request through it. The only file that imports the HTTP client library (undici, the
 * Node.js project's own client, which `fetch` is built on): it measured about twice as fast as
 * node:http's client or http-proxy here (bench/router.ts), and it re-frames every request body
 * itself, so no client framing ever reaches a backend.
 *
 * Every failure ends in exactly one `done` call; nothing here throws into the server.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { Pool, type Dispatcher } from 'undici';
import { responseHeaders } from '../forwarded-headers.js';
import type { Target, UpstreamTls } from '../route-table.js';

export interface UpstreamOptions {
  /** Give up connecting after this long. */
  connectTimeoutMs: number;
  /** Connections kept per target (requests beyond wait for one). */
  connectionsPerTarget: number;
  /** Idle upstream connections close after this (or the backend's Keep-Alive hint). */
  keepAliveTimeoutMs: number;
}

export type FailureKind = 'connect' | 'reset' | 'timeout' | 'invalid' | 'aborted';

export type Outcome =
  | { ok: true; status: number }
  | {
      ok: false;
      kind: FailureKind;
      /** The response head already went to the client (the response was cut short). */
      responded: boolean;
      error: Error;
    };

export interface ForwardOptions {
  method: string;
  /** Origin-form request target: `/path?query`. */
  path: string;
  /** Flat header list for the backend. */
  headers: string[];
  /** Stream the client's body (the request has one). */
  body: boolean;
  /** Server timeout: for the response head, then between body chunks. */
  timeoutMs: number;
  /** Added to the response (a sticky-session Set-Cookie). */
  extraHeaders?: string[] | undefined;
  /** Reencrypt: speak TLS to the target and verify it. */
  tls?: UpstreamTls | undefined;
}

/** The pool a target is reached through: one per target, and per CA and name for TLS. */
/** CA digests by PEM text: poolKey runs on every reencrypted request, the hash once per CA. */
const caDigests = new Map<string, string>();

export function poolKey(target: Target, tls: UpstreamTls | undefined): string {
  if (!tls) return target.key;
  let ca = caDigests.get(tls.ca);
  if (ca === undefined) {
    // Only the CAs of current routes are asked for; a bound keeps old ones from piling up.
    if (caDigests.size >= 256) caDigests.clear();
    ca = createHash('sha256').update(tls.ca).digest('hex').slice(0, 16);
    caDigests.set(tls.ca, ca);
  }
  return `${target.key} tls ${tls.servername} ${ca}`;
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const ABORT_CODES = new Set([
  'UND_ERR_ABORTED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ECONNABORTED',
]);

export function classify(err: Error & { code?: string }): FailureKind {
  const code = err.code ?? '';
  if (CONNECT_CODES.has(code)) return 'connect';
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (ABORT_CODES.has(code)) return 'aborted';
  if (RESET_CODES.has(code)) return 'reset';
  return 'invalid';
}

interface PoolEntry {
  pool: Pool;
  /** The target's key (pools of one target may differ by TLS). */
  target: string;
}

/** The client went away: stop the upstream request. */
class ClientGone extends Error {
  readonly code = 'UND_ERR_ABORTED';
}

function latin1(values: readonly (Buffer | string)[]): string[] {
  const out = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = typeof v === 'string' ? v : v.toString('latin1');
  }
  return out;
}

export class Upstreams {
  readonly #options: UpstreamOptions;
  readonly #pools = new Map<string, PoolEntry>();
  /** Requests in flight per target key. */
  readonly #active = new Map<string, number>();
  readonly #closing = new Set<Promise<void>>();
  #closed = false;

  constructor(options: UpstreamOptions) {
    this.#options = options;
  }

  /** Requests in flight to a target (leastconn). */
  active(targetKey: string): number {
    return this.#active.get(targetKey) ?? 0;
  }

  #count(targetKey: string, delta: 1 | -1): void {
    const n = (this.#active.get(targetKey) ?? 0) + delta;
    if (n > 0) this.#active.set(targetKey, n);
    else this.#active.delete(targetKey);
  }

  /** Targets with an open pool. */
  keys(): string[] {
    return [...this.#pools.keys()];
  }

  #entry(target: Target, tls: UpstreamTls | undefined): PoolEntry {
    const key = poolKey(target, tls);
    let entry = this.#pools.get(key);
    if (!entry) {
      entry = {
        pool: new Pool(`${tls ? 'https' : 'http'}://${target.key}`, {
          ...(tls
            ? {
                connect: {
                  ca: tls.ca,
                  servername: tls.servername,
                  rejectUnauthorized: true,
                  // The client library names the server by the request's Host; the backend's
                  // certificate must name the service instead.
                  checkServerIdentity: (_host: string, cert: PeerCertificate) =>
                    checkServerIdentity(tls.servername, cert),
                },
              }
            : {}),
          connections: this.#options.connectionsPerTarget,
          pipelining: 1,
          connectTimeout: this.#options.connectTimeoutMs,
          keepAliveTimeout: this.#options.keepAliveTimeoutMs,
          keepAliveMaxTimeout: Math.max(this.#options.keepAliveTimeoutMs, 60_000),
          strictContentLength: true,
          maxHeaderSize: 32 * 1024,
        }),
        target: target.key,
      };
      // A pool's own errors (a connection dying while idle) concern no request.
      entry.pool.on('connectionError', () => undefined);
      this.#pools.set(key, entry);
    }
    return entry;
  }

  /**
   * Pools no longer in the table (`keys`: poolKey of every target) are closed gracefully:
   * requests in flight on them finish on their old target; new requests can no longer reach
   * them.
   */
  retain(keys: ReadonlySet<string>): void {
    for (const [key, entry] of this.#pools) {
      if (keys.has(key)) continue;
      this.#pools.delete(key);
      this.#closeLater(entry.pool);
    }
  }

  #closeLater(pool: Pool): void {
    const closing = pool.close().catch(() => undefined);
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
  }

  /** Sends `req` to `target` and streams the answer into `res`; `done` is called once. */
  forward(
    target: Target,
    req: IncomingMessage,
    res: ServerResponse,
    options: ForwardOptions,
    done: (outcome: Outcome) => void,
  ): void {
    if (this.#closed) {
      done({ ok: false, kind: 'connect', responded: false, error: new Error('router closing') });
      return;
    }
    const entry = this.#entry(target, options.tls);
    this.#count(target.key, 1);
    let controller: Dispatcher.DispatchController | undefined;
    let responded = false;
    let finished = false;
    let status = 0;
    const finish = (outcome: Outcome): void => {
      if (finished) return;
      finished = true;
      this.#count(entry.target, -1);
      res.off('close', onClientClose);
      done(outcome);
    };
    const onClientClose = (): void => {
      if (!finished) controller?.abort(new ClientGone('the client closed the connection'));
    };
    res.on('close', onClientClose);
    const fail = (err: Error): void => {
      const kind = classify(err);
      if (responded && !res.writableEnded) res.destroy();
      finish({ ok: false, kind, responded, error: err });
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (res.destroyed) c.abort(new ClientGone('the client closed the connection'));
      },
      onResponseStart(c, statusCode, _headers, statusMessage) {
        const raw = c.rawHeaders;
        const headers = responseHeaders(Array.isArray(raw) ? latin1(raw) : []);
        if (options.extraHeaders) headers.push(...options.extraHeaders);
        try {
          if (statusMessage) res.writeHead(statusCode, statusMessage, headers);
          else res.writeHead(statusCode, headers);
        } catch (err) {
          // A header Node refuses to send (bad characters): the response is invalid.
          const e = err as Error & { code?: string };
          e.code = 'ERR_INVALID_UPSTREAM_HEADER';
          c.abort(e);
          return;
        }
        responded = true;
        status = statusCode;
      },
      onResponseData(c, chunk) {
        if (!res.write(chunk)) {
          c.pause();
          res.once('drain', () => c.resume());
        }
      },
      onResponseEnd() {
        res.end();
        finish({ ok: true, status });
      },
      onResponseError(_c, err) {
        fail(err);
      },
    };

    try {
      entry.pool.dispatch(
        {
          method: options.method,
          path: options.path,
          headers: options.headers,
          body: options.body ? req : null,
          headersTimeout: options.timeoutMs,
          bodyTimeout: options.timeoutMs,
        },
        handler,
      );
    } catch (err) {
      // Refused before anything was sent (a header the client library will not send).
      const e = err as Error & { code?: string };
      fail(Object.assign(e, { code: e.code ?? 'ERR_INVALID_REQUEST' }));
    }
  }

  /** Closes every pool; requests in flight may finish first. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const entry of this.#pools.values()) this.#closeLater(entry.pool);
    this.#pools.clear();
    await Promise.all([...this.#closing]);
  }

  /** Ends every pool at once, cutting requests in flight. */
  async destroy(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()].map((e) => e.pool.destroy().catch(() => undefined));
    this.#pools.clear();
    await Promise.all(pools);
  }
}

/**
 * WebSocket (HTTP Upgrade) tunnels. The router asks the backend to upgrade over a fresh
 * connection; only a `101 Switching Protocols` answer turns the two sockets into a byte tunnel.
 * Any other answer is passed back as an ordinary response and the client connection closed, so
 * a refused upgrade can never leave a raw tunnel open past the router's parser (the
 * "failed upgrade" smuggling path).
 */
import { request, type IncomingMessage } from 'node:http';
import { request as tlsRequest } from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { Duplex } from 'node:stream';
import { rawResponse } from '../error-pages.js';
import { responseHeaders } from '../forwarded-headers.js';
import type { Target, UpstreamTls } from '../route-table.js';

export interface TunnelOptions {
  /** Origin-form request target. */
  path: string;
  /** Flat header list for the backend, without Connection/Upgrade (added here). */
  headers: string[];
  /** The protocol asked for (the client's Upgrade header). */
  upgrade: string;
  connectTimeoutMs: number;
  /** Time allowed for the backend's answer to the upgrade request. */
  responseTimeoutMs: number;
  /** An open tunnel idle this long is closed. */
  idleTimeoutMs: number;
  /** Reencrypt: speak TLS to the target and verify it. */
  tls?: UpstreamTls | undefined;
}

export type TunnelOutcome =
  | { kind: 'upgraded' }
  | { kind: 'refused'; status: number }
  | { kind: 'failed'; status: 502 | 504; error: Error };

/** Largest body of a refused upgrade passed back to the client. */
const REFUSAL_BODY_MAX = 64 * 1024;

function writeHead(status: number, message: string, raw: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${message}\r\n`;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return head;
}

/**
 * Opens the backend side of an upgrade and joins the sockets. `onOpen` runs when the tunnel is
 * established, `onClose` once when it ends (or the upgrade failed), with the outcome.
 */
export function tunnel(
  target: Target,
  req: IncomingMessage,
  client: Duplex,
  head: Buffer,
  options: TunnelOptions,
  onClose: (outcome: TunnelOutcome) => void,
): void {
  let closed = false;
  let outcome: TunnelOutcome | undefined;
  const close = (result: TunnelOutcome): void => {
    outcome ??= result;
    if (closed) return;
    closed = true;
    onClose(outcome);
  };
  const fail = (status: 502 | 504, error: Error): void => {
    if (!client.destroyed && client.writable) client.end(rawResponse(status));
    else client.destroy();
    close({ kind: 'failed', status, error });
  };
  client.on('error', () => client.destroy());

  const requestOptions = {
    host: target.ip,
    port: target.port,
    method: req.method,
    path: options.path,
    headers: [...options.headers, 'connection', 'Upgrade', 'upgrade', options.upgrade],
    agent: false as const,
    timeout: options.connectTimeoutMs,
    insecureHTTPParser: false,
  };
  const upstream = options.tls
    ? tlsRequest({
        ...requestOptions,
        ca: options.tls.ca,
        servername: options.tls.servername,
        rejectUnauthorized: true,
        checkServerIdentity: (_host: string, cert: PeerCertificate) =>
          checkServerIdentity(options.tls!.servername, cert),
      })
    : request(requestOptions);
  let answered = false;
  const answerTimer = setTimeout(() => {
    if (!answered)
      upstream.destroy(Object.assign(new Error('upgrade timed out'), { code: 'TIMEOUT' }));
  }, options.responseTimeoutMs);
  client.once('close', () => {
    if (!answered) upstream.destroy();
    close(outcome ?? { kind: 'failed', status: 502, error: new Error('client closed') });
  });
  upstream.on('socket', (socket) => {
    socket.once('connect', () => socket.setTimeout(0));
  });
  upstream.on('timeout', () => {
    upstream.destroy(Object.assign(new Error('connect timed out'), { code: 'TIMEOUT' }));
  });
  upstream.on('error', (err: Error & { code?: string }) => {
    clearTimeout(answerTimer);
    if (answered) return;
    answered = true;
    fail(err.code === 'TIMEOUT' ? 504 : 502, err);
  });

  upstream.on('upgrade', (res: IncomingMessage, socket: Duplex, upHead: Buffer) => {
    clearTimeout(answerTimer);
    answered = true;
    socket.on('error', () => socket.destroy());
    if (client.destroyed) {
      socket.destroy();
      return;
    }
    const headers = [
      ...responseHeaders(res.rawHeaders),
      'connection',
      'Upgrade',
      'upgrade',
      res.headers.upgrade ?? options.upgrade,
    ];
    client.write(`${writeHead(101, 'Switching Protocols', headers)}\r\n`);
    if (upHead.length > 0) client.write(upHead);
    if (head.length > 0) socket.write(head);
    outcome = { kind: 'upgraded' };
    const idle = (): void => {
      socket.destroy();
      client.destroy();
    };
    if ('setTimeout' in socket && typeof socket.setTimeout === 'function') {
      (socket as Duplex & { setTimeout(ms: number, cb: () => void): void }).setTimeout(
        options.idleTimeoutMs,
        idle,
      );
    }
    socket.pipe(client);
    client.pipe(socket);
    socket.once('close', () => client.destroy());
    client.once('close', () => socket.destroy());
  });

  upstream.on('response', (res: IncomingMessage) => {
    // Not upgraded: an ordinary answer, passed back whole, then the connection closes.
    clearTimeout(answerTimer);
    answered = true;
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > REFUSAL_BODY_MAX) res.destroy();
      else chunks.push(chunk);
    });
    res.on('error', () => fail(502, new Error('the refusal was cut short')));
    res.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers = responseHeaders(res.rawHeaders);
      const kept: string[] = [];
      for (let i = 0; i < headers.length; i += 2) {
        if (headers[i]!.toLowerCase() === 'content-length') continue;
        kept.push(headers[i]!, headers[i + 1]!);
      }
      kept.push('content-length', String(body.length), 'connection', 'close');
      const status = res.statusCode ?? 502;
      if (!client.destroyed) {
        client.end(
          Buffer.concat([
            Buffer.from(`${writeHead(status, res.statusMessage ?? '', kept)}\r\n`, 'latin1'),
            body,
          ]),
        );
      }
      close({ kind: 'refused', status });
    });
  });
  upstream.end();
}

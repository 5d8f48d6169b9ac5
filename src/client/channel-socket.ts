/**
 * Opening a WebSocket to one of the API's streaming subresources (`exec`, `portforward`): a
 * refused handshake becomes the server's error (its Status, through `errorFromResponse`), a
 * transport failure the error `transportError` makes, like every other client call. Resolves
 * with the open socket paused: the server may send at once, so the caller attaches its handlers
 * and then calls `resume()`.
 */
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';

export interface OpenChannelSocketOptions {
  headers: Record<string, string>;
  /** Time for the handshake (the server dials the node meanwhile). Default 30 s. */
  handshakeTimeoutMs?: number;
  /** Aborting before the socket opens rejects with `cancelled()`. */
  signal?: AbortSignal | undefined;
  cancelled?: () => Error;
  transportError(err: unknown): Error;
  errorFromResponse(code: number, statusText: string, body: string): Error;
}

/** The body of a refused handshake (its first 64 KiB). */
export async function readResponse(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (size < 64 * 1024) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function openChannelSocket(
  url: string,
  protocols: readonly string[],
  options: OpenChannelSocketOptions,
): Promise<WebSocket> {
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, [...protocols], {
      headers: options.headers,
      handshakeTimeout: options.handshakeTimeoutMs ?? 30_000,
      perMessageDeflate: false,
      followRedirects: false,
    });
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      reject(err);
    };
    const onAbort = (): void => {
      ws.terminate();
      fail(options.cancelled?.() ?? new Error('cancelled'));
    };
    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    ws.on('unexpected-response', (req, res) => {
      readResponse(res).then(
        (body) => {
          fail(options.errorFromResponse(res.statusCode ?? 500, res.statusMessage ?? '', body));
          req.destroy();
        },
        (err: unknown) => {
          fail(options.transportError(err));
          req.destroy();
        },
      );
    });
    ws.on('error', (err) => {
      if (!settled) fail(options.transportError(err));
    });
    ws.once('open', () => {
      if (settled) {
        ws.terminate();
        return;
      }
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      ws.pause();
      resolve(ws);
    });
  });
}

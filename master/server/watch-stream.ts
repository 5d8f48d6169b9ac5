import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ApiError, isApiError, type Status } from '../../src/api/errors.js';
import type { WatchEvent } from '../../src/api/meta.js';
import type { ObjectWatch } from './resources.js';

/** The watches being served, so shutdown can end them. */
export class ActiveWatches {
  private readonly controllers = new Set<AbortController>();

  get size(): number {
    return this.controllers.size;
  }

  add(controller: AbortController): void {
    this.controllers.add(controller);
  }

  delete(controller: AbortController): void {
    this.controllers.delete(controller);
  }

  abortAll(): void {
    for (const c of this.controllers) c.abort();
    this.controllers.clear();
  }
}

export interface StreamOptions {
  /** End the watch after this long (the client then watches again from its last revision). */
  timeoutMs: number;
  /** Send BOOKMARK events this often when the client allows them; 0: never. */
  bookmarkIntervalMs: number;
  /** apiVersion and kind for bookmark objects. */
  apiVersion: string;
  kind: string;
  logger: Logger;
}

function waitForDrain(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The Status an error ends a watch stream with. */
function errorStatus(err: unknown): Status {
  if (isApiError(err)) return err.toStatus();
  return new ApiError('InternalError', 'Internal error occurred: the watch failed').toStatus();
}

/**
 * Streams a watch as newline-delimited JSON over a chunked response, one event per write
 * (each write goes out at once). Ends on timeout, on `controller` abort (client gone or server
 * shutting down) or when the watch fails; a failure after the headers is sent as an ERROR
 * event carrying a Status (410 Gone for a compacted revision).
 */
export async function streamWatch(
  res: ServerResponse,
  watch: ObjectWatch,
  controller: AbortController,
  options: StreamOptions,
): Promise<void> {
  const { signal } = controller;
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'X-Content-Type-Options': 'nosniff',
  });
  res.flushHeaders();
  res.socket?.setNoDelay(true);

  const write = (event: WatchEvent | { type: 'ERROR'; object: Status }): boolean =>
    res.write(`${JSON.stringify(event)}\n`);

  const timeout = setTimeout(() => controller.abort(), options.timeoutMs);
  let lastBookmark: number | undefined;
  const bookmarks =
    options.bookmarkIntervalMs > 0
      ? setInterval(() => {
          const rv = watch.progress();
          if (rv === undefined || rv === lastBookmark || signal.aborted) return;
          lastBookmark = rv;
          write({
            type: 'BOOKMARK',
            object: {
              apiVersion: options.apiVersion,
              kind: options.kind,
              metadata: { resourceVersion: String(rv) },
            },
          });
        }, options.bookmarkIntervalMs)
      : undefined;
  const events = watch[Symbol.asyncIterator]();
  // Ending must not depend on the source noticing the abort: race every step against it.
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  try {
    for (;;) {
      const step = await Promise.race([events.next(), aborted]);
      if (step === 'aborted' || step.done) break;
      if (!write(step.value)) await waitForDrain(res, signal);
    }
  } catch (err) {
    if (!signal.aborted) {
      if (!isApiError(err)) options.logger.error({ err }, 'watch failed');
      else if (err.reason !== 'Gone')
        options.logger.warn({ err: err.message }, 'watch ended with an error');
      if (!res.writableEnded && !res.destroyed) write({ type: 'ERROR', object: errorStatus(err) });
    }
  } finally {
    clearTimeout(timeout);
    if (bookmarks) clearInterval(bookmarks);
    controller.abort();
    events.return?.().catch(() => undefined);
    if (!res.writableEnded) res.end();
  }
}

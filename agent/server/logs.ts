/**
 * `GET /containerLogs/NS/POD/CONTAINER`: one container instance's log as plain text, a line per
 * log line (`TIMESTAMP TEXT` with timestamps), streamed with back-pressure; with `follow` until
 * the container stops, the client goes away or the server closes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { ApiError } from '../../src/api/errors.js';
import type { LogLine, LogOptions } from '../docker/runtime.js';
import type { AgentRuntime } from './runtime.js';

export interface LogParams {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines: number | undefined;
  sinceSeconds: number | undefined;
}

function bool(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  if (v === null || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw ApiError.badRequest(`invalid value for ${name}: "${v}" (expected true or false)`);
}

function int(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  if (!/^[0-9]{1,9}$/.test(v)) {
    throw ApiError.badRequest(
      `invalid value for ${name}: "${v}" (expected a non-negative integer)`,
    );
  }
  return Number(v);
}

export function parseLogParams(query: URLSearchParams): LogParams {
  return {
    follow: bool(query, 'follow'),
    previous: bool(query, 'previous'),
    timestamps: bool(query, 'timestamps'),
    tailLines: int(query, 'tailLines'),
    sinceSeconds: int(query, 'sinceSeconds'),
  };
}

/** Streams the log of container `id` into `res`; resolves when the response is over. */
export async function streamLogs(
  runtime: AgentRuntime,
  id: string,
  params: LogParams,
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  await streamLogLines(
    (s) =>
      runtime.logs(id, {
        follow: params.follow,
        timestamps: params.timestamps,
        signal: s,
        ...(params.tailLines === undefined ? {} : { tail: params.tailLines }),
        ...(params.sinceSeconds === undefined ? {} : { sinceSeconds: params.sinceSeconds }),
      } satisfies LogOptions),
    params,
    req,
    res,
    signal,
  );
}

/**
 * Streams the LogLine objects `open` gives into `res` (container logs, build logs); resolves
 * when the response is over. `open` gets a signal that aborts when the client goes away.
 */
export async function streamLogLines(
  open: (signal: AbortSignal) => Promise<Readable>,
  params: LogParams,
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  signal.addEventListener('abort', abort, { once: true });
  res.on('close', abort);
  req.on('close', () => {
    if (!res.writableFinished) abort();
  });
  try {
    const lines = await open(controller.signal);
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    });
    res.flushHeaders();
    try {
      for await (const item of lines) {
        if (controller.signal.aborted) break;
        const line = item as LogLine;
        const text =
          params.timestamps && line.timestamp ? `${line.timestamp} ${line.text}` : line.text;
        if (!res.write(`${text}\n`)) {
          await Promise.race([once(res, 'drain'), once(controller.signal, 'abort')]);
        }
      }
    } catch (err) {
      // Aborted by the client or by shutdown: nothing more to say.
      if (!controller.signal.aborted) throw err;
    } finally {
      lines.destroy();
    }
    if (!res.destroyed) res.end();
  } finally {
    signal.removeEventListener('abort', abort);
    res.off('close', abort);
  }
}

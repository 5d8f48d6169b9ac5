/**
 * Container lifecycle events as an endless async iterable that survives engine restarts: on any
 * disconnect it reconnects with back-off and then yields a `resync` event, because events sent
 * while disconnected are lost and the reconciler must look at everything again. The source of
 * byte streams is injected, so this is tested without Docker.
 */
import type { Logger } from '../../src/util/logger.js';
import { LABELS } from './labels.js';
import { JsonLineParser } from './streams.js';

export type RuntimeEventType = 'start' | 'die' | 'oom' | 'destroy' | 'resync';

export interface RuntimeEvent {
  type: RuntimeEventType;
  /** Milliseconds since the epoch (the engine's time for container events). */
  time: number;
  containerId?: string;
  podUid?: string;
  podNamespace?: string;
  podName?: string;
  containerName?: string;
  /** `die` only. */
  exitCode?: number;
}

export const WATCHED_ACTIONS: readonly RuntimeEventType[] = ['start', 'die', 'oom', 'destroy'];

/** The fields of an engine event this module reads. */
interface EngineEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  time?: number;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** Converts one engine event; undefined for events the reconciler does not care about. */
export function toRuntimeEvent(raw: unknown): RuntimeEvent | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const e = raw as EngineEvent;
  if ((e.Type ?? 'container') !== 'container') return undefined;
  const action = e.Action ?? e.status ?? '';
  if (!(WATCHED_ACTIONS as readonly string[]).includes(action)) return undefined;
  const attrs = e.Actor?.Attributes ?? {};
  const time = e.timeNano ? Math.floor(e.timeNano / 1e6) : (e.time ?? 0) * 1000;
  const event: RuntimeEvent = { type: action as RuntimeEventType, time };
  const id = e.Actor?.ID ?? e.id;
  if (id) event.containerId = id;
  if (attrs[LABELS.podUid]) event.podUid = attrs[LABELS.podUid];
  if (attrs[LABELS.podNamespace]) event.podNamespace = attrs[LABELS.podNamespace];
  if (attrs[LABELS.podName]) event.podName = attrs[LABELS.podName];
  if (attrs[LABELS.containerName]) event.containerName = attrs[LABELS.containerName];
  if (action === 'die' && attrs.exitCode !== undefined && /^-?\d+$/.test(attrs.exitCode)) {
    event.exitCode = Number(attrs.exitCode);
  }
  return event;
}

export interface EventStreamOptions {
  /** Opens a new event byte stream (the engine's `GET /events`, already filtered). */
  connect: (signal: AbortSignal) => Promise<NodeJS.ReadableStream>;
  signal: AbortSignal;
  logger: Logger;
  /** First reconnect delay; doubles up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Yields events until `signal` aborts; never throws for engine trouble, it reconnects. */
export async function* runtimeEvents(options: EventStreamOptions): AsyncGenerator<RuntimeEvent> {
  const { signal, logger } = options;
  const min = options.minBackoffMs ?? 250;
  const max = options.maxBackoffMs ?? 5000;
  const now = options.now ?? Date.now;
  let backoff = min;
  let connectedBefore = false;
  while (!signal.aborted) {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await options.connect(signal);
    } catch (err) {
      if (signal.aborted) return;
      logger.warn(
        { err: (err as Error).message, retryInMs: backoff },
        'cannot watch Docker events; retrying',
      );
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, max);
      continue;
    }
    const onAbort = (): void =>
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (connectedBefore) {
        logger.info('Docker events reconnected; asking for a resync');
        yield { type: 'resync', time: now() };
      }
      connectedBefore = true;
      backoff = min;
      const parser = new JsonLineParser();
      for await (const chunk of stream as AsyncIterable<Buffer | string>) {
        let values: unknown[];
        try {
          values = parser.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        } catch (err) {
          logger.warn({ err: (err as Error).message }, 'unparseable Docker event; reconnecting');
          break;
        }
        for (const v of values) {
          const event = toRuntimeEvent(v);
          if (event) yield event;
        }
      }
      if (!signal.aborted) logger.warn('Docker event stream ended; reconnecting');
    } catch (err) {
      if (signal.aborted) return;
      logger.warn({ err: (err as Error).message }, 'Docker event stream failed; reconnecting');
    } finally {
      signal.removeEventListener('abort', onAbort);
      onAbort();
    }
    if (!signal.aborted) {
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, max);
    }
  }
}

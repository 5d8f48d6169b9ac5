import type { ApiObject, WatchEvent } from '../api/index.js';

export interface ListOptions {
  signal?: AbortSignal | undefined;
}

export interface WatchOptions extends ListOptions {
  /** Deliver changes after this revision (the list's, or the last one seen). */
  resourceVersion: string;
  signal: AbortSignal;
}

export interface ListResult<T> {
  items: T[];
  /** The revision the listing was taken at; a watch from it misses nothing. */
  resourceVersion: string;
}

/**
 * Where an informer gets its objects: a listing plus a stream of changes after a revision.
 * `watch` ends normally when the server closes the stream, throws (or yields an ERROR event
 * carrying a Status) with 410 Gone when the revision is compacted, and ends quietly when the
 * signal aborts. Objects handed out become the caller's: the informer freezes them.
 */
export interface ListWatcher<T extends ApiObject = ApiObject> {
  list(options: ListOptions): Promise<ListResult<T>>;
  watch(options: WatchOptions): AsyncIterable<WatchEvent<T>>;
}

type LogFn = (obj: object, msg?: string) => void;

/** The part of pino's Logger the reconcile machinery uses; a pino Logger fits. */
export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

import {
  ApiError,
  objectKey,
  type ApiObject,
  type WatchEvent,
  type WatchEventType,
} from '../../api/index.js';
import type { ListOptions, ListResult, ListWatcher, WatchOptions } from '../types.js';

interface Change<T> {
  revision: number;
  event: WatchEvent<T>;
}

interface OpenWatch<T> {
  pending: WatchEvent<T>[];
  /** Set when the stream is to end after `pending`: normally, or by throwing `error`. */
  end: { error?: Error } | undefined;
  wake: (() => void) | undefined;
}

/**
 * An in-memory ListWatcher with a revision counter, like the master's store: every change gets
 * the next revision, open watches receive it, and a watch from an old revision replays what it
 * missed. Tests drive it with create/update/remove and inject trouble: watches that end, 410
 * Gone (as an error or as an ERROR event), failing lists and watches. Objects are copied on the
 * way in and out.
 */
export class FakeListWatcher<T extends ApiObject = ApiObject> implements ListWatcher<T> {
  revision = 0;
  /** Watches from a revision below this fail with 410 Gone. */
  compactedRevision = 0;
  listCalls = 0;
  /** The resourceVersion of every watch call, in order. */
  readonly watchCalls: string[] = [];
  readonly #objects = new Map<string, T>();
  readonly #history: Change<T>[] = [];
  readonly #open = new Set<OpenWatch<T>>();
  readonly #listErrors: Error[] = [];
  readonly #watchErrors: Error[] = [];

  constructor(initial: readonly T[] = []) {
    for (const obj of initial) {
      const stored = this.#stamp(obj);
      this.#objects.set(objectKey(stored), stored);
    }
  }

  /** Watches currently open. */
  get openWatches(): number {
    return this.#open.size;
  }

  /** The stored objects, copied. */
  objects(): T[] {
    return [...this.#objects.values()].map((o) => structuredClone(o));
  }

  create(obj: T): T {
    const key = objectKey(obj);
    if (this.#objects.has(key)) throw ApiError.alreadyExists(obj.kind, key);
    return this.#change('ADDED', obj);
  }

  update(obj: T): T {
    const key = objectKey(obj);
    if (!this.#objects.has(key)) throw ApiError.notFound(obj.kind, key);
    return this.#change('MODIFIED', obj);
  }

  /** Deletes by key (`namespace/name`); the DELETED event carries the deletion's revision. */
  remove(key: string): T {
    const existing = this.#objects.get(key);
    if (!existing) throw ApiError.notFound('object', key);
    return this.#change('DELETED', existing);
  }

  /** Forgets history up to the current revision: later watches from before it get 410 Gone. */
  compact(): void {
    this.compactedRevision = this.revision;
  }

  /** Sends a BOOKMARK at the current revision to open watches. */
  bookmark(): void {
    const event = {
      type: 'BOOKMARK',
      object: { metadata: { resourceVersion: String(this.revision) } },
    } as WatchEvent<T>;
    for (const w of this.#open) this.#push(w, event);
  }

  /** Ends open watches normally (after what they have not delivered yet). */
  endWatches(): void {
    for (const w of this.#open) this.#finish(w, {});
  }

  /**
   * Compacts history up to the current revision and expires open watches with 410 Gone:
   * thrown as an ApiError (as the real client does) or sent as an ERROR event with a Status.
   */
  expireWatches(how: 'throw' | 'event' = 'throw'): void {
    this.compactedRevision = this.revision;
    const gone = ApiError.gone('too old resource version');
    if (how === 'event') this.sendErrorEvent(gone);
    else this.breakWatches(gone);
  }

  /** Sends open watches an ERROR event carrying `error` as a Status, then ends them. */
  sendErrorEvent(error: ApiError): void {
    for (const w of this.#open) {
      this.#push(w, { type: 'ERROR', object: error.toStatus() as unknown as T });
      this.#finish(w, {});
    }
  }

  /** Breaks open watches with `error` (a dropped connection, say). */
  breakWatches(error: Error): void {
    for (const w of this.#open) this.#finish(w, { error });
  }

  /** The next list call throws `error`. */
  failNextList(error: Error): void {
    this.#listErrors.push(error);
  }

  /** The next watch call throws `error` before any event. */
  failNextWatch(error: Error): void {
    this.#watchErrors.push(error);
  }

  list(_options: ListOptions): Promise<ListResult<T>> {
    this.listCalls++;
    const error = this.#listErrors.shift();
    if (error) return Promise.reject(error);
    return Promise.resolve({ items: this.objects(), resourceVersion: String(this.revision) });
  }

  watch(options: WatchOptions): AsyncIterable<WatchEvent<T>> {
    this.watchCalls.push(options.resourceVersion);
    return this.#stream(options);
  }

  async *#stream(options: WatchOptions): AsyncGenerator<WatchEvent<T>, void, undefined> {
    const { signal } = options;
    const error = this.#watchErrors.shift();
    if (error) throw error;
    const from = Number(options.resourceVersion || '0');
    if (from < this.compactedRevision) {
      throw ApiError.gone(`too old resource version: ${from} (${this.compactedRevision})`);
    }
    const w: OpenWatch<T> = {
      pending: this.#history.filter((c) => c.revision > from).map((c) => c.event),
      end: undefined,
      wake: undefined,
    };
    this.#open.add(w);
    const onAbort = (): void => w.wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal.aborted) return;
        const event = w.pending.shift();
        if (event) {
          yield structuredClone(event);
          continue;
        }
        if (w.end) {
          if (w.end.error) throw w.end.error;
          return;
        }
        await new Promise<void>((resolve) => (w.wake = resolve));
        w.wake = undefined;
      }
    } finally {
      this.#open.delete(w);
      signal.removeEventListener('abort', onAbort);
    }
  }

  #stamp(obj: T): T {
    const copy = structuredClone(obj);
    copy.metadata.resourceVersion = String(++this.revision);
    copy.metadata.uid ??= `uid-${objectKey(copy)}`;
    return copy;
  }

  #change(type: WatchEventType, obj: T): T {
    const stored = this.#stamp(obj);
    const key = objectKey(stored);
    if (type === 'DELETED') this.#objects.delete(key);
    else this.#objects.set(key, stored);
    const event: WatchEvent<T> = { type, object: stored };
    this.#history.push({ revision: this.revision, event });
    for (const w of this.#open) this.#push(w, event);
    return structuredClone(stored);
  }

  #push(w: OpenWatch<T>, event: WatchEvent<T>): void {
    if (w.end) return;
    w.pending.push(event);
    w.wake?.();
  }

  #finish(w: OpenWatch<T>, end: { error?: Error }): void {
    if (w.end) return;
    w.end = end;
    w.wake?.();
  }
}

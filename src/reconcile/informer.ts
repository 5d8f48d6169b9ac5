import {
  ApiError,
  isApiError,
  isStatus,
  objectKey,
  type ApiObject,
  type WatchEvent,
} from '../api/index.js';
import { sleep, systemClock, type Clock } from './clock.js';
import { deepFreeze } from './freeze.js';
import type { ListWatcher, Logger } from './types.js';

/** Change notifications. They receive cached (frozen) objects and should only enqueue keys. */
export interface EventHandler<T> {
  onAdd?(obj: T): void;
  /** Also called on periodic resync, with `oldObj === newObj`. */
  onUpdate?(oldObj: T, newObj: T): void;
  /** The last state seen: the watch's final object, or the cached one when a re-list finds
   * the object gone. */
  onDelete?(obj: T): void;
}

/** The values an object is indexed under (none: `undefined` or `[]`). */
export type IndexFunc<T> = (obj: T) => string | readonly string[] | undefined;

export interface InformerOptions<T extends ApiObject> {
  /** What is being watched, for logs: `pods`, `nodes`. */
  name: string;
  listWatcher: ListWatcher<T>;
  logger: Logger;
  /** Re-deliver every cached object as an update this often; 0 (default) turns it off. */
  resyncPeriodMs?: number;
  /** Back-off after list or watch failures, doubling from initial to max. Default 800 ms, 30 s. */
  backOff?: { initialMs?: number; maxMs?: number };
  clock?: Clock;
  /** Cache key; `namespace/name` by default. */
  keyOf?: (obj: T) => string;
}

interface Index<T> {
  fn: IndexFunc<T>;
  entries: Map<string, Set<string>>;
}

/** A watch that ends this soon without a single event counts as a failure (no busy loop). */
const SHORT_WATCH_MS = 1000;

/**
 * List, then watch from the list's revision, into a read-only cache (client-go's shared
 * informer). A watch that ends is resumed from the last revision seen; 410 Gone re-lists and
 * diffs the listing against the cache, emitting the adds, updates and deletes it implies; other
 * failures are retried with back-off. Cached objects are deep-frozen: never mutate them, copy
 * (`structuredClone`) before changing anything.
 */
export class Informer<T extends ApiObject = ApiObject> {
  readonly name: string;
  readonly #lw: ListWatcher<T>;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #resyncMs: number;
  readonly #backOffInitial: number;
  readonly #backOffMax: number;
  readonly #keyOf: (obj: T) => string;
  readonly #cache = new Map<string, T>();
  readonly #indexes = new Map<string, Index<T>>();
  readonly #handlers = new Set<EventHandler<T>>();
  #syncWaiters: ((synced: boolean) => void)[] = [];
  #synced = false;
  #running = false;
  #resourceVersion = '';

  constructor(options: InformerOptions<T>) {
    this.name = options.name;
    this.#lw = options.listWatcher;
    this.#log = options.logger.child({ component: 'informer', resource: options.name });
    this.#clock = options.clock ?? systemClock;
    this.#resyncMs = options.resyncPeriodMs ?? 0;
    this.#backOffInitial = options.backOff?.initialMs ?? 800;
    this.#backOffMax = options.backOff?.maxMs ?? 30_000;
    this.#keyOf = options.keyOf ?? objectKey;
  }

  /**
   * Registers handlers. Objects already cached are delivered to them as adds right away, so
   * a handler added late sees the same world as one added before `run`. Returns a function
   * that removes the handlers.
   */
  addEventHandler(handler: EventHandler<T>): () => void {
    this.#handlers.add(handler);
    for (const obj of this.#cache.values()) this.#call(handler, 'onAdd', obj);
    return () => this.#handlers.delete(handler);
  }

  /** Adds (or replaces) a named index; objects already cached are indexed at once. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    const index: Index<T> = { fn, entries: new Map() };
    this.#indexes.set(name, index);
    for (const [key, obj] of this.#cache) indexAdd(index, key, obj);
  }

  /** Cached objects whose index `name` has `value`, in key order. */
  byIndex(name: string, value: string): T[] {
    return this.indexKeys(name, value).map((key) => this.#cache.get(key)!);
  }

  /** Keys of the cached objects whose index `name` has `value`, sorted. */
  indexKeys(name: string, value: string): string[] {
    const index = this.#indexes.get(name);
    if (!index) throw new Error(`informer ${this.name} has no index named "${name}"`);
    return [...(index.entries.get(value) ?? [])].sort();
  }

  /** Every cached object. */
  list(): T[] {
    return [...this.#cache.values()];
  }

  /** The cached object with this key (`namespace/name`), if any. */
  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  /** True once the first listing is in the cache. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves true once synced, false if the signal aborts or the informer stops first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.#syncWaiters = this.#syncWaiters.filter((w) => w !== waiter);
        resolve(false);
      };
      const waiter = (synced: boolean): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(synced);
      };
      this.#syncWaiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The revision of the newest change applied to the cache. */
  get lastSyncResourceVersion(): string {
    return this.#resourceVersion;
  }

  /** Lists and watches until `signal` aborts; never rejects on list or watch failures. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error(`informer ${this.name} is already running`);
    this.#running = true;
    let delay = this.#backOffInitial;
    const backOff = async (): Promise<void> => {
      await sleep(this.#clock, delay, signal);
      delay = Math.min(delay * 2, this.#backOffMax);
    };
    let resync: unknown;
    const scheduleResync = (): void => {
      if (this.#resyncMs <= 0 || signal.aborted) return;
      resync = this.#clock.setTimeout(() => {
        this.#resync();
        scheduleResync();
      }, this.#resyncMs);
    };
    let needList = true;
    /** Consecutive 410s from watches that applied nothing. */
    let goneStreak = 0;
    try {
      while (!signal.aborted) {
        if (needList) {
          try {
            const { items, resourceVersion } = await this.#lw.list({ signal });
            if (signal.aborted) break;
            this.#replace(items);
            this.#resourceVersion = resourceVersion;
            needList = false;
            delay = this.#backOffInitial;
            if (!this.#synced) {
              this.#markSynced(true);
              scheduleResync();
            }
            this.#log.debug({ resourceVersion, count: items.length }, 'listed');
          } catch (err) {
            if (signal.aborted) break;
            this.#log.warn({ err }, 'list failed; retrying');
            await backOff();
            continue;
          }
        }
        const started = this.#clock.now();
        let received = 0;
        try {
          const events = this.#lw.watch({ resourceVersion: this.#resourceVersion, signal });
          for await (const event of events) {
            if (signal.aborted) break;
            this.#apply(event);
            received++;
            goneStreak = 0;
            delay = this.#backOffInitial;
          }
          if (signal.aborted) break;
          if (received === 0 && this.#clock.now() - started < SHORT_WATCH_MS) {
            this.#log.debug({ resourceVersion: this.#resourceVersion }, 'watch ended at once');
            await backOff();
          }
        } catch (err) {
          if (signal.aborted) break;
          if (isApiError(err, 'Gone')) {
            this.#log.info({ resourceVersion: this.#resourceVersion }, 'watch expired; re-listing');
            needList = true;
            // Re-list at once, but not in a tight list -> watch -> Gone loop.
            if (received === 0 && ++goneStreak > 1) await backOff();
            continue;
          }
          this.#log.warn({ err, resourceVersion: this.#resourceVersion }, 'watch failed; retrying');
          await backOff();
        }
      }
    } finally {
      if (resync !== undefined) this.#clock.clearTimeout(resync);
      this.#running = false;
      if (!this.#synced) this.#markSynced(false);
    }
  }

  #apply(event: WatchEvent<T>): void {
    if (event.type === 'ERROR') throw errorFromEvent(event.object);
    const rv = event.object.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (rv) this.#resourceVersion = rv;
      return;
    }
    const obj = deepFreeze(event.object);
    const key = this.#keyOf(obj);
    const old = this.#cache.get(key);
    if (event.type === 'DELETED') {
      if (old) {
        this.#remove(key, old);
        this.#emit('onDelete', obj);
      }
    } else {
      this.#store(key, old, obj);
      if (old) this.#emit('onUpdate', old, obj);
      else this.#emit('onAdd', obj);
    }
    if (rv) this.#resourceVersion = rv;
  }

  /** A fresh listing replaces the cache; the differences become events. */
  #replace(items: T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      const obj = deepFreeze(item);
      const key = this.#keyOf(obj);
      seen.add(key);
      const old = this.#cache.get(key);
      this.#store(key, old, obj);
      if (!old) this.#emit('onAdd', obj);
      else if (!sameRevision(old, obj)) this.#emit('onUpdate', old, obj);
    }
    for (const [key, old] of [...this.#cache]) {
      if (seen.has(key)) continue;
      this.#remove(key, old);
      this.#emit('onDelete', old);
    }
  }

  #resync(): void {
    for (const obj of [...this.#cache.values()]) this.#emit('onUpdate', obj, obj);
  }

  #store(key: string, old: T | undefined, obj: T): void {
    for (const index of this.#indexes.values()) {
      if (old) indexRemove(index, key, old);
      indexAdd(index, key, obj);
    }
    this.#cache.set(key, obj);
  }

  #remove(key: string, old: T): void {
    for (const index of this.#indexes.values()) indexRemove(index, key, old);
    this.#cache.delete(key);
  }

  #markSynced(synced: boolean): void {
    this.#synced = synced;
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const waiter of waiters) waiter(synced);
  }

  #emit(type: 'onAdd' | 'onDelete', obj: T): void;
  #emit(type: 'onUpdate', oldObj: T, newObj: T): void;
  #emit(type: keyof EventHandler<T>, a: T, b?: T): void {
    for (const handler of [...this.#handlers]) this.#call(handler, type, a, b);
  }

  /** A throwing handler is logged and must not stop the informer or the other handlers. */
  #call(handler: EventHandler<T>, type: keyof EventHandler<T>, a: T, b?: T): void {
    try {
      if (type === 'onUpdate') handler.onUpdate?.(a, b ?? a);
      else handler[type]?.(a);
    } catch (err) {
      this.#log.error({ err, key: this.#keyOf(b ?? a), event: type }, 'event handler failed');
    }
  }
}

function sameRevision(a: ApiObject, b: ApiObject): boolean {
  const rv = a.metadata.resourceVersion;
  return rv !== undefined && rv === b.metadata.resourceVersion;
}

function indexValues<T>(index: Index<T>, obj: T): readonly string[] {
  const values = index.fn(obj);
  if (values === undefined) return [];
  return typeof values === 'string' ? [values] : values;
}

function indexAdd<T>(index: Index<T>, key: string, obj: T): void {
  for (const value of indexValues(index, obj)) {
    let keys = index.entries.get(value);
    if (!keys) index.entries.set(value, (keys = new Set()));
    keys.add(key);
  }
}

function indexRemove<T>(index: Index<T>, key: string, obj: T): void {
  for (const value of indexValues(index, obj)) {
    const keys = index.entries.get(value);
    keys?.delete(key);
    if (keys?.size === 0) index.entries.delete(value);
  }
}

/** An ERROR watch event as an ApiError; a Status with code 410 is Gone whatever its reason. */
function errorFromEvent(object: unknown): ApiError {
  if (isStatus(object)) {
    const reason = object.code === 410 ? 'Gone' : (object.reason ?? 'InternalError');
    return new ApiError(reason, object.message || `watch error ${object.code}`);
  }
  return new ApiError('InternalError', 'the watch sent an ERROR event without a Status');
}

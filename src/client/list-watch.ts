import { setTimeout as sleep } from 'node:timers/promises';
import {
  isApiError,
  type AnyKindDefinition,
  type ApiObject,
  type WatchEvent,
} from '../api/index.js';
import type { ApiClient, ListOptions } from './api-client.js';

/** A full listing: the first event, and again after every re-list (e.g. after 410 Gone).
 * Consumers replace their view with `items`. */
export interface SyncEvent<T> {
  type: 'SYNC';
  items: T[];
  resourceVersion: string;
}

export type ListWatchEvent<T> = SyncEvent<T> | WatchEvent<T>;

export interface ListAndWatchOptions extends Omit<ListOptions, 'resourceVersion'> {
  /** Keep going after errors other than Gone (network errors, 5xx), with exponential back-off.
   * Default false: such errors end the iteration by being thrown. */
  retry?: boolean;
  /** Back-off bounds for retries and for streams that end at once. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Told about each error that a retry absorbs. */
  onError?: (err: unknown) => void;
}

type Client = Pick<ApiClient, 'list' | 'watch'>;

/**
 * The informer's source: list, then watch from the list's revision, resuming from the last
 * revision seen whenever the stream ends, and re-listing on 410 Gone. Yields a SYNC with the
 * full listing first (and after every re-list), then watch events (BOOKMARKs are absorbed).
 * Ends when `signal` aborts.
 */
export async function* listAndWatch<T extends ApiObject = ApiObject>(
  client: Client,
  def: AnyKindDefinition,
  options: ListAndWatchOptions = {},
): AsyncGenerator<ListWatchEvent<T>, void, undefined> {
  const { signal, retry = false, onError } = options;
  const minDelay = options.minDelayMs ?? 200;
  const maxDelay = options.maxDelayMs ?? 30_000;
  const selectors = {
    namespace: options.namespace,
    labelSelector: options.labelSelector,
    fieldSelector: options.fieldSelector,
  };
  let resourceVersion: string | undefined;
  let delay = minDelay;

  const backOff = async (): Promise<void> => {
    try {
      await sleep(delay, undefined, signal ? { signal } : undefined);
    } catch {
      // aborted
    }
    delay = Math.min(delay * 2, maxDelay);
  };

  while (!signal?.aborted) {
    try {
      if (resourceVersion === undefined) {
        const list = await client.list<T>(def, { ...selectors, signal });
        resourceVersion = list.metadata.resourceVersion ?? '';
        yield { type: 'SYNC', items: list.items, resourceVersion };
      }
      let received = 0;
      const started = Date.now();
      for await (const event of client.watch<T>(def, { ...selectors, resourceVersion, signal })) {
        received++;
        const rv = event.object.metadata?.resourceVersion;
        if (rv) resourceVersion = rv;
        if (event.type === 'BOOKMARK') continue;
        yield event;
      }
      if (received > 0) delay = minDelay;
      // A stream that ends at once, again and again, must not become a busy loop.
      if (received === 0 && Date.now() - started < 1000) await backOff();
    } catch (err) {
      if (signal?.aborted) return;
      if (isApiError(err, 'Gone')) {
        resourceVersion = undefined;
        continue;
      }
      if (!retry) throw err;
      onError?.(err);
      await backOff();
    }
  }
}

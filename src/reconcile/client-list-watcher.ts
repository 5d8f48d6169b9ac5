import type { AnyKindDefinition, ApiObject, WatchEvent } from '../api/index.js';
import type { ApiClient } from '../client/index.js';
import type { ListOptions, ListResult, ListWatcher, WatchOptions } from './types.js';

export interface ClientListWatcherOptions {
  /** Only this namespace (namespaced kinds); all namespaces by default. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Ask the server to end each watch after this long, so streams are renewed now and then. */
  watchTimeoutSeconds?: number;
}

/**
 * A ListWatcher over the master's HTTP API for one kind, e.g.
 * `clientListWatcher(client, podKind, { fieldSelector: 'spec.nodeName=node-1' })`. The client
 * already turns 410 responses and ERROR events into ApiError `Gone`, which the informer
 * answers with a re-list.
 */
export function clientListWatcher<T extends ApiObject = ApiObject>(
  client: Pick<ApiClient, 'list' | 'watch'>,
  def: AnyKindDefinition,
  options: ClientListWatcherOptions = {},
): ListWatcher<T> {
  const selectors = {
    namespace: options.namespace,
    labelSelector: options.labelSelector,
    fieldSelector: options.fieldSelector,
  };
  return {
    async list({ signal }: ListOptions): Promise<ListResult<T>> {
      const list = await client.list<T>(def, { ...selectors, signal });
      return { items: list.items, resourceVersion: list.metadata.resourceVersion ?? '' };
    },
    watch({ resourceVersion, signal }: WatchOptions): AsyncIterable<WatchEvent<T>> {
      return client.watch<T>(def, {
        ...selectors,
        resourceVersion,
        signal,
        timeoutSeconds: options.watchTimeoutSeconds,
      });
    },
  };
}

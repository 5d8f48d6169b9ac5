import type { AnyKindDefinition, ApiObject } from '../../src/api/index.js';
import type { ApiClient } from '../../src/client/index.js';
import { clientListWatcher, Informer, type Logger } from '../../src/reconcile/index.js';

/** How the controller-manager's informers reach the API. */
export interface InformerSource {
  client: ApiClient;
  logger: Logger;
  informerOptions: { watchTimeoutSeconds: number };
}

/** An informer over every object of kind `def`, through the API, named after its resource. */
export function apiInformer<T extends ApiObject>(
  source: InformerSource,
  def: AnyKindDefinition,
): Informer<T> {
  return new Informer<T>({
    name: def.plural,
    listWatcher: clientListWatcher<T>(source.client, def, source.informerOptions),
    logger: source.logger,
  });
}

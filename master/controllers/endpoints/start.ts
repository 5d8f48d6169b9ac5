import { endpointsKind, serviceKind, type Pod } from '../../../src/api/index.js';
import type { Endpoints } from '../../../src/api/kinds/endpoints.js';
import type { Service } from '../../../src/api/kinds/service.js';
import type { ApiClient } from '../../../src/client/index.js';
import type { Informer, Logger } from '../../../src/reconcile/index.js';
import { apiInformer } from '../informers.js';
import { EndpointsController, httpEndpointsClient } from './controller.js';

/** The endpoints controller with its Service and Endpoints informers, over the shared pods. */
export function endpointsController(options: {
  client: ApiClient;
  pods: Informer<Pod>;
  logger: Logger;
  informerOptions: { watchTimeoutSeconds: number };
}): { run(signal: AbortSignal): Promise<void> } {
  const { client, logger } = options;
  const services = apiInformer<Service>(options, serviceKind);
  const endpoints = apiInformer<Endpoints>(options, endpointsKind);
  const controller = new EndpointsController({
    services,
    endpoints,
    pods: options.pods,
    client: httpEndpointsClient(client),
    logger,
  });
  return {
    run: async (signal) => {
      await Promise.all([services.run(signal), endpoints.run(signal), controller.run(signal)]);
    },
  };
}

import { isApiError, routeKind, type Route } from '../../../src/api/index.js';
import type { ApiClient } from '../../../src/client/index.js';

/** The one write route admission makes: a route's status, at the cached resourceVersion (a
 * stale cache is a Conflict). A route deleted meanwhile counts as done. */
export interface RouteStatusClient {
  updateRouteStatus(route: Route, signal?: AbortSignal): Promise<void>;
}

export function httpRouteStatusClient(client: ApiClient): RouteStatusClient {
  return {
    async updateRouteStatus(route, signal) {
      try {
        await client.updateStatus(routeKind, route, { signal });
      } catch (err) {
        if (isApiError(err, 'NotFound')) return;
        throw err;
      }
    },
  };
}

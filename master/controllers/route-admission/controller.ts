import { objectKey, type Route } from '../../../src/api/index.js';
import { jsonEqual } from '../../../src/api/merge-patch.js';
import {
  Controller,
  ItemExponentialFailureRateLimiter,
  systemClock,
  WorkQueue,
  type Clock,
  type Informer,
  type Logger,
} from '../../../src/reconcile/index.js';
import { decideAdmission, desiredRouteStatus } from './admission.js';
import type { RouteStatusClient } from './client.js';

/** The informer index of routes by spec.host. */
export const ROUTE_HOST_INDEX = 'spec.host';

export interface RouteAdmissionControllerOptions {
  routes: Informer<Route>;
  client: RouteStatusClient;
  logger: Logger;
  /** The `routerName` of the status.ingress entries written. */
  routerName: string;
  clock?: Clock;
  now?: () => Date;
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What decides a route's claim: a change to anything else (its status) wakes only itself. */
function claimOf(route: Route): string {
  return JSON.stringify([route.spec.host ?? '', route.spec.path ?? '']);
}

/**
 * The router's host admission, done once for the cluster: writes each route's
 * status.ingress entry for `routerName` (Admitted True, or False with HostAlreadyClaimed).
 * A route added, deleted or moved to another host or path re-queues every route of its old
 * and new host, so the next-oldest route takes a host its owner left.
 */
export class RouteAdmissionController {
  readonly #routes: Informer<Route>;
  readonly #client: RouteStatusClient;
  readonly #routerName: string;
  readonly #now: () => Date;
  readonly #queue: WorkQueue<string>;
  readonly #controller: Controller<string>;

  constructor(options: RouteAdmissionControllerOptions) {
    this.#routes = options.routes;
    this.#client = options.client;
    this.#routerName = options.routerName;
    this.#now = options.now ?? (() => new Date());
    this.#routes.addIndex(ROUTE_HOST_INDEX, (r) => r.spec.host || undefined);
    this.#queue = new WorkQueue<string>({
      clock: options.clock ?? systemClock,
      rateLimiter: new ItemExponentialFailureRateLimiter({ baseDelayMs: 500, maxDelayMs: 60_000 }),
    });
    this.#controller = new Controller({
      name: 'route-admission-controller',
      queue: this.#queue,
      workers: 1,
      logger: options.logger,
      waitFor: [this.#routes],
      reconcile: (key, signal) => this.reconcile(key, signal),
    });
    this.#routes.addEventHandler({
      onAdd: (r) => this.#queueHost(r),
      onUpdate: (old, r) => {
        if (claimOf(old) === claimOf(r)) {
          // Only the status (or other fields) changed: check this route's own status alone.
          this.#queue.add(objectKey(r));
          return;
        }
        this.#queueHost(old);
        this.#queueHost(r);
      },
      onDelete: (r) => this.#queueHost(r),
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return this.#controller.run(signal);
  }

  /** The route itself and every route on its host. */
  #queueHost(route: Route): void {
    this.#queue.add(objectKey(route));
    const host = route.spec.host;
    if (!host) return;
    for (const key of this.#routes.indexKeys(ROUTE_HOST_INDEX, host)) this.#queue.add(key);
  }

  async reconcile(key: string, signal: AbortSignal): Promise<void> {
    const route = this.#routes.get(key);
    if (!route?.spec.host) return;
    const sameHost = this.#routes.byIndex(ROUTE_HOST_INDEX, route.spec.host);
    const decision = decideAdmission(route, sameHost);
    const status = desiredRouteStatus(route, decision, this.#routerName, timestamp(this.#now()));
    if (jsonEqual(status.ingress, route.status?.ingress ?? null)) return;
    await this.#client.updateRouteStatus(
      { ...route, status: { ...route.status, ...status } },
      signal,
    );
  }
}

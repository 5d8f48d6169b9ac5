import {
  endpointsKind,
  isApiError,
  objectKey,
  type ApiObject,
  type Pod,
} from '../../../src/api/index.js';
import type { Endpoints } from '../../../src/api/kinds/endpoints.js';
import type { Service } from '../../../src/api/kinds/service.js';
import type { ApiClient } from '../../../src/client/index.js';
import {
  Controller,
  NAMESPACE_INDEX,
  namespaceIndex,
  WorkQueue,
  type Clock,
  type Informer,
  type Logger,
} from '../../../src/reconcile/index.js';
import { desiredEndpoints, hasSelector, selects } from './endpoints.js';

/** The writes the endpoints controller makes; unit tests fake it. */
export interface EndpointsClient {
  create(endpoints: Endpoints, signal: AbortSignal): Promise<Endpoints>;
  /** PUT at the resourceVersion it carries (409 when stale). */
  update(endpoints: Endpoints, signal: AbortSignal): Promise<Endpoints>;
  delete(namespace: string, name: string, uid: string, signal: AbortSignal): Promise<void>;
}

export function httpEndpointsClient(client: ApiClient): EndpointsClient {
  return {
    create: (ep, signal) => client.create<Endpoints>(endpointsKind, ep, { signal }),
    update: (ep, signal) => client.update<Endpoints>(endpointsKind, ep, { signal }),
    delete: async (namespace, name, uid, signal) => {
      await client.delete(endpointsKind, name, { namespace, preconditions: { uid }, signal });
    },
  };
}

export interface EndpointsControllerOptions {
  services: Informer<Service>;
  endpoints: Informer<Endpoints>;
  /** Every pod; the controller indexes them by namespace. */
  pods: Informer<Pod>;
  client: EndpointsClient;
  logger: Logger;
  clock?: Clock;
}

/**
 * Kubernetes' endpoints controller, keyed by Service `namespace/name`: a Service with a
 * selector gets an Endpoints object of its name listing the pods it selects (see
 * computeSubsets), written only when it changed; a Service without one keeps whatever
 * Endpoints its user made; a deleted Service's Endpoints are deleted. Pod changes wake the
 * Services that select the pod before or after the change; an Endpoints changed or deleted by
 * someone else wakes its Service, which puts it back.
 */
export class EndpointsController {
  readonly #services: Informer<Service>;
  readonly #endpoints: Informer<Endpoints>;
  readonly #pods: Informer<Pod>;
  readonly #client: EndpointsClient;
  readonly #log: Logger;
  readonly #queue: WorkQueue<string>;
  readonly #controller: Controller<string>;

  constructor(options: EndpointsControllerOptions) {
    this.#services = options.services;
    this.#endpoints = options.endpoints;
    this.#pods = options.pods;
    this.#client = options.client;
    this.#log = options.logger.child({ component: 'endpoints-controller' });
    this.#queue = new WorkQueue<string>(options.clock ? { clock: options.clock } : {});
    this.#controller = new Controller({
      name: 'endpoints',
      queue: this.#queue,
      workers: 1,
      logger: options.logger,
      waitFor: [this.#services, this.#endpoints, this.#pods],
      reconcile: (key, signal) => this.reconcile(key, signal),
    });
    this.#services.addIndex(NAMESPACE_INDEX, namespaceIndex);
    const enqueue = (obj: ApiObject): void => this.#queue.add(objectKey(obj));
    this.#services.addEventHandler({
      onAdd: enqueue,
      onUpdate: (_old, svc) => enqueue(svc),
      onDelete: enqueue,
    });
    this.#endpoints.addEventHandler({
      onAdd: enqueue,
      onUpdate: (_old, ep) => enqueue(ep),
      onDelete: enqueue,
    });
    const podChanged = (old: Pod | undefined, pod: Pod): void => {
      for (const svc of this.#services.byIndex(NAMESPACE_INDEX, pod.metadata.namespace ?? '')) {
        if (selects(svc, pod) || (old !== undefined && selects(svc, old))) enqueue(svc);
      }
    };
    this.#pods.addIndex(NAMESPACE_INDEX, namespaceIndex);
    this.#pods.addEventHandler({
      onAdd: (pod) => podChanged(undefined, pod),
      onUpdate: (old, pod) => podChanged(old, pod),
      onDelete: (pod) => podChanged(undefined, pod),
    });
  }

  /** Runs until `signal` aborts (after the caches have synced). */
  run(signal: AbortSignal): Promise<void> {
    return this.#controller.run(signal);
  }

  /** One look at Service `key` (`namespace/name`); public for tests. */
  async reconcile(key: string, signal: AbortSignal): Promise<void> {
    const svc = this.#services.get(key);
    const current = this.#endpoints.get(key);
    if (!svc) {
      if (!current) return;
      try {
        await this.#client.delete(
          current.metadata.namespace ?? '',
          current.metadata.name ?? '',
          current.metadata.uid ?? '',
          signal,
        );
        this.#log.debug({ endpoints: key }, 'deleted the endpoints of a deleted service');
      } catch (err) {
        if (!isApiError(err, 'NotFound') && !isApiError(err, 'Conflict')) throw err;
      }
      return;
    }
    if (!hasSelector(svc)) return;
    const namespace = svc.metadata.namespace ?? '';
    const pods = this.#pods.byIndex(NAMESPACE_INDEX, namespace);
    const desired = desiredEndpoints(svc, pods, current);
    if (!desired) return;
    if (current) {
      await this.#client.update(desired, signal);
    } else {
      try {
        await this.#client.create(desired, signal);
      } catch (err) {
        // Made meanwhile (by a user, or before the cache saw it): its event brings us back.
        if (!isApiError(err, 'AlreadyExists')) throw err;
      }
    }
    this.#log.debug({ service: key }, 'endpoints updated');
  }
}

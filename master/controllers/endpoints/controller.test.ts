import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, objectKey } from '../../../src/api/index.js';
import type { Endpoints } from '../../../src/api/kinds/endpoints.js';
import type { Pod } from '../../../src/api/kinds/pod.js';
import type { Service } from '../../../src/api/kinds/service.js';
import { Informer } from '../../../src/reconcile/index.js';
import { flush } from '../../../src/reconcile/testing/fake-clock.js';
import { FakeListWatcher } from '../../../src/reconcile/testing/fake-list-watcher.js';
import { RecordingLogger } from '../../../src/reconcile/testing/recording-logger.js';
import { EndpointsController, type EndpointsClient } from './controller.js';
import { pod, service } from './testing.js';

/** Records writes and applies them to the fake Endpoints store, as the API server would. */
class FakeEndpointsClient implements EndpointsClient {
  readonly actions: string[] = [];
  readonly #store: FakeListWatcher<Endpoints>;

  constructor(store: FakeListWatcher<Endpoints>) {
    this.#store = store;
  }

  create(ep: Endpoints): Promise<Endpoints> {
    this.actions.push(`create ${objectKey(ep)}`);
    return Promise.resolve(this.#store.create(ep));
  }

  update(ep: Endpoints): Promise<Endpoints> {
    this.actions.push(`update ${objectKey(ep)}`);
    const stored = this.#store.objects().find((e) => objectKey(e) === objectKey(ep));
    if (stored?.metadata.resourceVersion !== ep.metadata.resourceVersion) {
      return Promise.reject(ApiError.conflict('Endpoints', objectKey(ep), 'stale'));
    }
    return Promise.resolve(this.#store.update(ep));
  }

  delete(namespace: string, name: string): Promise<void> {
    this.actions.push(`delete ${namespace}/${name}`);
    this.#store.remove(`${namespace}/${name}`);
    return Promise.resolve();
  }
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function fixture(initial: { services?: Service[]; pods?: Pod[]; endpoints?: Endpoints[] }) {
  const serviceStore = new FakeListWatcher<Service>(initial.services ?? []);
  const podStore = new FakeListWatcher<Pod>(initial.pods ?? []);
  const endpointsStore = new FakeListWatcher<Endpoints>(initial.endpoints ?? []);
  const logger = new RecordingLogger();
  const services = new Informer<Service>({ name: 'services', listWatcher: serviceStore, logger });
  const pods = new Informer<Pod>({ name: 'pods', listWatcher: podStore, logger });
  const endpoints = new Informer<Endpoints>({
    name: 'endpoints',
    listWatcher: endpointsStore,
    logger,
  });
  const client = new FakeEndpointsClient(endpointsStore);
  const controller = new EndpointsController({ services, endpoints, pods, client, logger });
  const abort = new AbortController();
  const runs = [
    services.run(abort.signal),
    pods.run(abort.signal),
    endpoints.run(abort.signal),
    controller.run(abort.signal),
  ];
  stops.push(async () => {
    abort.abort();
    await Promise.all(runs);
  });
  const stored = (name: string): Endpoints | undefined =>
    endpointsStore.objects().find((e) => objectKey(e) === `ns/${name}`);
  return { serviceStore, podStore, endpointsStore, client, stored };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await flush();
  expect(check()).toBe(true);
}

const ips = (ep: Endpoints | undefined, field: 'addresses' | 'notReadyAddresses'): string[] =>
  (ep?.subsets ?? []).flatMap((s) => (s[field] ?? []).map((a) => a.ip));

describe('EndpointsController', () => {
  it('creates Endpoints for a Service with a selector and follows its pods', async () => {
    const f = await fixture({
      services: [service('web')],
      pods: [pod('a', { ip: '10.1.0.1' }), pod('b', { ip: '10.1.0.2', ready: false })],
    });
    await until(() => f.stored('web') !== undefined);
    expect(ips(f.stored('web'), 'addresses')).toEqual(['10.1.0.1']);
    expect(ips(f.stored('web'), 'notReadyAddresses')).toEqual(['10.1.0.2']);
    expect(f.client.actions).toEqual(['create ns/web']);

    // b becomes ready.
    f.podStore.update(pod('b', { ip: '10.1.0.2' }));
    await until(() => ips(f.stored('web'), 'addresses').length === 2);
    // a is being deleted: dropped.
    f.podStore.update(pod('a', { ip: '10.1.0.1', terminating: true }));
    await until(() => ips(f.stored('web'), 'addresses').join() === '10.1.0.2');
    // b's labels no longer match: nothing left.
    f.podStore.update(pod('b', { ip: '10.1.0.2', labels: { app: 'other' } }));
    await until(() => (f.stored('web')?.subsets ?? []).length === 0);
    expect(f.client.actions).toEqual([
      'create ns/web',
      'update ns/web',
      'update ns/web',
      'update ns/web',
    ]);
    // A pod change that does not touch the Service's endpoints writes nothing.
    f.podStore.update(pod('b', { ip: '10.1.0.2', labels: { app: 'other', v: '2' } }));
    for (let i = 0; i < 20; i++) await flush();
    expect(f.client.actions).toHaveLength(4);
  });

  it("leaves a selectorless Service's Endpoints alone and deletes a deleted Service's", async () => {
    const manual: Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'external', namespace: 'ns' },
      subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 5432 }] }],
    };
    const f = await fixture({
      services: [service('external', { selector: undefined }), service('web')],
      pods: [pod('a', { ip: '10.1.0.1' })],
      endpoints: [manual],
    });
    await until(() => f.stored('web') !== undefined);
    expect(f.stored('external')?.subsets).toEqual(manual.subsets);
    f.serviceStore.remove('ns/web');
    await until(() => f.stored('web') === undefined);
    expect(f.client.actions).toEqual(['create ns/web', 'delete ns/web']);
  });

  it('puts back Endpoints someone else changed', async () => {
    const f = await fixture({ services: [service('web')], pods: [pod('a', { ip: '10.1.0.1' })] });
    await until(() => f.stored('web') !== undefined);
    const tampered = f.stored('web')!;
    tampered.subsets = [];
    f.endpointsStore.update(tampered);
    await until(() => ips(f.stored('web'), 'addresses').join() === '10.1.0.1');
    expect(f.client.actions).toEqual(['create ns/web', 'update ns/web']);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, objectKey, type Route } from '../../../src/api/index.js';
import { Informer } from '../../../src/reconcile/index.js';
import { flush } from '../../../src/reconcile/testing/fake-clock.js';
import { FakeListWatcher } from '../../../src/reconcile/testing/fake-list-watcher.js';
import { RecordingLogger } from '../../../src/reconcile/testing/recording-logger.js';
import type { RouteStatusClient } from './client.js';
import { RouteAdmissionController } from './controller.js';

function route(namespace: string, name: string, created: string, path?: string): Route {
  return {
    apiVersion: 'route.openshift.io/v1',
    kind: 'Route',
    metadata: { namespace, name, creationTimestamp: `2030-01-01T00:00:${created}Z` },
    spec: {
      host: 'app.example.com',
      ...(path === undefined ? {} : { path }),
      to: { kind: 'Service', name: 'web' },
    },
  };
}

/** Records status writes and applies them to the store, at the current resourceVersion. */
class FakeRouteClient implements RouteStatusClient {
  readonly writes: Route[] = [];
  readonly #store: FakeListWatcher<Route>;
  constructor(store: FakeListWatcher<Route>) {
    this.#store = store;
  }
  async updateRouteStatus(r: Route): Promise<void> {
    await Promise.resolve();
    this.writes.push(structuredClone(r));
    const stored = this.#store.objects().find((o) => objectKey(o) === objectKey(r));
    if (!stored) return;
    if (stored.metadata.resourceVersion !== r.metadata.resourceVersion) {
      throw new ApiError('Conflict', 'stale');
    }
    this.#store.update({ ...stored, status: structuredClone(r.status) });
  }
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

let minute = 0;
async function fixture(routes: Route[]) {
  const store = new FakeListWatcher<Route>(routes);
  const logger = new RecordingLogger();
  const informer = new Informer<Route>({ name: 'routes', listWatcher: store, logger });
  const client = new FakeRouteClient(store);
  const controller = new RouteAdmissionController({
    routes: informer,
    client,
    logger,
    routerName: 'default',
    now: () => new Date(Date.UTC(2030, 0, 1, 1, minute++)),
  });
  const abort = new AbortController();
  const run = informer.run(abort.signal);
  await informer.waitForSync();
  stops.push(async () => {
    abort.abort();
    await run;
  });
  /** Lets the informer catch up with the store, then reconciles `keys` in order. */
  const reconcile = async (...keys: string[]): Promise<void> => {
    await flush();
    for (const key of keys) await controller.reconcile(key, abort.signal);
    await flush();
  };
  const start = (): void => {
    const running = controller.run(abort.signal);
    stops.push(() => running);
  };
  /** Waits (bounded) for `done`, letting the informer and the workers run. */
  const until = async (done: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !done(); i += 1) await new Promise((r) => setTimeout(r, 5));
    expect(done()).toBe(true);
  };
  const admitted = (key: string) =>
    informer.get(key)?.status?.ingress?.find((i) => i.routerName === 'default')?.conditions?.[0];
  return { store, client, reconcile, admitted, start, until };
}

describe('RouteAdmissionController', () => {
  it('admits the owner and refuses another namespace on its host', async () => {
    const f = await fixture([route('alpha', 'app', '01'), route('beta', 'app', '02')]);
    await f.reconcile('alpha/app', 'beta/app');
    expect(f.admitted('alpha/app')).toMatchObject({ status: 'True' });
    expect(f.admitted('beta/app')).toEqual({
      type: 'Admitted',
      status: 'False',
      reason: 'HostAlreadyClaimed',
      message: 'route app already exposes app.example.com and is older',
      lastTransitionTime: '2030-01-01T01:01:00Z',
    });
    expect(f.client.writes[0]!.status?.ingress).toEqual([
      {
        host: 'app.example.com',
        routerName: 'default',
        wildcardPolicy: 'None',
        conditions: [
          { type: 'Admitted', status: 'True', lastTransitionTime: expect.any(String) as string },
        ],
      },
    ]);
  });

  it('admits every path of the owning namespace', async () => {
    const f = await fixture([route('alpha', 'root', '01'), route('alpha', 'api', '02', '/api')]);
    await f.reconcile('alpha/root', 'alpha/api');
    expect(f.admitted('alpha/root')?.status).toBe('True');
    expect(f.admitted('alpha/api')?.status).toBe('True');
  });

  it('writes nothing when the status is already right', async () => {
    const f = await fixture([route('alpha', 'app', '01'), route('beta', 'app', '02')]);
    await f.reconcile('alpha/app', 'beta/app');
    expect(f.client.writes).toHaveLength(2);
    await f.reconcile('alpha/app', 'beta/app');
    expect(f.client.writes).toHaveLength(2);
  });

  it('admits the next-oldest route once the owner is deleted, with a new transition time', async () => {
    const f = await fixture([
      route('alpha', 'app', '01'),
      route('beta', 'app', '02'),
      route('gamma', 'app', '03'),
    ]);
    await f.reconcile('alpha/app', 'beta/app', 'gamma/app');
    const before = f.admitted('beta/app');
    expect(before?.status).toBe('False');
    f.store.remove('alpha/app');
    await f.reconcile('beta/app', 'gamma/app');
    const after = f.admitted('beta/app');
    expect(after).toEqual({
      type: 'Admitted',
      status: 'True',
      lastTransitionTime: expect.any(String) as string,
    });
    expect(after?.lastTransitionTime).not.toBe(before?.lastTransitionTime);
    // gamma stays refused, now by beta's route, and keeps its transition time.
    expect(f.admitted('gamma/app')).toMatchObject({
      status: 'False',
      message: 'route app already exposes app.example.com and is older',
    });
  });

  it('running: re-queues every route of a host when its owner goes', async () => {
    const f = await fixture([route('alpha', 'app', '01'), route('beta', 'app', '02')]);
    f.start();
    await f.until(() => f.admitted('beta/app')?.status === 'False');
    expect(f.admitted('alpha/app')?.status).toBe('True');
    const writes = f.client.writes.length;
    f.store.remove('alpha/app');
    await f.until(() => f.admitted('beta/app')?.status === 'True');
    // Its own write woke it once more, and it found nothing to change.
    await flush(20);
    expect(f.client.writes).toHaveLength(writes + 1);
  });

  it('corrects a status someone else wrote', async () => {
    const forged = route('beta', 'app', '02');
    forged.status = {
      ingress: [
        {
          host: 'app.example.com',
          routerName: 'default',
          conditions: [{ type: 'Admitted', status: 'True' }],
        },
      ],
    };
    const f = await fixture([route('alpha', 'app', '01'), forged]);
    await f.reconcile('beta/app');
    expect(f.admitted('beta/app')?.status).toBe('False');
  });
});

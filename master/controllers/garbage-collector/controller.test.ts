import { afterEach, describe, expect, it } from 'vitest';
import {
  ApiError,
  builtinKinds,
  configMapKind,
  objectKey,
  podKind,
  replicaSetKind,
  replicationControllerKind,
  type AnyKindDefinition,
  type ApiObject,
  type OwnerReference,
} from '../../../src/api/index.js';
import { Informer } from '../../../src/reconcile/index.js';
import { flush } from '../../../src/reconcile/testing/fake-clock.js';
import { FakeListWatcher } from '../../../src/reconcile/testing/fake-list-watcher.js';
import { RecordingLogger } from '../../../src/reconcile/testing/recording-logger.js';
import { GarbageCollector, type GarbageCollectorClient } from './controller.js';

/** Applies the collector's calls to the fake stores as the API server would. */
class FakeClient implements GarbageCollectorClient {
  readonly actions: string[] = [];
  readonly #stores: Map<AnyKindDefinition, FakeListWatcher>;

  constructor(stores: Map<AnyKindDefinition, FakeListWatcher>) {
    this.#stores = stores;
  }

  get(def: AnyKindDefinition, namespace: string | undefined, name: string) {
    this.actions.push(`get ${def.plural} ${namespace}/${name}`);
    const key = namespace ? `${namespace}/${name}` : name;
    return Promise.resolve(
      this.#stores
        .get(def)
        ?.objects()
        .find((o) => objectKey(o) === key),
    );
  }

  delete(def: AnyKindDefinition, obj: ApiObject) {
    this.actions.push(`delete ${def.plural} ${objectKey(obj)}`);
    const store = this.#stores.get(def)!;
    const stored = store.objects().find((o) => objectKey(o) === objectKey(obj));
    if (!stored) return Promise.resolve();
    if (stored.metadata.resourceVersion !== obj.metadata.resourceVersion) {
      return Promise.reject(ApiError.conflict(def.plural, objectKey(obj), 'stale'));
    }
    store.remove(objectKey(obj));
    return Promise.resolve();
  }

  setOwnerReferences(def: AnyKindDefinition, obj: ApiObject, refs: readonly OwnerReference[]) {
    this.actions.push(`patch ${def.plural} ${objectKey(obj)}`);
    const store = this.#stores.get(def)!;
    const stored = store.objects().find((o) => objectKey(o) === objectKey(obj))!;
    store.update({ ...stored, metadata: { ...stored.metadata, ownerReferences: [...refs] } });
    return Promise.resolve();
  }
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

function obj(
  def: AnyKindDefinition,
  name: string,
  owners: ApiObject[] = [],
  uid = `uid-${name}`,
): ApiObject {
  return {
    apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
    kind: def.kind,
    metadata: {
      name,
      namespace: 'ns',
      uid,
      ...(owners.length
        ? {
            ownerReferences: owners.map((o) => ({
              apiVersion: o.apiVersion,
              kind: o.kind,
              name: o.metadata.name ?? '',
              uid: o.metadata.uid ?? '',
              controller: true,
            })),
          }
        : {}),
    },
  };
}

function fixture(initial: {
  pods?: ApiObject[];
  rcs?: ApiObject[];
  rss?: ApiObject[];
  configMaps?: ApiObject[];
}) {
  const logger = new RecordingLogger();
  const stores = new Map<AnyKindDefinition, FakeListWatcher>([
    [podKind, new FakeListWatcher(initial.pods ?? [])],
    [replicationControllerKind, new FakeListWatcher(initial.rcs ?? [])],
    [replicaSetKind, new FakeListWatcher(initial.rss ?? [])],
    [configMapKind, new FakeListWatcher(initial.configMaps ?? [])],
  ]);
  const informer = (def: AnyKindDefinition) =>
    new Informer<ApiObject>({ name: def.plural, listWatcher: stores.get(def)!, logger });
  const pods = { def: podKind, informer: informer(podKind) };
  const rcs = { def: replicationControllerKind, informer: informer(replicationControllerKind) };
  const rss = { def: replicaSetKind, informer: informer(replicaSetKind) };
  const client = new FakeClient(stores);
  const gc = new GarbageCollector({
    dependents: [pods, rcs, rss],
    owners: [rcs, rss],
    registry: builtinKinds(),
    ignoredOwnerKinds: ['Build', 'BuildConfig'],
    client,
    logger,
  });
  const abort = new AbortController();
  const runs = [pods, rcs, rss].map((w) => w.informer.run(abort.signal));
  runs.push(gc.run(abort.signal));
  stops.push(async () => {
    abort.abort();
    await Promise.all(runs);
  });
  const names = (def: AnyKindDefinition) =>
    stores
      .get(def)!
      .objects()
      .map((o) => o.metadata.name)
      .sort();
  return { stores, client, logger, names };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await flush();
  expect(check()).toBe(true);
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await flush();
}

const rcWeb = obj(replicationControllerKind, 'web');

describe('GarbageCollector', () => {
  it('leaves dependents of live owners alone without asking the server', async () => {
    const f = fixture({ rcs: [rcWeb], pods: [obj(podKind, 'web-1', [rcWeb])] });
    await settle();
    expect(f.client.actions).toEqual([]);
    expect(f.names(podKind)).toEqual(['web-1']);
  });

  it("deletes an owner's dependents once it is gone, and only those", async () => {
    const db = obj(replicationControllerKind, 'db');
    const f = fixture({
      rcs: [rcWeb, db],
      pods: [
        obj(podKind, 'web-1', [rcWeb]),
        obj(podKind, 'web-2', [rcWeb]),
        obj(podKind, 'db-1', [db]),
        obj(podKind, 'loner'),
      ],
    });
    await settle();
    f.stores.get(replicationControllerKind)!.remove('ns/web');
    await until(() => f.names(podKind).join() === 'db-1,loner');
    expect(f.client.actions.filter((a) => a.startsWith('delete')).sort()).toEqual([
      'delete pods ns/web-1',
      'delete pods ns/web-2',
    ]);
  });

  it('deletes dependents whose owner was deleted before they were seen, or re-created', async () => {
    const f = fixture({
      rcs: [obj(replicationControllerKind, 'web', [], 'new-uid')],
      pods: [obj(podKind, 'web-1', [rcWeb])],
      rss: [obj(replicaSetKind, 'api-1', [obj(replicationControllerKind, 'never-was')])],
    });
    await until(() => f.names(podKind).length === 0 && f.names(replicaSetKind).length === 0);
    expect(f.names(replicationControllerKind)).toEqual(['web']);
  });

  it('removes only the references to owners that are gone when others remain', async () => {
    const gone = obj(replicationControllerKind, 'gone');
    const f = fixture({ rcs: [rcWeb], pods: [obj(podKind, 'shared', [rcWeb, gone])] });
    await until(() => f.client.actions.includes('patch pods ns/shared'));
    const pod = f.stores.get(podKind)!.objects()[0]!;
    expect(pod.metadata.ownerReferences?.map((r) => r.name)).toEqual(['web']);
    await settle();
    expect(f.names(podKind)).toEqual(['shared']);
  });

  it('checks owners of unwatched kinds with a live read', async () => {
    const cm = obj(configMapKind, 'settings');
    const f = fixture({ configMaps: [cm], pods: [obj(podKind, 'p', [cm])] });
    await settle();
    expect(f.names(podKind)).toEqual(['p']);
    expect(f.client.actions).toContain('get configmaps ns/settings');
    f.stores.get(configMapKind)!.remove('ns/settings');
    // An unwatched owner's deletion wakes nothing; the dependent's next change does.
    const p = f.stores.get(podKind)!.objects()[0]!;
    f.stores.get(podKind)!.update({
      ...p,
      metadata: { ...p.metadata, ownerReferences: [...p.metadata.ownerReferences!] },
    });
    await settle();
    expect(f.names(podKind)).toEqual(['p']); // same references: not re-examined
    f.stores.get(podKind)!.remove('ns/p');
    f.stores.get(podKind)!.create(obj(podKind, 'q', [cm]));
    await until(() => f.names(podKind).length === 0);
  });

  it('leaves build pods, owners of unknown kinds and orphaned objects alone', async () => {
    const build = {
      apiVersion: 'build.openshift.io/v1',
      kind: 'Build',
      metadata: { name: 'b-1', uid: 'uid-b' },
    };
    const alien = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', uid: 'u' },
    };
    const f = fixture({
      pods: [obj(podKind, 'b-1-build', [build]), obj(podKind, 'widget-pod', [alien])],
      rcs: [rcWeb],
    });
    await settle();
    expect(f.names(podKind)).toEqual(['b-1-build', 'widget-pod']);
    expect(f.client.actions.filter((a) => !a.startsWith('get'))).toEqual([]);
    expect(f.logger.records.some((e) => e.msg?.includes('does not serve'))).toBe(true);
  });

  it('spares a dependent orphaned after the cache saw it (decides on a live read)', async () => {
    const f = fixture({ rcs: [rcWeb], pods: [obj(podKind, 'web-1', [rcWeb])] });
    await settle();
    // The server orphans the pod; the cache has not seen it when the owner's deletion arrives.
    const client = f.client;
    const get = client.get.bind(client);
    client.get = async (def, ns, name) => {
      const live = await get(def, ns, name);
      if (def !== podKind || !live) return live;
      return { ...live, metadata: { ...live.metadata, ownerReferences: [] } };
    };
    f.stores.get(replicationControllerKind)!.remove('ns/web');
    await until(() => client.actions.some((a) => a.startsWith('get pods')));
    await settle();
    expect(f.names(podKind)).toEqual(['web-1']);
    expect(client.actions.filter((a) => a.startsWith('delete'))).toEqual([]);
  });
});

import {
  type AnyKindDefinition,
  type ApiObject,
  isApiError,
  type KindRegistry,
  objectKey,
  type OwnerReference,
  unlessNotFound,
} from '../../../src/api/index.js';
import type { ApiClient } from '../../../src/client/index.js';
import {
  Controller,
  OWNER_UID_INDEX,
  ownerUidIndex,
  WorkQueue,
  type Clock,
  type EventHandler,
  type IndexFunc,
  type Logger,
  type ReconcileResult,
} from '../../../src/reconcile/index.js';

/** The reads and writes the garbage collector makes, by kind; unit tests fake it. */
export interface GarbageCollectorClient {
  /** A live read; undefined when the object does not exist. */
  get(
    def: AnyKindDefinition,
    namespace: string | undefined,
    name: string,
    signal: AbortSignal,
  ): Promise<ApiObject | undefined>;
  /** DELETE with the object's uid and resourceVersion as preconditions; gone counts as done. */
  delete(def: AnyKindDefinition, obj: ApiObject, signal: AbortSignal): Promise<void>;
  /** Sets the object's ownerReferences (a merge patch with uid and resourceVersion). */
  setOwnerReferences(
    def: AnyKindDefinition,
    obj: ApiObject,
    refs: readonly OwnerReference[],
    signal: AbortSignal,
  ): Promise<void>;
}

export function httpGarbageCollectorClient(client: ApiClient): GarbageCollectorClient {
  return {
    get: (def, namespace, name, signal) =>
      unlessNotFound(client.get(def, name, { namespace, signal })),
    async delete(def, obj, signal) {
      const { namespace, name = '', uid, resourceVersion } = obj.metadata;
      try {
        await client.delete(def, name, {
          namespace,
          preconditions: {
            ...(uid ? { uid } : {}),
            ...(resourceVersion ? { resourceVersion } : {}),
          },
          signal,
        });
      } catch (err) {
        if (!isApiError(err, 'NotFound')) throw err;
      }
    },
    async setOwnerReferences(def, obj, refs, signal) {
      const { namespace, name = '', uid, resourceVersion } = obj.metadata;
      await client.patch(
        def,
        name,
        { metadata: { uid, resourceVersion, ownerReferences: refs.length ? refs : null } },
        { namespace, signal },
      );
    },
  };
}

/** What the collector uses of an informer (of any kind). */
export interface ObjectCache {
  get(key: string): ApiObject | undefined;
  indexKeys(name: string, value: string): string[];
  addIndex(name: string, fn: IndexFunc<ApiObject>): void;
  addEventHandler(handler: EventHandler<ApiObject>): () => void;
  waitForSync(signal?: AbortSignal): Promise<boolean>;
}

/** Objects of one kind, kept in an informer. */
export interface Watched {
  def: AnyKindDefinition;
  informer: ObjectCache;
}

export interface GarbageCollectorOptions {
  /** The kinds whose objects are collected when their owners are gone. */
  dependents: readonly Watched[];
  /** Owner kinds watched so that an owner's deletion wakes its dependents at once (owners of
   * other kinds are checked when a dependent changes). */
  owners: readonly Watched[];
  /** Resolves an ownerReference's apiVersion and kind. */
  registry: KindRegistry;
  /** Dependents with an owner of one of these kinds are left alone (someone else collects
   * them: the build controllers delete the builds and pods of deleted BuildConfigs and Builds). */
  ignoredOwnerKinds?: readonly string[];
  client: GarbageCollectorClient;
  logger: Logger;
  clock?: Clock;
}

type OwnerState = 'present' | 'absent' | 'unknown';

const SEPARATOR = '|';

/**
 * Kubernetes' garbage collector, background propagation only: a dependent (an object with
 * ownerReferences) whose every owner is gone (not found, or found with another uid) is deleted;
 * one with some owners gone has the dangling references removed. Decisions are made on a live
 * read of the dependent and its owners, and the delete carries the read's uid and
 * resourceVersion, so an owner re-created, or a dependent orphaned meanwhile, is spared. Keyed
 * by `group/plural|namespace/name`.
 */
export class GarbageCollector {
  readonly #dependents: Map<string, Watched>;
  readonly #owners: Map<AnyKindDefinition, Watched>;
  readonly #registry: KindRegistry;
  readonly #ignored: ReadonlySet<string>;
  readonly #client: GarbageCollectorClient;
  readonly #log: Logger;
  readonly #queue: WorkQueue<string>;
  readonly #controller: Controller<string>;
  readonly #unknownKinds = new Set<string>();

  constructor(options: GarbageCollectorOptions) {
    this.#dependents = new Map(options.dependents.map((w) => [resourceId(w.def), w]));
    this.#owners = new Map(options.owners.map((w) => [w.def, w]));
    this.#registry = options.registry;
    this.#ignored = new Set(options.ignoredOwnerKinds ?? []);
    this.#client = options.client;
    this.#log = options.logger.child({ component: 'garbage-collector' });
    this.#queue = new WorkQueue<string>(options.clock ? { clock: options.clock } : {});
    const informers = new Set([...options.dependents, ...options.owners].map((w) => w.informer));
    this.#controller = new Controller({
      name: 'garbage-collector',
      queue: this.#queue,
      workers: 2,
      logger: options.logger,
      waitFor: [...informers],
      reconcile: (key, signal) => this.reconcile(key, signal),
    });
    for (const dep of options.dependents) {
      dep.informer.addIndex(OWNER_UID_INDEX, ownerUidIndex);
      const id = resourceId(dep.def);
      const enqueue = (obj: ApiObject): void => {
        if (obj.metadata.ownerReferences?.length) this.#queue.add(id + SEPARATOR + objectKey(obj));
      };
      dep.informer.addEventHandler({
        onAdd: enqueue,
        onUpdate: (old, obj) => {
          const refs = (o: ApiObject) => JSON.stringify(o.metadata.ownerReferences ?? []);
          if (old.metadata.uid !== obj.metadata.uid || refs(old) !== refs(obj)) enqueue(obj);
        },
      });
    }
    for (const owner of options.owners) {
      owner.informer.addEventHandler({
        onDelete: (obj) => this.#ownerGone(obj),
        onUpdate: (old, obj) => {
          if (old.metadata.uid !== obj.metadata.uid) this.#ownerGone(old);
        },
      });
    }
  }

  /** Runs until `signal` aborts (after the caches have synced). */
  run(signal: AbortSignal): Promise<void> {
    return this.#controller.run(signal);
  }

  /** Wakes every dependent that names this owner. */
  #ownerGone(owner: ApiObject): void {
    const uid = owner.metadata.uid;
    if (!uid) return;
    for (const [id, dep] of this.#dependents) {
      for (const key of dep.informer.indexKeys(OWNER_UID_INDEX, uid)) {
        this.#queue.add(id + SEPARATOR + key);
      }
    }
  }

  /** One look at a dependent; public for tests. */
  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | void> {
    const at = key.indexOf(SEPARATOR);
    const dep = this.#dependents.get(key.slice(0, at));
    const cached = dep?.informer.get(key.slice(at + 1));
    if (!dep || !cached) return;
    if (!(await this.#anyOwnerGone(cached, signal))) return;
    // Decide on the dependent as it is now, not as the cache last saw it.
    const { namespace, name = '' } = cached.metadata;
    const latest = await this.#client.get(dep.def, namespace, name, signal);
    if (!latest || latest.metadata.uid !== cached.metadata.uid) return;
    if (latest.metadata.deletionTimestamp) return;
    const refs = latest.metadata.ownerReferences ?? [];
    if (refs.some((r) => this.#ignored.has(r.kind))) return;
    const states = await Promise.all(refs.map((r) => this.#ownerState(r, namespace, signal)));
    if (states.includes('unknown') || !states.includes('absent')) return;
    if (states.every((s) => s === 'absent')) {
      await this.#client.delete(dep.def, latest, signal);
      this.#log.info(
        { kind: dep.def.kind, object: objectKey(latest), owners: refs.map(describeRef) },
        'deleted an object whose owners are gone',
      );
      return;
    }
    const kept = refs.filter((_r, i) => states[i] === 'present');
    await this.#client.setOwnerReferences(dep.def, latest, kept, signal);
    this.#log.info(
      { kind: dep.def.kind, object: objectKey(latest) },
      'removed references to owners that are gone',
    );
  }

  /** A quick look through the owner caches: false when every owner is known to exist. */
  async #anyOwnerGone(obj: ApiObject, signal: AbortSignal): Promise<boolean> {
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0 || obj.metadata.deletionTimestamp) return false;
    if (refs.some((r) => this.#ignored.has(r.kind))) return false;
    for (const ref of refs) {
      const state = await this.#ownerState(ref, obj.metadata.namespace, signal, true);
      if (state === 'absent') return true;
    }
    return false;
  }

  #warnOnce(kind: string, message: string): void {
    if (this.#unknownKinds.has(kind)) return;
    this.#unknownKinds.add(kind);
    this.#log.warn({ owner: kind }, message);
  }

  /**
   * Whether an owner exists with the referenced uid: from its informer's cache when it is
   * there, else by a live read (a cache may not have seen a new owner yet). `cacheOnly` treats
   * an owner missing from a watched kind's cache as absent without reading.
   */
  async #ownerState(
    ref: OwnerReference,
    namespace: string | undefined,
    signal: AbortSignal,
    cacheOnly = false,
  ): Promise<OwnerState> {
    const def = this.#registry.forObject(ref.apiVersion, ref.kind);
    if (!def) {
      this.#warnOnce(
        `${ref.apiVersion}/${ref.kind}`,
        'owner of a kind this server does not serve; left alone',
      );
      return 'unknown';
    }
    const ns = def.namespaced ? namespace : undefined;
    const watched = this.#owners.get(def);
    if (watched) {
      const cached = watched.informer.get(ns ? `${ns}/${ref.name}` : ref.name);
      if (cached?.metadata.uid === ref.uid) return 'present';
      if (cacheOnly) return 'absent';
    } else if (cacheOnly) {
      // Unwatched owner kinds: only a live read can tell.
      return 'absent';
    }
    try {
      const live = await this.#client.get(def, ns, ref.name, signal);
      return live?.metadata.uid === ref.uid ? 'present' : 'absent';
    } catch (err) {
      // Not allowed to look (an owner kind outside the collector's rules): leave it alone.
      if (!isApiError(err, 'Forbidden')) throw err;
      this.#warnOnce(
        `${ref.apiVersion}/${ref.kind}`,
        'owner of a kind the collector may not read; left alone',
      );
      return 'unknown';
    }
  }
}

function resourceId(def: AnyKindDefinition): string {
  return `${def.group}/${def.plural}`;
}

function describeRef(ref: OwnerReference): string {
  return `${ref.kind}/${ref.name}`;
}

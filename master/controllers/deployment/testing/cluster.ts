/**
 * A small simulated cluster for the deployment controllers' unit tests: fake stores the
 * informers list and watch, a WorkloadClient that writes to them as the API server would
 * (resourceVersion checks, status subresource, AlreadyExists), and a stand-in for the
 * replication controller and the nodes (pods made and removed for the sets' specs, readiness
 * and termination driven by the test).
 */
import {
  ApiError,
  objectKey,
  type AnyKindDefinition,
  type ApiObject,
  type Pod,
} from '../../../../src/api/index.js';
import type { Deployment } from '../../../../src/api/kinds/deployment.js';
import type { DeploymentConfig } from '../../../../src/api/kinds/deployment-config.js';
import type { ImageStream } from '../../../../src/api/kinds/image-stream.js';
import type { ReplicaSet } from '../../../../src/api/kinds/replica-set.js';
import type { ReplicationController } from '../../../../src/api/kinds/replication-controller.js';
import { Informer } from '../../../../src/reconcile/index.js';
import { FakeClock, flush } from '../../../../src/reconcile/testing/fake-clock.js';
import { FakeListWatcher } from '../../../../src/reconcile/testing/fake-list-watcher.js';
import { RecordingLogger } from '../../../../src/reconcile/testing/recording-logger.js';
import { FakeRecorder } from '../../testing/fakes.js';
import type { WorkloadClient } from '../client.js';
import { DeploymentConfigController } from '../dc-controller.js';
import { DeploymentController } from '../deployment-controller.js';

/** Wall time at the fake clock's 0. */
export const EPOCH = Date.parse('2030-01-01T00:00:00Z');

type Store = FakeListWatcher<ApiObject>;

function conflict(key: string): ApiError {
  return new ApiError('Conflict', `Operation cannot be fulfilled on "${key}": stale`);
}

/** Writes to the fake stores as the API server would; records `verb plural ns/name`. */
export class FakeWorkloadClient implements WorkloadClient {
  readonly actions: string[] = [];
  readonly #stores: Map<string, Store>;
  readonly #now: () => Date;
  #uids = 0;

  constructor(stores: Map<string, Store>, now: () => Date) {
    this.#stores = stores;
    this.#now = now;
  }

  #store(def: AnyKindDefinition): Store {
    const store = this.#stores.get(def.plural);
    if (!store) throw new Error(`no fake store for ${def.plural}`);
    return store;
  }

  #stored(def: AnyKindDefinition, key: string): ApiObject | undefined {
    return this.#store(def)
      .objects()
      .find((o) => objectKey(o) === key);
  }

  create<T extends ApiObject>(def: AnyKindDefinition, obj: T): Promise<T> {
    this.actions.push(`create ${def.plural} ${objectKey(obj)}`);
    const copy = structuredClone(obj);
    copy.metadata.creationTimestamp = this.#now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    copy.metadata.generation = 1;
    copy.metadata.uid = `uid-${++this.#uids}`;
    return Promise.resolve(this.#store(def).create(copy) as T);
  }

  update<T extends ApiObject>(def: AnyKindDefinition, obj: T): Promise<T> {
    this.actions.push(`update ${def.plural} ${objectKey(obj)}`);
    const stored = this.#stored(def, objectKey(obj));
    if (!stored) return Promise.reject(ApiError.notFound(def.kind, objectKey(obj)));
    if (stored.metadata.resourceVersion !== obj.metadata.resourceVersion) {
      return Promise.reject(conflict(objectKey(obj)));
    }
    const next = structuredClone(obj) as ApiObject;
    if (def.statusSubresource) next.status = stored.status;
    const specChanged =
      JSON.stringify({ ...stored, metadata: 0, status: 0 }) !==
      JSON.stringify({ ...next, metadata: 0, status: 0 });
    next.metadata.generation = (stored.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    return Promise.resolve(this.#store(def).update(next) as T);
  }

  updateStatus<T extends ApiObject>(def: AnyKindDefinition, obj: T): Promise<T> {
    this.actions.push(`update-status ${def.plural} ${objectKey(obj)}`);
    const stored = this.#stored(def, objectKey(obj));
    if (!stored) return Promise.reject(ApiError.notFound(def.kind, objectKey(obj)));
    if (stored.metadata.resourceVersion !== obj.metadata.resourceVersion) {
      return Promise.reject(conflict(objectKey(obj)));
    }
    return Promise.resolve(
      this.#store(def).update({ ...stored, status: structuredClone(obj.status) }) as T,
    );
  }

  delete(def: AnyKindDefinition, obj: ApiObject): Promise<void> {
    this.actions.push(`delete ${def.plural} ${objectKey(obj)}`);
    const stored = this.#stored(def, objectKey(obj));
    if (!stored || stored.metadata.uid !== obj.metadata.uid) return Promise.resolve();
    const phase = (stored.status as { phase?: string } | undefined)?.phase;
    const finished = phase === 'Succeeded' || phase === 'Failed';
    if (def.plural === 'pods' && !finished && stored.metadata.deletionTimestamp === undefined) {
      // A running pod is only marked; the test ends it with `finishTerminating`.
      this.#store(def).update({
        ...stored,
        metadata: { ...stored.metadata, deletionTimestamp: this.#now().toISOString() },
      });
      return Promise.resolve();
    }
    this.#store(def).remove(objectKey(obj));
    return Promise.resolve();
  }

  /** The actions of one verb and resource (`update replicationcontrollers`). */
  of(prefix: string): string[] {
    return this.actions.filter((a) => a.startsWith(prefix));
  }
}

export interface SimOptions {
  dcs?: DeploymentConfig[];
  deployments?: Deployment[];
  streams?: ImageStream[];
}

/** Both controllers over fake stores, a fake clock, and the pods the test drives. */
export class SimCluster {
  readonly clock = new FakeClock(0);
  readonly now = (): Date => new Date(EPOCH + this.clock.now());
  readonly dcs: FakeListWatcher<DeploymentConfig>;
  readonly deployments: FakeListWatcher<Deployment>;
  readonly rcs = new FakeListWatcher<ReplicationController>();
  readonly rss = new FakeListWatcher<ReplicaSet>();
  readonly pods = new FakeListWatcher<Pod>();
  readonly streams: FakeListWatcher<ImageStream>;
  readonly client: FakeWorkloadClient;
  readonly recorder = new FakeRecorder();
  readonly logger = new RecordingLogger();
  readonly dcController: DeploymentConfigController;
  readonly deploymentController: DeploymentController;
  readonly #abort = new AbortController();
  readonly #runs: Promise<unknown>[] = [];
  #podSeq = 0;

  constructor(options: SimOptions = {}) {
    this.dcs = new FakeListWatcher(options.dcs ?? []);
    this.deployments = new FakeListWatcher(options.deployments ?? []);
    this.streams = new FakeListWatcher(options.streams ?? []);
    const stores = new Map<string, Store>([
      ['deploymentconfigs', this.dcs],
      ['deployments', this.deployments],
      ['replicationcontrollers', this.rcs],
      ['replicasets', this.rss],
      ['pods', this.pods],
    ]);
    this.client = new FakeWorkloadClient(stores, this.now);
    const informer = <T extends ApiObject>(name: string, lw: FakeListWatcher<T>) =>
      new Informer<T>({ name, listWatcher: lw, logger: this.logger, clock: this.clock });
    const dcs = informer('deploymentconfigs', this.dcs);
    const deployments = informer('deployments', this.deployments);
    const rcs = informer('replicationcontrollers', this.rcs);
    const rss = informer('replicasets', this.rss);
    const pods = informer('pods', this.pods);
    const streams = informer('imagestreams', this.streams);
    this.dcController = new DeploymentConfigController({
      deploymentConfigs: dcs,
      replicationControllers: rcs,
      pods,
      imageStreams: streams,
      client: this.client,
      recorder: this.recorder,
      logger: this.logger,
      clock: this.clock,
      now: this.now,
      workers: 1,
    });
    this.deploymentController = new DeploymentController({
      deployments,
      replicaSets: rss,
      pods,
      client: this.client,
      recorder: this.recorder,
      logger: this.logger,
      clock: this.clock,
      now: this.now,
      workers: 1,
    });
    const signal = this.#abort.signal;
    for (const i of [dcs, deployments, rcs, rss, pods, streams]) this.#runs.push(i.run(signal));
    this.#runs.push(this.dcController.run(signal), this.deploymentController.run(signal));
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.#runs);
  }

  /** Lets the informers and controllers catch up with every change so far. */
  async settle(): Promise<void> {
    await flush(10);
  }

  /** Moves time on (queue timers fire) and settles. */
  async advance(ms: number): Promise<void> {
    await this.clock.tick(ms);
    await this.settle();
  }

  dc(name: string): DeploymentConfig {
    return this.dcs.objects().find((d) => d.metadata.name === name)!;
  }

  rc(name: string): ReplicationController | undefined {
    return this.rcs.objects().find((r) => r.metadata.name === name);
  }

  podsOf(set: ApiObject): Pod[] {
    return this.pods
      .objects()
      .filter((p) =>
        p.metadata.ownerReferences?.some((r) => r.controller && r.uid === set.metadata.uid),
      );
  }

  /**
   * The replication controller and kubelet, one pass: each RC and ReplicaSet gets active pods
   * up to its spec (not ready yet) or loses its not-ready pods first (marked terminating), and
   * reports its status.
   */
  syncReplicas(): void {
    const now = this.now().toISOString();
    for (const store of [this.rcs, this.rss] as FakeListWatcher<ReplicationController>[]) {
      for (const set of store.objects()) {
        const want = set.spec.replicas ?? 0;
        const active = this.podsOf(set).filter((p) => !p.metadata.deletionTimestamp);
        for (let i = active.length; i < want; i++) {
          const template = set.spec.template!;
          this.pods.create({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              name: `${set.metadata.name ?? ''}-p${++this.#podSeq}`,
              namespace: set.metadata.namespace ?? '',
              labels: { ...template.metadata?.labels },
              ownerReferences: [
                {
                  apiVersion: 'v1',
                  kind: set.kind,
                  name: set.metadata.name ?? '',
                  uid: set.metadata.uid ?? '',
                  controller: true,
                },
              ],
            },
            spec: structuredClone(template.spec),
            status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] },
          });
        }
        const byReadiness = [...active].sort((a, b) => Number(isReady(a)) - Number(isReady(b)));
        for (const pod of byReadiness.slice(0, Math.max(0, active.length - want))) {
          this.pods.update({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: now } });
        }
        const pods = this.podsOf(set).filter((p) => !p.metadata.deletionTimestamp);
        const ready = pods.filter(isReady).length;
        const status = {
          replicas: pods.length,
          readyReplicas: ready,
          availableReplicas: ready,
          observedGeneration: set.metadata.generation ?? 1,
        };
        if (JSON.stringify(status) !== JSON.stringify(set.status ?? {})) {
          store.update({ ...set, status });
        }
      }
    }
  }

  setReady(pod: Pod): void {
    const stored = this.pods.objects().find((p) => objectKey(p) === objectKey(pod));
    if (!stored) return;
    this.pods.update({
      ...stored,
      status: {
        ...stored.status,
        phase: 'Running',
        conditions: [
          { type: 'Ready', status: 'True', lastTransitionTime: this.now().toISOString() },
        ],
      },
    });
  }

  /** Makes every pod ready and removes terminating ones. */
  readyAll(): void {
    for (const pod of this.pods.objects()) {
      if (pod.metadata.deletionTimestamp) this.pods.remove(objectKey(pod));
      else if (!isReady(pod)) this.setReady(pod);
    }
  }

  finishTerminating(): void {
    for (const pod of this.pods.objects()) {
      if (pod.metadata.deletionTimestamp) this.pods.remove(objectKey(pod));
    }
  }

  /** Runs the cluster until `done` holds, making pods ready as they appear. */
  async runUntil(done: () => boolean, maxSteps = 200): Promise<void> {
    for (let i = 0; i < maxSteps; i++) {
      await this.settle();
      if (done()) return;
      this.syncReplicas();
      await this.settle();
      this.readyAll();
      this.syncReplicas();
      await this.advance(1100);
    }
    throw new Error('the simulated cluster did not get there');
  }
}

export function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function dcFixture(
  name: string,
  overrides: Partial<DeploymentConfig['spec']> = {},
): DeploymentConfig {
  return {
    apiVersion: 'apps.openshift.io/v1',
    kind: 'DeploymentConfig',
    metadata: { name, namespace: 'ns', generation: 1 },
    spec: {
      replicas: 4,
      selector: { app: name },
      revisionHistoryLimit: 10,
      triggers: [{ type: 'ConfigChange' }],
      strategy: {
        type: 'Rolling',
        rollingParams: {
          updatePeriodSeconds: 1,
          intervalSeconds: 1,
          timeoutSeconds: 600,
          maxSurge: '25%',
          maxUnavailable: '25%',
        },
        activeDeadlineSeconds: 21600,
      },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'web', image: 'example/web:1' }] },
      },
      ...overrides,
    },
  };
}

import {
  ApiError,
  objectKey,
  type ApiObject,
  type Build,
  type BuildConfig,
  type ImageStream,
  type Pod,
} from '../../../../src/api/index.js';
import type { FakeListWatcher } from '../../../../src/reconcile/testing/fake-list-watcher.js';
import type { BuildClient } from '../client.js';
import type { ScheduledImport } from '../scheduled-imports.js';
import type { TriggerRequest } from '../triggers.js';

/**
 * A BuildClient over fake stores that records every write as `verb kind key` and applies it
 * as the API server would (updates only at the current resourceVersion, deletes by uid).
 * `instantiate` numbers builds from the BuildConfig's lastVersion and honours the request's
 * lastVersion precondition, as the server does.
 */
export class FakeBuildClient implements BuildClient {
  readonly actions: string[] = [];
  readonly instantiated: TriggerRequest[] = [];
  readonly #pods: FakeListWatcher<Pod>;
  readonly #builds: FakeListWatcher<Build>;
  readonly #configs: FakeListWatcher<BuildConfig>;
  readonly #streams: FakeListWatcher<ImageStream>;

  constructor(stores: {
    pods: FakeListWatcher<Pod>;
    builds: FakeListWatcher<Build>;
    buildConfigs: FakeListWatcher<BuildConfig>;
    imageStreams: FakeListWatcher<ImageStream>;
  }) {
    this.#pods = stores.pods;
    this.#builds = stores.builds;
    this.#configs = stores.buildConfigs;
    this.#streams = stores.imageStreams;
  }

  #find<T extends ApiObject>(store: FakeListWatcher<T>, key: string): T | undefined {
    return store.objects().find((o) => objectKey(o) === key);
  }

  #update<T extends ApiObject>(store: FakeListWatcher<T>, obj: T): T {
    const stored = this.#find(store, objectKey(obj));
    if (!stored) throw ApiError.notFound(obj.kind, objectKey(obj));
    if (stored.metadata.resourceVersion !== obj.metadata.resourceVersion) {
      throw new ApiError('Conflict', `Operation cannot be fulfilled on "${objectKey(obj)}"`);
    }
    return store.update(structuredClone(obj));
  }

  #delete<T extends ApiObject>(store: FakeListWatcher<T>, obj: T): void {
    const stored = this.#find(store, objectKey(obj));
    if (!stored) return;
    if (obj.metadata.uid && stored.metadata.uid !== obj.metadata.uid) {
      throw new ApiError('Conflict', 'uid precondition failed');
    }
    store.remove(objectKey(obj));
  }

  async createPod(pod: Pod): Promise<Pod> {
    await Promise.resolve();
    this.actions.push(`create pod ${objectKey(pod)}`);
    if (this.#find(this.#pods, objectKey(pod)))
      throw ApiError.alreadyExists('pods', objectKey(pod));
    return this.#pods.create(pod);
  }

  async deletePod(pod: Pod): Promise<void> {
    await Promise.resolve();
    this.actions.push(`delete pod ${objectKey(pod)}`);
    this.#delete(this.#pods, pod);
  }

  async getPod(namespace: string, name: string): Promise<Pod | undefined> {
    await Promise.resolve();
    return this.#find(this.#pods, `${namespace}/${name}`);
  }

  async getBuild(namespace: string, name: string): Promise<Build | undefined> {
    await Promise.resolve();
    return this.#find(this.#builds, `${namespace}/${name}`);
  }

  async getBuildConfig(namespace: string, name: string): Promise<BuildConfig | undefined> {
    await Promise.resolve();
    return this.#find(this.#configs, `${namespace}/${name}`);
  }

  async updateBuild(build: Build): Promise<Build> {
    await Promise.resolve();
    this.actions.push(`update build ${objectKey(build)} ${build.status?.phase ?? ''}`);
    return this.#update(this.#builds, build);
  }

  async deleteBuild(build: Build): Promise<void> {
    await Promise.resolve();
    this.actions.push(`delete build ${objectKey(build)}`);
    this.#delete(this.#builds, build);
  }

  async updateImageStreamStatus(stream: ImageStream): Promise<ImageStream> {
    await Promise.resolve();
    this.actions.push(`update imagestream/status ${objectKey(stream)}`);
    return this.#update(this.#streams, stream);
  }

  /** Scheduled imports asked for, in order. */
  readonly imported: ScheduledImport[] = [];

  importImages(request: ScheduledImport): Promise<void> {
    this.actions.push(`import ${request.namespace}/${request.name}`);
    this.imported.push(request);
    return Promise.resolve();
  }

  async instantiate(namespace: string, name: string, request: TriggerRequest): Promise<Build> {
    await Promise.resolve();
    this.actions.push(`instantiate ${namespace}/${name}`);
    this.instantiated.push(request);
    const bc = this.#find(this.#configs, `${namespace}/${name}`);
    if (!bc) throw ApiError.notFound('buildconfigs', name);
    const last = bc.status?.lastVersion ?? 0;
    if (request.lastVersion !== last) throw new ApiError('Conflict', 'lastVersion moved');
    const number = last + 1;
    const statuses = request.triggeredByImage
      ? [
          {
            from: { namespace, name: request.from?.name ?? '' },
            lastTriggeredImageID: request.triggeredByImage.name,
          },
        ]
      : bc.status?.imageChangeTriggers;
    this.#configs.update({
      ...bc,
      status: {
        ...bc.status,
        lastVersion: number,
        ...(statuses ? { imageChangeTriggers: statuses } : {}),
      },
    });
    return this.#builds.create({
      apiVersion: 'build.openshift.io/v1',
      kind: 'Build',
      metadata: {
        name: `${name}-${number}`,
        namespace,
        annotations: {
          'openshift.io/build-config.name': name,
          'openshift.io/build.number': String(number),
        },
        ownerReferences: [
          {
            apiVersion: 'build.openshift.io/v1',
            kind: 'BuildConfig',
            name,
            uid: bc.metadata.uid ?? '',
            controller: true,
          },
        ],
      },
      spec: { ...bc.spec, triggeredBy: request.triggeredBy },
      status: { phase: 'New' },
    });
  }
}

/** Fakes and fixtures for the replication controller's unit tests. */
import { ApiError, objectKey, type ApiObject, type Pod } from '../../../src/api/index.js';
import { applyMergePatch } from '../../../src/api/merge-patch.js';
import type { ReplicaSet } from '../../../src/api/kinds/replica-set.js';
import type { ReplicationController } from '../../../src/api/kinds/replication-controller.js';
import type { FakeListWatcher } from '../../../src/reconcile/testing/fake-list-watcher.js';
import type { ReplicationClient } from './client.js';
import type { Workload } from './workload.js';

type Verb = 'create' | 'delete' | 'patch' | 'get' | 'update-status';

/**
 * A ReplicationClient that records every call and applies it to the fake stores as the API
 * server would: generated names, uid and revision preconditions, graceful deletion of pods a
 * node runs. `holdCreates` keeps created pods from the store (and so from the informer) until
 * `releaseCreates`, to play a cache that lags; `failNext` makes the next call of a verb throw.
 */
export class FakeReplicationClient implements ReplicationClient {
  readonly actions: string[] = [];
  holdCreates = false;
  readonly #pods: FakeListWatcher<Pod>;
  readonly #workloads: FakeListWatcher<Workload>;
  readonly #failures = new Map<Verb, Error[]>();
  readonly #held: Pod[] = [];
  #names = 0;

  constructor(pods: FakeListWatcher<Pod>, workloads: FakeListWatcher<Workload>) {
    this.#pods = pods;
    this.#workloads = workloads;
  }

  failNext(verb: Verb, error: Error): void {
    this.#failures.set(verb, [...(this.#failures.get(verb) ?? []), error]);
  }

  /** Puts the held creates into the store, so the informer sees them. */
  releaseCreates(): void {
    for (const pod of this.#held.splice(0)) this.#pods.create(pod);
  }

  /** Actions of one verb. */
  of(verb: Verb): string[] {
    return this.actions.filter((a) => a.startsWith(`${verb} `));
  }

  async createPod(pod: Pod): Promise<Pod> {
    const name = `${pod.metadata.generateName ?? ''}${String(++this.#names).padStart(5, 'x')}`;
    this.#act('create', name);
    await Promise.resolve();
    const stored: Pod = {
      ...structuredClone(pod),
      metadata: {
        ...structuredClone(pod.metadata),
        name,
        uid: `uid-${name}`,
        creationTimestamp: '2030-01-01T00:00:00Z',
      },
    };
    delete stored.metadata.generateName;
    if (this.holdCreates) {
      this.#held.push(stored);
      return structuredClone(stored);
    }
    return this.#pods.create(stored);
  }

  async deletePod(pod: Pod): Promise<void> {
    this.#act('delete', objectKey(pod));
    await Promise.resolve();
    const stored = this.#pods.objects().find((p) => objectKey(p) === objectKey(pod));
    if (!stored) return;
    if (pod.metadata.uid && stored.metadata.uid !== pod.metadata.uid) {
      throw ApiError.conflict('pods', objectKey(pod), 'uid precondition failed');
    }
    const phase = stored.status?.phase;
    if (!stored.spec.nodeName || phase === 'Succeeded' || phase === 'Failed') {
      this.#pods.remove(objectKey(pod));
      return;
    }
    if (stored.metadata.deletionTimestamp) return;
    this.#pods.update({
      ...stored,
      metadata: { ...stored.metadata, deletionTimestamp: '2030-01-01T00:00:30Z' },
    });
  }

  async patchPod(pod: Pod, patch: Record<string, unknown>): Promise<Pod> {
    this.#act('patch', objectKey(pod));
    await Promise.resolve();
    const stored = this.#pods.objects().find((p) => objectKey(p) === objectKey(pod));
    if (!stored) throw ApiError.notFound('pods', objectKey(pod));
    const meta = (patch.metadata ?? {}) as { uid?: string; resourceVersion?: string };
    if (
      (meta.uid && meta.uid !== stored.metadata.uid) ||
      (meta.resourceVersion && meta.resourceVersion !== stored.metadata.resourceVersion)
    ) {
      throw ApiError.conflict('pods', objectKey(pod), 'precondition failed');
    }
    return this.#pods.update(applyMergePatch(stored, patch) as Pod);
  }

  async getWorkload(namespace: string, name: string): Promise<Workload | undefined> {
    this.#act('get', `${namespace}/${name}`);
    await Promise.resolve();
    return this.#workloads.objects().find((w) => objectKey(w) === `${namespace}/${name}`);
  }

  async updateStatus(workload: Workload): Promise<Workload> {
    this.#act('update-status', objectKey(workload));
    await Promise.resolve();
    const stored = this.#workloads.objects().find((w) => objectKey(w) === objectKey(workload));
    if (!stored) throw ApiError.notFound('workload', objectKey(workload));
    if (stored.metadata.resourceVersion !== workload.metadata.resourceVersion) {
      throw ApiError.conflict('workload', objectKey(workload), 'stale');
    }
    return this.#workloads.update({ ...stored, status: structuredClone(workload.status) });
  }

  #act(verb: Verb, key: string): void {
    this.actions.push(`${verb} ${key}`);
    const error = this.#failures.get(verb)?.shift();
    if (error) throw error;
  }
}

export function rc(
  name: string,
  replicas: number,
  o: { selector?: Record<string, string>; labels?: Record<string, string>; minReady?: number } = {},
): ReplicationController {
  const labels = o.labels ?? { app: name };
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation: 1 },
    spec: {
      replicas,
      selector: o.selector ?? labels,
      ...(o.minReady ? { minReadySeconds: o.minReady } : {}),
      template: {
        metadata: { labels, annotations: { note: 'from-template' } },
        spec: { containers: [{ name: 'c', image: 'busybox:1' }] },
      },
    },
  };
}

export function rs(name: string, replicas: number): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation: 1 },
    spec: {
      replicas,
      selector: {
        matchLabels: { app: name },
        matchExpressions: [{ key: 'tier', operator: 'Exists' }],
      },
      template: {
        metadata: { labels: { app: name, tier: 'web' } },
        spec: { containers: [{ name: 'c', image: 'busybox:1' }] },
      },
    },
  };
}

export interface PodOptions {
  labels?: Record<string, string>;
  owner?: ApiObject;
  ownerKind?: { apiVersion: string; kind: string };
  node?: string;
  phase?: string;
  /** Ready since this time (ISO); false: not ready. */
  readySince?: string | false;
  restarts?: number;
  created?: string;
  terminating?: boolean;
}

export function pod(name: string, o: PodOptions = {}): Pod {
  const ready = o.readySince !== undefined && o.readySince !== false;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web' },
      creationTimestamp: o.created ?? '2030-01-01T00:00:00Z',
      ...(o.owner
        ? {
            ownerReferences: [
              {
                apiVersion: o.ownerKind?.apiVersion ?? o.owner.apiVersion,
                kind: o.ownerKind?.kind ?? o.owner.kind,
                name: o.owner.metadata.name ?? '',
                uid: o.owner.metadata.uid ?? '',
                controller: true,
              },
            ],
          }
        : {}),
      ...(o.terminating ? { deletionTimestamp: '2030-01-01T00:01:00Z' } : {}),
    },
    spec: {
      ...(o.node ? { nodeName: o.node } : {}),
      containers: [{ name: 'c', image: 'busybox:1' }],
    },
    status: {
      phase: (o.phase ?? 'Running') as NonNullable<Pod['status']>['phase'],
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          ...(ready ? { lastTransitionTime: o.readySince as string } : {}),
        },
      ],
      containerStatuses: [
        {
          name: 'c',
          ready,
          restartCount: o.restarts ?? 0,
          state: {},
          image: 'busybox:1',
        },
      ],
    },
  };
}

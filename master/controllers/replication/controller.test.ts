import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, objectKey, type Pod } from '../../../src/api/index.js';
import { Informer } from '../../../src/reconcile/index.js';
import { FakeClock, flush } from '../../../src/reconcile/testing/fake-clock.js';
import { FakeListWatcher } from '../../../src/reconcile/testing/fake-list-watcher.js';
import { RecordingLogger } from '../../../src/reconcile/testing/recording-logger.js';
import { FakeRecorder } from '../testing/fakes.js';
import { ReplicationManager } from './controller.js';
import { pod, rc, rs, FakeReplicationClient } from './testing.js';
import {
  replicaSetWorkload,
  replicationControllerWorkload,
  type Workload,
  type WorkloadKind,
} from './workload.js';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** Wall time of the fake clock's zero. */
const EPOCH = Date.parse('2030-01-01T00:00:00Z');

function fixture(
  initial: { workloads?: Workload[]; pods?: Pod[] },
  kind: WorkloadKind = replicationControllerWorkload,
) {
  const podStore = new FakeListWatcher<Pod>(initial.pods ?? []);
  const workloadStore = new FakeListWatcher<Workload>(initial.workloads ?? []);
  const logger = new RecordingLogger();
  const clock = new FakeClock();
  const pods = new Informer<Pod>({ name: 'pods', listWatcher: podStore, logger });
  const workloads = new Informer<Workload>({
    name: 'workloads',
    listWatcher: workloadStore,
    logger,
  });
  const client = new FakeReplicationClient(podStore, workloadStore);
  const recorder = new FakeRecorder();
  const manager = new ReplicationManager<Workload>({
    kind,
    workloads,
    pods,
    client,
    recorder,
    logger,
    clock,
    now: () => new Date(EPOCH + clock.now()),
  });
  const abort = new AbortController();
  const runs = [pods.run(abort.signal), workloads.run(abort.signal), manager.run(abort.signal)];
  stops.push(async () => {
    abort.abort();
    await Promise.all(runs);
  });
  const podsOf = (owner: string): Pod[] =>
    podStore
      .objects()
      .filter((p) => p.metadata.ownerReferences?.some((r) => r.controller && r.name === owner));
  const workload = (name: string): Workload =>
    workloadStore.objects().find((w) => objectKey(w) === `ns/${name}`)!;
  return { podStore, workloadStore, client, recorder, clock, manager, podsOf, workload };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await flush();
  expect(check()).toBe(true);
}

/** Lets everything settle, for asserting that nothing more happens. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await flush();
}

describe('ReplicationManager', () => {
  it('creates the replicas from the template, owned by the controller, and reports status', async () => {
    const f = fixture({ workloads: [rc('web', 3)] });
    await until(() => f.workload('web').status?.replicas === 3);
    const pods = f.podsOf('web');
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(/^web-/);
      expect(p.metadata.namespace).toBe('ns');
      expect(p.metadata.labels).toEqual({ app: 'web' });
      expect(p.metadata.annotations).toEqual({ note: 'from-template' });
      expect(p.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'v1',
          kind: 'ReplicationController',
          name: 'web',
          uid: 'uid-web',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(p.spec.containers[0]!.image).toBe('busybox:1');
    }
    expect(f.workload('web').status).toEqual({
      replicas: 3,
      fullyLabeledReplicas: 3,
      readyReplicas: 0,
      availableReplicas: 0,
      observedGeneration: 1,
    });
    expect(f.recorder.summary()).toEqual(
      pods.map(
        (p) =>
          `Normal SuccessfulCreate ReplicationController ns/web: Created pod: ${p.metadata.name}`,
      ),
    );
    // Status is written only when it changes.
    const writes = f.client.of('update-status').length;
    f.workloadStore.update({ ...f.workload('web'), metadata: { ...f.workload('web').metadata } });
    await settle();
    expect(f.client.of('update-status')).toHaveLength(writes);
    expect(f.client.of('create')).toHaveLength(3);
  });

  it('creates 1, 2, 4, ... and skips the rest after a failure, then retries', async () => {
    const refused = new ApiError('Forbidden', 'pods "web-x" is forbidden: no room');
    const f = fixture({ workloads: [] });
    // Batches of 1 and 2 succeed; the batch of 4 has one failure.
    const client = f.client;
    let calls = 0;
    let refuse = true;
    const create = client.createPod.bind(client);
    client.createPod = async (p) => {
      calls += 1;
      if (calls >= 5 && refuse) throw refused;
      return create(p);
    };
    f.workloadStore.create(rc('web', 10));
    await until(() => f.workload('web')?.status?.conditions !== undefined);
    await settle();
    // 1 + 2 + 4 (the fifth call failed), then every later sync tries one more batch of 1.
    expect(f.podsOf('web')).toHaveLength(4);
    expect(calls).toBeGreaterThanOrEqual(7);
    expect(f.workload('web').status?.conditions).toEqual([
      {
        type: 'ReplicaFailure',
        status: 'True',
        reason: 'FailedCreate',
        message: refused.message,
        lastTransitionTime: '2030-01-01T00:00:00Z',
      },
    ]);
    expect(f.recorder.summary()).toContain(
      `Warning FailedCreate ReplicationController ns/web: Error creating: ${refused.message}`,
    );
    // Retried after back-off: the other 6 are created and the condition goes.
    refuse = false;
    await f.clock.tick(1000);
    await until(() => f.podsOf('web').length === 10);
    await until(() => f.workload('web').status?.conditions === undefined);
    expect(f.workload('web').status?.replicas).toBe(10);
  });

  it('waits for the informer to see its creates before acting again (expectations)', async () => {
    const f = fixture({ workloads: [] });
    f.client.holdCreates = true;
    f.workloadStore.create(rc('web', 3));
    await until(() => f.client.of('create').length === 3);
    // Any number of syncs while the cache lags: no more pods.
    for (let i = 0; i < 3; i++) {
      f.workloadStore.update({ ...f.workload('web'), metadata: { ...f.workload('web').metadata } });
      await settle();
    }
    expect(f.client.of('create')).toHaveLength(3);
    expect(f.manager.expectations.pending('ns/web')).toEqual({ add: 3, del: 0 });
    f.client.releaseCreates();
    await until(() => f.workload('web').status?.replicas === 3);
    expect(f.manager.expectations.pending('ns/web')).toEqual({ add: 0, del: 0 });
    expect(f.client.of('create')).toHaveLength(3);
  });

  it('gives up on expectations after five minutes', async () => {
    const f = fixture({ workloads: [] });
    f.client.holdCreates = true;
    f.workloadStore.create(rc('web', 2));
    await until(() => f.client.of('create').length === 2);
    await f.clock.tick(5 * 60_000);
    f.workloadStore.update({ ...f.workload('web'), metadata: { ...f.workload('web').metadata } });
    await until(() => f.client.of('create').length === 4);
  });

  it('replaces a deleted pod, an evicted one and a failed one, and does not count terminating pods', async () => {
    const f = fixture({ workloads: [rc('web', 2)] });
    await until(() => f.podsOf('web').length === 2);
    const [first, second] = f.podsOf('web');
    // Deleted (a user, or the node lifecycle controller's eviction).
    f.podStore.remove(objectKey(first!));
    await until(() => f.podsOf('web').length === 2 && f.client.of('create').length === 3);
    // Terminating: no longer counted, replaced at once.
    f.podStore.update({
      ...second!,
      metadata: { ...second!.metadata, deletionTimestamp: '2030-01-01T00:00:30Z' },
    });
    await until(() => f.client.of('create').length === 4);
    // Failed: deleted and replaced.
    const live = f.podsOf('web').filter((p) => !p.metadata.deletionTimestamp);
    const victim = live[0]!;
    f.podStore.update({ ...victim, status: { phase: 'Failed' } });
    await until(() => f.client.of('create').length === 5);
    await until(() => !f.podStore.objects().some((p) => p.metadata.name === victim.metadata.name));
    expect(f.client.of('delete')).toEqual([`delete ${objectKey(victim)}`]);
    expect(f.recorder.summary()).toContain(
      `Normal SuccessfulDelete ReplicationController ns/web: Deleted pod: ${victim.metadata.name}`,
    );
    await until(() => f.workload('web').status?.replicas === 2);
  });

  it("scales down in Kubernetes' order: unassigned, pending, not ready, ready for less time, restarts, newer", async () => {
    const web = rc('web', 7);
    const mk = (name: string, o: Parameters<typeof pod>[1]) =>
      pod(name, { owner: web, labels: { app: 'web' }, node: 'n1', ...o });
    const pods = [
      mk('old-ready', { readySince: '2030-01-01T00:00:00Z', created: '2029-01-01T00:00:00Z' }),
      mk('new-ready', { readySince: '2030-01-01T00:00:00Z', created: '2029-06-01T00:00:00Z' }),
      mk('recently-ready', { readySince: '2030-01-01T00:05:00Z' }),
      mk('restarting', { readySince: '2030-01-01T00:00:00Z', restarts: 4 }),
      mk('not-ready', { readySince: false }),
      mk('pending', { phase: 'Pending', readySince: false }),
      { ...mk('unassigned', { phase: 'Pending', readySince: false }), spec: { containers: [] } },
    ] as Pod[];
    const f = fixture({ workloads: [web], pods });
    await until(() => f.workload('web').status?.replicas === 7);
    expect(f.client.of('create')).toHaveLength(0);
    const order = [
      'unassigned',
      'pending',
      'not-ready',
      'recently-ready',
      'restarting',
      'new-ready',
      'old-ready',
    ];
    for (let n = 6; n >= 0; n--) {
      f.workloadStore.update({
        ...f.workload('web'),
        spec: { ...f.workload('web').spec, replicas: n },
      });
      const expected = order.slice(0, 7 - n).map((name) => `delete ns/${name}`);
      await until(() => f.client.of('delete').length === expected.length);
      expect(f.client.of('delete')).toEqual(expected);
      // Deleting pods on a node only marks them: they stop counting at once.
      await until(() => f.workload('web').status?.replicas === n);
    }
  });

  it('adopts a matching orphan, releases a pod that no longer matches, ignores pods of other controllers', async () => {
    const web = rc('web', 2);
    const build = {
      apiVersion: 'build.openshift.io/v1',
      kind: 'Build',
      metadata: { name: 'b', uid: 'uid-b' },
    };
    const f = fixture({
      workloads: [web],
      pods: [
        pod('orphan', { labels: { app: 'web' } }),
        pod('owned-elsewhere', { labels: { app: 'web' }, owner: build }),
        pod('stranger', { labels: { app: 'db' } }),
      ],
    });
    await until(() => f.podsOf('web').length === 2);
    const orphan = f.podStore.objects().find((p) => p.metadata.name === 'orphan')!;
    expect(orphan.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'v1',
        kind: 'ReplicationController',
        name: 'web',
        uid: 'uid-web',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    // Adopted with a live read of the controller first; one more pod created.
    expect(f.client.actions.slice(0, 2)).toEqual(['get ns/web', 'patch ns/orphan']);
    expect(f.client.of('create')).toHaveLength(1);
    expect(f.client.of('patch')).toEqual(['patch ns/orphan']);

    // Relabelled: released (ownerReference removed) and replaced.
    f.podStore.update({ ...orphan, metadata: { ...orphan.metadata, labels: { app: 'debug' } } });
    await until(() => f.client.of('create').length === 2);
    const released = f.podStore.objects().find((p) => p.metadata.name === 'orphan')!;
    expect(released.metadata.ownerReferences).toBeUndefined();
    expect(f.client.of('patch')).toEqual(['patch ns/orphan', 'patch ns/orphan']);
    await until(() => f.workload('web').status?.replicas === 2);
  });

  it('neither adopts nor creates when a live read shows the controller is gone or replaced', async () => {
    const web = rc('web', 2);
    const f = fixture({ workloads: [web], pods: [pod('orphan', { labels: { app: 'web' } })] });
    f.client.getWorkload = (ns, name) => {
      f.client.actions.push(`get ${ns}/${name}`);
      return Promise.resolve({ ...web, metadata: { ...web.metadata, uid: 'other' } });
    };
    await until(() => f.client.of('get').length >= 1);
    await settle();
    expect(f.client.of('patch')).toEqual([]);
    expect(f.client.of('create')).toEqual([]);
  });

  it('retries an adoption that lost a race (409) without creating a pod for it', async () => {
    const f = fixture({
      workloads: [rc('web', 1)],
      pods: [pod('orphan', { labels: { app: 'web' } })],
    });
    f.client.failNext('patch', ApiError.conflict('pods', 'ns/orphan', 'stale'));
    await until(() => f.client.of('patch').length === 1);
    await settle();
    expect(f.client.of('create')).toEqual([]);
    await f.clock.tick(1000);
    await until(() => f.client.of('patch').length === 2);
    await until(() => f.podsOf('web').length === 1);
    await settle();
    expect(f.client.of('create')).toEqual([]);
  });

  it('becomes available after minReadySeconds and re-syncs for it', async () => {
    const web = rc('web', 1, { minReady: 10 });
    const f = fixture({
      workloads: [web],
      pods: [
        pod('a', {
          owner: web,
          labels: { app: 'web' },
          node: 'n1',
          readySince: '2030-01-01T00:00:00Z',
        }),
      ],
    });
    await until(() => f.workload('web').status?.readyReplicas === 1);
    expect(f.workload('web').status?.availableReplicas).toBe(0);
    await f.clock.tick(9_000);
    await settle();
    expect(f.workload('web').status?.availableReplicas).toBe(0);
    await f.clock.tick(1_100);
    await until(() => f.workload('web').status?.availableReplicas === 1);
  });

  it('reports observedGeneration and fullyLabeledReplicas', async () => {
    const web = rc('web', 2, { selector: { app: 'web' }, labels: { app: 'web', v: '1' } });
    web.metadata.generation = 4;
    const f = fixture({
      workloads: [web],
      pods: [
        pod('partial', { owner: web, labels: { app: 'web' }, node: 'n1' }),
        pod('full', { owner: web, labels: { app: 'web', v: '1' }, node: 'n1' }),
      ],
    });
    await until(() => f.workload('web').status?.observedGeneration === 4);
    expect(f.workload('web').status).toMatchObject({ replicas: 2, fullyLabeledReplicas: 1 });
  });

  it('serves ReplicaSets: structured selectors and apps/v1 owner references', async () => {
    const f = fixture(
      {
        workloads: [rs('api', 2)],
        pods: [pod('no-tier', { labels: { app: 'api' } })],
      },
      replicaSetWorkload,
    );
    await until(() => f.workload('api').status?.replicas === 2);
    // The pod without `tier` does not match `tier exists`: left alone.
    expect(f.client.of('patch')).toEqual([]);
    const [p] = f.podsOf('api');
    expect(p!.metadata.ownerReferences?.[0]).toMatchObject({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: 'api',
    });
    expect(f.recorder.summary()[0]).toMatch(
      /^Normal SuccessfulCreate ReplicaSet ns\/api: Created pod: api-/,
    );
  });

  it('forgets a deleted controller and leaves its pods to the garbage collector', async () => {
    const f = fixture({ workloads: [rc('web', 2)] });
    await until(() => f.podsOf('web').length === 2);
    f.workloadStore.remove('ns/web');
    await settle();
    expect(f.client.of('delete')).toEqual([]);
    expect(f.manager.expectations.pending('ns/web')).toBeUndefined();
  });
});

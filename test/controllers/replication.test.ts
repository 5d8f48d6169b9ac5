// The replication controllers (ReplicationController, ReplicaSet) and the garbage collector
// inside a real master, over HTTP, with pods on a simulated node whose status the test posts as
// an agent would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  podKind,
  replicaSetKind,
  replicationControllerKind,
  type Pod,
} from '../../src/api/index.js';
import type { ReplicaSet } from '../../src/api/kinds/replica-set.js';
import type { ReplicationController } from '../../src/api/kinds/replication-controller.js';
import {
  eventsFor,
  podSpec,
  rcBody,
  SimulatedNode,
  startCluster,
  startClusterWithNode,
  waitFor,
  type Cluster,
  type NodeCluster,
} from './support.js';

let c: NodeCluster;
const NS = 'apps';

beforeAll(async () => {
  // As an agent: pods marked for deletion are confirmed gone.
  c = await startClusterWithNode({ namespace: NS, confirmDeletions: true });
});

afterAll(async () => {
  await c.close();
});

/** The pods that name `owner` as their controller, not terminating. */
async function podsOf(owner: string): Promise<Pod[]> {
  const list = await c.admin.list<Pod>(podKind, { namespace: NS });
  return list.items.filter(
    (p) =>
      !p.metadata.deletionTimestamp &&
      p.metadata.ownerReferences?.some((r) => r.controller && r.name === owner),
  );
}

function waitForPods(owner: string, count: number): Promise<Pod[]> {
  return waitFor(
    `${count} pods of ${owner}`,
    () => podsOf(owner),
    (pods) => pods.length === count,
  );
}

function getRc(name: string): Promise<ReplicationController> {
  return c.admin.get<ReplicationController>(replicationControllerKind, name, { namespace: NS });
}

/** Posts a pod's status as its node would: Running, ready or not. */
async function setRunning(pod: Pod, ready: boolean): Promise<void> {
  await c.admin.patch(
    podKind,
    pod.metadata.name!,
    {
      status: {
        phase: 'Running',
        conditions: [
          {
            type: 'Ready',
            status: ready ? 'True' : 'False',
            lastTransitionTime: new Date().toISOString(),
          },
        ],
      },
    },
    { namespace: NS, subresource: 'status' },
  );
}

describe('ReplicationController', () => {
  it('keeps its replicas: creates owned pods, replaces a deleted one, scales down not-ready pods first', async () => {
    const created = await c.admin.create<ReplicationController>(
      replicationControllerKind,
      rcBody('web', 3),
      { namespace: NS },
    );
    const pods = await waitForPods('web', 3);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
      expect(p.metadata.labels).toEqual({ app: 'web' });
      expect(p.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'v1',
          kind: 'ReplicationController',
          name: 'web',
          uid: created.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    const events = await waitFor(
      'SuccessfulCreate events',
      () => eventsFor(c.admin, NS, 'web', 'SuccessfulCreate'),
      (list) => list.length === 3,
    );
    expect(events.map((e) => e.message).sort()).toEqual(
      pods.map((p) => `Created pod: ${p.metadata.name}`).sort(),
    );

    // Deleted: replaced by a new pod.
    const gone = pods[0]!;
    await c.admin.delete(podKind, gone.metadata.name!, { namespace: NS, gracePeriodSeconds: 0 });
    const after = await waitFor(
      'a replacement',
      () => podsOf('web'),
      (list) => list.length === 3 && !list.some((p) => p.metadata.name === gone.metadata.name),
    );

    // One of them is Running and Ready; the status says so.
    const bound = await waitFor(
      'the pods bound to n1',
      () => podsOf('web'),
      (list) => list.length === 3 && list.every((p) => p.spec.nodeName === 'n1'),
    );
    const keeper = bound[1]!;
    await setRunning(keeper, true);
    for (const p of bound) if (p !== keeper) await setRunning(p, false);
    await waitFor(
      'status with 3 replicas, 1 ready and available',
      () => getRc('web'),
      (rc) =>
        rc.status?.replicas === 3 &&
        rc.status.readyReplicas === 1 &&
        rc.status.availableReplicas === 1 &&
        rc.status.fullyLabeledReplicas === 3 &&
        rc.status.observedGeneration === 1,
    );
    expect(after).toHaveLength(3);

    // Scale to 1: the two not-ready pods go, the ready one stays.
    await c.admin.patch(
      replicationControllerKind,
      'web',
      { spec: { replicas: 1 } },
      { namespace: NS },
    );
    const left = await waitForPods('web', 1);
    expect(left[0]!.metadata.name).toBe(keeper.metadata.name);
    await waitFor(
      'status after scaling',
      () => getRc('web'),
      (rc) => rc.status?.replicas === 1 && rc.status.observedGeneration === 2,
    );
    const deletes = await waitFor(
      'SuccessfulDelete events',
      () => eventsFor(c.admin, NS, 'web', 'SuccessfulDelete'),
      (list) => list.length === 2,
    );
    expect(deletes.map((e) => e.message).sort()).toEqual(
      bound
        .filter((p) => p !== keeper)
        .map((p) => `Deleted pod: ${p.metadata.name}`)
        .sort(),
    );
  });

  it('adopts a matching orphan and releases a pod relabelled away', async () => {
    const orphan = podSpec('stray');
    orphan.metadata.labels = { app: 'adopter' };
    await c.admin.create<Pod>(podKind, orphan, { namespace: NS });
    const rc = await c.admin.create<ReplicationController>(
      replicationControllerKind,
      rcBody('adopter', 2),
      { namespace: NS },
    );
    const pods = await waitForPods('adopter', 2);
    expect(pods.map((p) => p.metadata.name)).toContain('stray');
    const stray = pods.find((p) => p.metadata.name === 'stray')!;
    expect(stray.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'ReplicationController',
        uid: rc.metadata.uid,
        controller: true,
      }),
    ]);

    await c.admin.patch(
      podKind,
      'stray',
      { metadata: { labels: { app: 'debugging' } } },
      { namespace: NS },
    );
    const released = await waitFor(
      'the relabelled pod released',
      () => c.admin.get<Pod>(podKind, 'stray', { namespace: NS }),
      (p) => (p.metadata.ownerReferences ?? []).length === 0,
    );
    expect(released.metadata.labels).toEqual({ app: 'debugging' });
    const replaced = await waitForPods('adopter', 2);
    expect(replaced.map((p) => p.metadata.name)).not.toContain('stray');
  });

  it('reports a template that pod security refuses: FailedCreate event and ReplicaFailure', async () => {
    const body = rcBody('privileged', 1);
    body.spec.template!.spec.containers[0]!.securityContext = { privileged: true };
    await c.admin.create(replicationControllerKind, body, { namespace: NS });
    const rc = await waitFor(
      'the ReplicaFailure condition',
      () => getRc('privileged'),
      (r) => (r.status?.conditions ?? []).some((cond) => cond.type === 'ReplicaFailure'),
    );
    const cond = rc.status!.conditions!.find((x) => x.type === 'ReplicaFailure')!;
    expect(cond).toMatchObject({ status: 'True', reason: 'FailedCreate' });
    expect(cond.message).toContain('privileged');
    const events = await waitFor(
      'a FailedCreate event',
      () => eventsFor(c.admin, NS, 'privileged', 'FailedCreate'),
      (list) => list.length > 0,
    );
    expect(events[0]!.type).toBe('Warning');
    expect(events[0]!.message).toMatch(
      /^Error creating: pods "privileged-[a-z0-9]{5}" is forbidden: /,
    );
    expect(events[0]!.message).toContain('privileged');
    expect(await podsOf('privileged')).toEqual([]);

    // Fixed template: the pod is created and the condition goes.
    await c.admin.patch(
      replicationControllerKind,
      'privileged',
      { spec: { template: { spec: { containers: [{ name: 'app', image: 'busybox:1' }] } } } },
      { namespace: NS },
    );
    await waitForPods('privileged', 1);
    await waitFor(
      'the condition cleared',
      () => getRc('privileged'),
      (r) => !(r.status?.conditions ?? []).some((cond) => cond.type === 'ReplicaFailure'),
      20_000,
    );
  });
});

describe('ReplicaSet', () => {
  it('keeps its replicas with a structured selector and reports status', async () => {
    const rs = await c.admin.create<ReplicaSet>(
      replicaSetKind,
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'api' },
        spec: {
          replicas: 2,
          selector: {
            matchLabels: { app: 'api' },
            matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend'] }],
          },
          template: {
            metadata: { labels: { app: 'api', tier: 'backend' } },
            spec: { containers: [{ name: 'app', image: 'busybox:1' }] },
          },
        },
      },
      { namespace: NS },
    );
    const pods = await waitForPods('api', 2);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(/^api-[a-z0-9]{5}$/);
      expect(p.metadata.ownerReferences?.[0]).toMatchObject({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        uid: rs.metadata.uid,
        controller: true,
      });
    }
    await waitFor(
      'its status',
      () => c.admin.get<ReplicaSet>(replicaSetKind, 'api', { namespace: NS }),
      (r) => r.status?.replicas === 2 && r.status.observedGeneration === 1,
    );
  });
});

describe('a lost node', () => {
  let lost: Cluster;
  const nodes: SimulatedNode[] = [];

  beforeAll(async () => {
    lost = await startCluster({ nodeMonitorGracePeriodSeconds: 2, podEvictionTimeoutSeconds: 2 });
    await lost.admin.createProjectRequest({ name: NS });
  });

  afterAll(async () => {
    for (const n of nodes) n.stopHeartbeats();
    await lost.close();
  });

  it('gets its pods evicted and the controller replaces them on a node that is alive', async () => {
    const gone = new SimulatedNode(lost.join, 'gone');
    await gone.register();
    gone.startHeartbeats(300);
    nodes.push(gone);
    await lost.admin.create(replicationControllerKind, rcBody('web', 2), { namespace: NS });
    const list = async (): Promise<Pod[]> =>
      (await lost.admin.list<Pod>(podKind, { namespace: NS, labelSelector: 'app=web' })).items;
    const first = await waitFor(
      'two pods on node gone',
      list,
      (pods) => pods.length === 2 && pods.every((p) => p.spec.nodeName === 'gone'),
    );
    const alive = new SimulatedNode(lost.join, 'alive');
    await alive.register();
    alive.startHeartbeats(300);
    nodes.push(alive);
    gone.stopHeartbeats();
    const replaced = await waitFor(
      'two new pods on node alive',
      list,
      (pods) => pods.length === 2 && pods.every((p) => p.spec.nodeName === 'alive'),
      20_000,
    );
    const before = first.map((p) => p.metadata.name);
    for (const p of replaced) expect(before).not.toContain(p.metadata.name);
  });
});

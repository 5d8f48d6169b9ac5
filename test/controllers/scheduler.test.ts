// The scheduler inside a real master, placing pods on simulated nodes over the API.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  nodeKind,
  podKind,
  replicationControllerKind,
  type Node,
  type Pod,
} from '../../src/api/index.js';
import {
  condition,
  eventsFor,
  expectCondition,
  getPod,
  podSpec,
  SimulatedNode,
  startCluster,
  waitFor,
  waitForBound,
  type Cluster,
  type NodeShape,
} from './support.js';

let c: Cluster;
const NS = 'apps';

beforeEach(async () => {
  c = await startCluster();
  await c.admin.createProjectRequest({ name: NS });
});

afterEach(async () => {
  await c.close();
});

async function nodes(shapes: Record<string, NodeShape>): Promise<void> {
  for (const [name, shape] of Object.entries(shapes)) {
    await new SimulatedNode(c.join, name, shape).register();
  }
}

function createPod(pod: Pod): Promise<Pod> {
  return c.admin.create<Pod>(podKind, pod, { namespace: NS });
}

describe('scheduler', () => {
  it('leaves a pod that fits nowhere Pending, Unschedulable, with the reasons counted', async () => {
    await nodes({
      'web-1': { memory: '1Gi', labels: { tier: 'web' } },
      'web-2': { memory: '1Gi', labels: { tier: 'web' } },
      db: { memory: '16Gi', labels: { tier: 'db' } },
    });
    await createPod(podSpec('big', { memory: '4Gi', nodeSelector: { tier: 'web' } }));
    const message =
      "0/3 nodes are available: 1 node(s) didn't match node selector, 2 Insufficient memory.";

    const pod = await waitFor(
      'the PodScheduled condition',
      () => getPod(c.admin, NS, 'big'),
      (p) => condition(p, 'PodScheduled') !== undefined,
    );
    expect(pod.spec.nodeName).toBeUndefined();
    expectCondition(pod, 'PodScheduled', { status: 'False', reason: 'Unschedulable', message });

    const events = await waitFor(
      'a FailedScheduling event',
      () => eventsFor(c.admin, NS, 'big', 'FailedScheduling'),
      (list) => list.length > 0,
    );
    expect(events[0]).toMatchObject({
      type: 'Warning',
      message,
      involvedObject: { kind: 'Pod', namespace: NS, name: 'big', uid: pod.metadata.uid },
      source: { component: 'default-scheduler' },
    });
  });

  it('puts a pod with a nodeSelector on the labelled node and records Scheduled', async () => {
    await nodes({ a: {}, b: { labels: { disk: 'ssd' } }, c: {} });
    await createPod(podSpec('fast', { nodeSelector: { disk: 'ssd' } }));
    const pod = await waitForBound(c.admin, NS, 'fast');
    expect(pod.spec.nodeName).toBe('b');
    expectCondition(pod, 'PodScheduled', { status: 'True' });
    const events = await waitFor(
      'a Scheduled event',
      () => eventsFor(c.admin, NS, 'fast', 'Scheduled'),
      (list) => list.length > 0,
    );
    expect(events[0]).toMatchObject({
      type: 'Normal',
      message: `Successfully assigned ${NS}/fast to b`,
    });
  });

  it('spreads the replicas of one owner over equal nodes', async () => {
    await nodes({ a: {}, b: {} });
    // A real owner: pods naming one that does not exist are garbage-collected.
    await c.admin.create(
      replicationControllerKind,
      {
        apiVersion: 'v1',
        kind: 'ReplicationController',
        metadata: { name: 'web' },
        spec: {
          replicas: 4,
          selector: { app: 'web' },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'app', image: 'busybox:1' }] },
          },
        },
      },
      { namespace: NS },
    );
    const placed = await waitFor(
      'the four replicas bound',
      async () => (await c.admin.list<Pod>(podKind, { namespace: NS })).items,
      (list) => list.length === 4 && list.every((p) => p.spec.nodeName),
    );
    const counts = new Map<string, number>();
    for (const p of placed) counts.set(p.spec.nodeName!, (counts.get(p.spec.nodeName!) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ a: 2, b: 2 });
  });

  it('does not overcommit a node when pods arrive together', async () => {
    await nodes({ a: { memory: '4Gi' }, b: { memory: '4Gi' } });
    await Promise.all([1, 2, 3].map((i) => createPod(podSpec(`p-${i}`, { memory: '3Gi' }))));
    const pods = await waitFor(
      'two pods bound and one unschedulable',
      async () => (await c.admin.list<Pod>(podKind, { namespace: NS })).items,
      (list) =>
        list.filter((p) => p.spec.nodeName).length === 2 &&
        list.some((p) => condition(p, 'PodScheduled')?.status === 'False'),
    );
    expect(
      pods
        .map((p) => p.spec.nodeName)
        .filter(Boolean)
        .sort(),
    ).toEqual(['a', 'b']);
    const waiting = pods.find((p) => !p.spec.nodeName)!;
    expectCondition(waiting, 'PodScheduled', {
      message: '0/2 nodes are available: 2 Insufficient memory.',
    });
  });

  it('binds a waiting pod once a node that fits joins', async () => {
    await nodes({ small: { memory: '1Gi' } });
    await createPod(podSpec('big', { memory: '8Gi' }));
    await waitFor(
      'the pod to be Unschedulable',
      () => getPod(c.admin, NS, 'big'),
      (p) => condition(p, 'PodScheduled')?.reason === 'Unschedulable',
    );
    await nodes({ large: { memory: '16Gi' } });
    const pod = await waitForBound(c.admin, NS, 'big');
    expect(pod.spec.nodeName).toBe('large');
    expectCondition(pod, 'PodScheduled', { status: 'True' });
  });

  it('gives cordoned nodes nothing new', async () => {
    await nodes({ cordoned: { memory: '64Gi', unschedulable: true } });
    await createPod(podSpec('p1'));
    const waiting = await waitFor(
      'the pod to be Unschedulable',
      () => getPod(c.admin, NS, 'p1'),
      (p) => condition(p, 'PodScheduled')?.reason === 'Unschedulable',
    );
    expectCondition(waiting, 'PodScheduled', {
      message: '0/1 nodes are available: 1 node(s) were unschedulable.',
    });

    await nodes({ open: { memory: '1Gi' } });
    await createPod(podSpec('p2'));
    expect((await waitForBound(c.admin, NS, 'p1')).spec.nodeName).toBe('open');
    expect((await waitForBound(c.admin, NS, 'p2')).spec.nodeName).toBe('open');

    // Uncordoning is a node change that matters: new pods may land there again.
    const cordoned = await c.admin.get<Node>(nodeKind, 'cordoned');
    await c.admin.patch(nodeKind, 'cordoned', { spec: { unschedulable: null } });
    expect(cordoned.spec?.unschedulable).toBe(true);
    await createPod(podSpec('p3', { memory: '2Gi' }));
    expect((await waitForBound(c.admin, NS, 'p3')).spec.nodeName).toBe('cordoned');
  });
});

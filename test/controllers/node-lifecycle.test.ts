// The node lifecycle controller inside a real master, with short periods: nodes whose
// heartbeats stop go Ready=Unknown, and their pods are deleted after the toleration.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isApiError, nodeKind, podKind, type Node, type Pod } from '../../src/api/index.js';
import {
  condition,
  eventsFor,
  expectCondition,
  getPod,
  holdsFor,
  podSpec,
  SimulatedNode,
  startCluster,
  waitFor,
  waitForBound,
  type Cluster,
} from './support.js';

const GRACE_SECONDS = 2;
const EVICTION_SECONDS = 3;
const NS = 'apps';

let c: Cluster;
const simulated: SimulatedNode[] = [];

beforeEach(async () => {
  c = await startCluster({
    nodeMonitorGracePeriodSeconds: GRACE_SECONDS,
    podEvictionTimeoutSeconds: EVICTION_SECONDS,
  });
  await c.admin.createProjectRequest({ name: NS });
});

afterEach(async () => {
  for (const node of simulated.splice(0)) node.stopHeartbeats();
  await c.close();
});

async function startNode(name: string): Promise<SimulatedNode> {
  const node = new SimulatedNode(c.join, name);
  await node.register();
  node.startHeartbeats(300);
  simulated.push(node);
  return node;
}

async function exists(name: string): Promise<boolean> {
  try {
    await getPod(c.admin, NS, name);
    return true;
  } catch (err) {
    if (isApiError(err, 'NotFound')) return false;
    throw err;
  }
}

describe('node lifecycle', () => {
  it('marks a silent node Unknown after the grace period and deletes its pods after the toleration', async () => {
    const alive = await startNode('alive');
    const lost = await startNode('lost');
    await c.admin.create<Pod>(podKind, podSpec('on-alive', { nodeName: 'alive' }), {
      namespace: NS,
    });
    await c.admin.create<Pod>(podKind, podSpec('on-lost', { nodeName: 'lost' }), {
      namespace: NS,
    });
    const lostPod = await getPod(c.admin, NS, 'on-lost');

    lost.stopHeartbeats();
    const unknown = await waitFor(
      'the silent node to go Ready=Unknown',
      () => c.admin.get<Node>(nodeKind, 'lost'),
      (n) => condition(n, 'Ready')?.status === 'Unknown',
      (GRACE_SECONDS + 5) * 1000,
    );
    // Measured from the last heartbeat the node posted (kept on the condition).
    const lastHeartbeat = Date.parse(String(condition(unknown, 'Ready')?.lastHeartbeatTime));
    expect(Date.now() - lastHeartbeat).toBeGreaterThanOrEqual(GRACE_SECONDS * 1000);
    expectCondition(unknown, 'Ready', {
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
    });
    // Not yet past the toleration: the pod is still there.
    expect(await exists('on-lost')).toBe(true);

    await waitFor(
      'the pod on the lost node to be deleted',
      () => exists('on-lost'),
      (present) => !present,
      (EVICTION_SECONDS + 5) * 1000,
    );
    expect(Date.now() - lastHeartbeat).toBeGreaterThanOrEqual(
      (GRACE_SECONDS + EVICTION_SECONDS) * 1000,
    );

    // The node that kept posting heartbeats is Ready and keeps its pod.
    expectCondition(await c.admin.get<Node>(nodeKind, 'alive'), 'Ready', { status: 'True' });
    expect(await exists('on-alive')).toBe(true);

    const nodeEvents = await eventsFor(c.admin, 'default', 'lost', 'NodeNotReady');
    expect(nodeEvents[0]).toMatchObject({
      type: 'Warning',
      involvedObject: { kind: 'Node', name: 'lost' },
      source: { component: 'node-controller' },
    });
    const podEvents = await waitFor(
      'the eviction event',
      () => eventsFor(c.admin, NS, 'on-lost', 'NodeControllerEviction'),
      (list) => list.length > 0,
    );
    expect(podEvents[0]).toMatchObject({
      message: `Marking for deletion Pod ${NS}/on-lost from Node lost`,
      involvedObject: { uid: lostPod.metadata.uid },
    });
    alive.stopHeartbeats();
  });

  it('schedules new pods only onto nodes that are Ready', async () => {
    await startNode('alive');
    const lost = await startNode('lost');
    lost.stopHeartbeats();
    await waitFor(
      'the silent node to go Ready=Unknown',
      () => c.admin.get<Node>(nodeKind, 'lost'),
      (n) => condition(n, 'Ready')?.status === 'Unknown',
      (GRACE_SECONDS + 5) * 1000,
    );
    for (let i = 1; i <= 3; i++) {
      await c.admin.create<Pod>(podKind, podSpec(`p-${i}`), { namespace: NS });
    }
    for (let i = 1; i <= 3; i++) {
      expect((await waitForBound(c.admin, NS, `p-${i}`)).spec.nodeName).toBe('alive');
    }
  });

  it('keeps the pods of a node that comes back within the toleration', async () => {
    const flaky = await startNode('flaky');
    await c.admin.create<Pod>(podKind, podSpec('p', { nodeName: 'flaky' }), { namespace: NS });
    flaky.stopHeartbeats();
    await waitFor(
      'the silent node to go Ready=Unknown',
      () => c.admin.get<Node>(nodeKind, 'flaky'),
      (n) => condition(n, 'Ready')?.status === 'Unknown',
      (GRACE_SECONDS + 5) * 1000,
    );
    flaky.startHeartbeats(300);
    await waitFor(
      'the node to be Ready again',
      () => c.admin.get<Node>(nodeKind, 'flaky'),
      (n) => condition(n, 'Ready')?.status === 'True',
    );
    // The pod stays through the time it would have been deleted had the node stayed away.
    await holdsFor('the pod to stay', () => exists('p'), (EVICTION_SECONDS + 1) * 1000);
  });
});

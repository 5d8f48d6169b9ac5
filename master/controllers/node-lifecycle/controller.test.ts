import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, type Node, type NodeCondition, type Pod } from '../../../src/api/index.js';
import { Informer } from '../../../src/reconcile/index.js';
import { FakeClock, flush } from '../../../src/reconcile/testing/fake-clock.js';
import { FakeListWatcher } from '../../../src/reconcile/testing/fake-list-watcher.js';
import { RecordingLogger } from '../../../src/reconcile/testing/recording-logger.js';
import { FakeControllerClient, FakeRecorder } from '../testing/fakes.js';
import { NodeLifecycleController } from './controller.js';

const START = Date.parse('2030-01-01T00:00:00Z');
const GRACE = 40_000;
const EVICTION = 300_000;

function at(ms: number): string {
  return new Date(START + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function node(name: string, conditions: NodeCondition[] | undefined): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, creationTimestamp: at(0) },
    status: conditions ? { conditions } : {},
  };
}

function healthy(name: string, heartbeatMs: number, ready: 'True' | 'False' = 'True'): Node {
  return node(name, [
    { type: 'Ready', status: ready, lastHeartbeatTime: at(heartbeatMs), reason: 'AgentReady' },
    { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: at(heartbeatMs) },
    { type: 'NetworkUnavailable', status: 'False' },
  ]);
}

function pod(name: string, nodeName: string, phase: 'Running' | 'Succeeded' = 'Running'): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: 'ns', name },
    spec: { containers: [{ name: 'app', image: 'img' }], nodeName },
    status: { phase },
  };
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function fixture(initial: { nodes?: Node[]; pods?: Pod[] } = {}) {
  const nodeStore = new FakeListWatcher<Node>(initial.nodes ?? []);
  const podStore = new FakeListWatcher<Pod>(initial.pods ?? []);
  const logger = new RecordingLogger();
  const clock = new FakeClock();
  const nodes = new Informer<Node>({ name: 'nodes', listWatcher: nodeStore, logger });
  const pods = new Informer<Pod>({ name: 'pods', listWatcher: podStore, logger });
  const client = new FakeControllerClient(podStore, nodeStore);
  const recorder = new FakeRecorder();
  const controller = new NodeLifecycleController({
    nodes,
    pods,
    client,
    recorder,
    logger,
    clock,
    now: () => new Date(START + clock.now()),
    gracePeriodMs: GRACE,
    evictionTimeoutMs: EVICTION,
  });
  const abort = new AbortController();
  const runs = [nodes.run(abort.signal), pods.run(abort.signal)];
  await nodes.waitForSync();
  await pods.waitForSync();
  stops.push(async () => {
    abort.abort();
    await Promise.all(runs);
  });
  const signal = abort.signal;
  /** The agent posts a heartbeat now. */
  const heartbeat = async (name: string, ready: 'True' | 'False' = 'True'): Promise<void> => {
    const current = nodeStore.objects().find((n) => n.metadata.name === name)!;
    nodeStore.update({ ...current, status: healthy(name, clock.now(), ready).status });
    await flush();
  };
  const reconcile = (name: string) => controller.reconcile(name, signal);
  const run = (): void => {
    runs.push(controller.run(signal));
  };
  const storedNode = (name: string): Node =>
    nodeStore.objects().find((n) => n.metadata.name === name)!;
  const podNames = (): string[] => podStore.objects().map((p) => p.metadata.name ?? '');
  return {
    nodeStore,
    podStore,
    client,
    recorder,
    clock,
    reconcile,
    heartbeat,
    run,
    storedNode,
    podNames,
  };
}

describe('NodeLifecycleController.reconcile', () => {
  it('leaves a node that keeps posting heartbeats Ready, with its pods', async () => {
    const f = await fixture({ nodes: [healthy('n1', 0)], pods: [pod('p', 'n1')] });
    expect(await f.reconcile('n1')).toEqual({ requeueAfter: GRACE + 1 });
    for (let i = 0; i < 20; i++) {
      await f.clock.tick(30_000);
      await f.heartbeat('n1');
      expect(await f.reconcile('n1')).toEqual({ requeueAfter: GRACE + 1 });
    }
    expect(f.client.actions).toEqual([]);
    expect(f.recorder.events).toEqual([]);
  });

  it('marks a silent node Unknown after the grace period, then evicts its pods after the timeout', async () => {
    const f = await fixture({
      nodes: [healthy('n1', 0), healthy('n2', 0)],
      pods: [pod('a', 'n1'), pod('b', 'n1'), pod('done', 'n1', 'Succeeded'), pod('c', 'n2')],
    });
    await f.reconcile('n1');
    await f.clock.tick(GRACE);
    expect(await f.reconcile('n1')).toEqual({ requeueAfter: 1 });
    expect(f.client.actions).toEqual([]);

    await f.clock.tick(1);
    expect(await f.reconcile('n1')).toEqual({ requeueAfter: EVICTION });
    expect(f.client.summary()).toEqual(['update-status nodes n1']);
    const conditions = f.storedNode('n1').status?.conditions;
    expect(conditions).toEqual([
      {
        type: 'Ready',
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
        lastHeartbeatTime: at(0),
        lastTransitionTime: at(GRACE + 1),
      },
      {
        type: 'MemoryPressure',
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
        lastHeartbeatTime: at(0),
        lastTransitionTime: at(GRACE + 1),
      },
      { type: 'NetworkUnavailable', status: 'False' },
    ]);
    expect(f.recorder.summary()).toEqual([
      'Warning NodeNotReady Node n1: Node n1 status is now: NodeNotReady (no status update for more than 40s)',
    ]);

    // Our own write is not a heartbeat, and is not repeated.
    await flush();
    await f.clock.tick(EVICTION - 1);
    expect(await f.reconcile('n1')).toEqual({ requeueAfter: 1 });
    expect(f.client.actions).toHaveLength(1);

    await f.clock.tick(1);
    expect(await f.reconcile('n1')).toBeUndefined();
    // Each pod is marked for deletion, then force-deleted: the lost node cannot confirm.
    expect(f.client.summary()).toEqual([
      'update-status nodes n1',
      'delete pods ns/a',
      'delete pods ns/a grace=0',
      'delete pods ns/b',
      'delete pods ns/b grace=0',
    ]);
    expect(f.podNames().sort()).toEqual(['c', 'done']);
    expect(f.recorder.summary().slice(1)).toEqual([
      'Normal DeletingAllPods Node n1: Deleting all Pods from Node n1.',
      'Normal NodeControllerEviction Pod ns/a: Marking for deletion Pod ns/a from Node n1',
      'Normal NodeControllerEviction Pod ns/b: Marking for deletion Pod ns/b from Node n1',
    ]);
    // Nothing twice, even before the cache has seen the deletions.
    expect(await f.reconcile('n1')).toBeUndefined();
    expect(f.client.actions).toHaveLength(5);
  });

  it('evicts the pods of a node that reports NotReady, after the timeout', async () => {
    const f = await fixture({ nodes: [healthy('n1', 0, 'False')], pods: [pod('a', 'n1')] });
    expect(await f.reconcile('n1')).toEqual({ requeueAfter: EVICTION });
    await f.clock.tick(EVICTION);
    await f.heartbeat('n1', 'False');
    expect(await f.reconcile('n1')).toBeUndefined();
    expect(f.client.summary()).toEqual(['delete pods ns/a', 'delete pods ns/a grace=0']);
  });

  it('force-deletes a pod left Terminating on a lost node, whatever its phase', async () => {
    const terminating = (p: Pod): Pod => ({
      ...p,
      metadata: { ...p.metadata, deletionTimestamp: at(1000), deletionGracePeriodSeconds: 30 },
    });
    const f = await fixture({
      nodes: [healthy('n1', 0, 'False')],
      pods: [terminating(pod('stuck', 'n1')), terminating(pod('done', 'n1', 'Succeeded'))],
    });
    await f.reconcile('n1');
    await f.clock.tick(EVICTION);
    await f.heartbeat('n1', 'False');
    expect(await f.reconcile('n1')).toBeUndefined();
    // No second "Marking for deletion": they were marked already.
    expect(f.client.summary().sort()).toEqual([
      'delete pods ns/done grace=0',
      'delete pods ns/stuck grace=0',
    ]);
    expect(f.recorder.summary()).toEqual([
      'Normal DeletingAllPods Node n1: Deleting all Pods from Node n1.',
    ]);
    expect(f.podNames()).toEqual([]);
  });

  it('spares the pods of a node that comes back before the timeout', async () => {
    const f = await fixture({ nodes: [healthy('n1', 0)], pods: [pod('a', 'n1')] });
    await f.reconcile('n1');
    await f.clock.tick(GRACE + 1);
    await f.reconcile('n1');
    await flush();
    await f.clock.tick(EVICTION - 1000);
    await f.heartbeat('n1');
    expect(await f.reconcile('n1')).toEqual({ requeueAfter: GRACE + 1 });
    await f.clock.tick(1000);
    await f.heartbeat('n1');
    expect(await f.reconcile('n1')).toEqual({ requeueAfter: GRACE + 1 });
    expect(f.client.summary()).toEqual(['update-status nodes n1']);
    expect(f.podNames()).toEqual(['a']);
  });

  it('marks a node that never reported Ready as NodeStatusNeverUpdated', async () => {
    const f = await fixture({ nodes: [node('n1', undefined)] });
    await f.reconcile('n1');
    await f.clock.tick(GRACE + 1);
    await f.reconcile('n1');
    expect(f.storedNode('n1').status?.conditions).toEqual([
      {
        type: 'Ready',
        status: 'Unknown',
        reason: 'NodeStatusNeverUpdated',
        message: 'Kubelet never posted node status.',
        lastHeartbeatTime: at(0),
        lastTransitionTime: at(GRACE + 1),
      },
    ]);
    await flush();
    await f.reconcile('n1');
    expect(f.client.actions).toHaveLength(1);
  });

  it('lets a Conflict on the status write through (the controller retries)', async () => {
    const f = await fixture({ nodes: [healthy('n1', 0)] });
    await f.reconcile('n1');
    await f.clock.tick(GRACE + 1);
    f.client.failNext('update-status', new ApiError('Conflict', 'stale'));
    await expect(f.reconcile('n1')).rejects.toThrow('stale');
    expect(f.recorder.events).toEqual([]);
  });

  it('forgets a node that is deleted', async () => {
    const f = await fixture({ nodes: [healthy('n1', 0)] });
    await f.reconcile('n1');
    f.nodeStore.remove('n1');
    await flush();
    expect(await f.reconcile('n1')).toBeUndefined();
  });
});

describe('NodeLifecycleController.run', () => {
  it('wakes itself for each deadline and evicts pods that land on a lost node later', async () => {
    const f = await fixture({ nodes: [healthy('n1', 0)], pods: [pod('a', 'n1')] });
    f.run();
    await flush();
    await f.clock.tick(GRACE + 1);
    await flush();
    expect(f.client.summary()).toEqual(['update-status nodes n1']);
    await f.clock.tick(EVICTION);
    await flush();
    expect(f.client.summary()).toEqual([
      'update-status nodes n1',
      'delete pods ns/a',
      'delete pods ns/a grace=0',
    ]);

    f.podStore.create(pod('late', 'n1'));
    for (let i = 0; i < 20 && f.client.actions.length < 5; i++) await flush();
    expect(f.client.summary().slice(-2)).toEqual([
      'delete pods ns/late',
      'delete pods ns/late grace=0',
    ]);
  });
});

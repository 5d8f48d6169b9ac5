import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, objectKey, type Node, type Pod } from '../../../src/api/index.js';
import { Informer } from '../../../src/reconcile/index.js';
import { FakeClock, flush } from '../../../src/reconcile/testing/fake-clock.js';
import { FakeListWatcher } from '../../../src/reconcile/testing/fake-list-watcher.js';
import { RecordingLogger } from '../../../src/reconcile/testing/recording-logger.js';
import { FakeControllerClient, FakeRecorder } from '../testing/fakes.js';
import { SchedulerController } from './controller.js';

function node(name: string, o: { memory?: string; labels?: Record<string, string> } = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: o.labels ?? {} },
    status: {
      allocatable: { cpu: '4', memory: o.memory ?? '4Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

function pod(
  name: string,
  o: { memory?: string; nodeName?: string; phase?: 'Succeeded'; selector?: object } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: 'ns', name },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'img',
          resources: o.memory ? { requests: { memory: o.memory } } : {},
        },
      ],
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.selector ? { nodeSelector: o.selector as Record<string, string> } : {}),
    },
    status: { phase: o.phase ?? 'Pending' },
  };
}

const START = Date.parse('2030-01-01T00:00:00Z');
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** A scheduler over fake pod and node stores, with its informers running and synced. */
async function fixture(initial: { pods?: Pod[]; nodes?: Node[] } = {}) {
  const podStore = new FakeListWatcher<Pod>(initial.pods ?? []);
  const nodeStore = new FakeListWatcher<Node>(initial.nodes ?? []);
  const logger = new RecordingLogger();
  const clock = new FakeClock();
  const pods = new Informer<Pod>({ name: 'pods', listWatcher: podStore, logger });
  const nodes = new Informer<Node>({ name: 'nodes', listWatcher: nodeStore, logger });
  const client = new FakeControllerClient(podStore, nodeStore);
  const recorder = new FakeRecorder();
  const scheduler = new SchedulerController({
    pods,
    nodes,
    client,
    recorder,
    logger,
    clock,
    now: () => new Date(START + clock.now()),
  });
  const abort = new AbortController();
  const runs = [pods.run(abort.signal), nodes.run(abort.signal)];
  await pods.waitForSync();
  await nodes.waitForSync();
  stops.push(async () => {
    abort.abort();
    await Promise.all(runs);
  });
  const signal = abort.signal;
  /** Runs the controller's workers too. */
  const run = (): void => {
    const done = scheduler.run(signal);
    runs.push(done);
  };
  const stored = (name: string): Pod | undefined =>
    podStore.objects().find((p) => objectKey(p) === `ns/${name}`);
  return { podStore, nodeStore, pods, client, recorder, scheduler, clock, signal, run, stored };
}

/** Lets informers and workers catch up until `check` holds (bounded). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !check(); i++) await flush();
  expect(check()).toBe(true);
}

describe('SchedulerController.reconcile', () => {
  it('binds a pending pod to a node that fits and records Scheduled', async () => {
    const f = await fixture({ pods: [pod('p', { memory: '1Gi' })], nodes: [node('n1')] });
    expect(await f.scheduler.reconcile('ns/p', f.signal)).toBeUndefined();
    expect(f.client.summary()).toEqual(['bind pods ns/p n1']);
    expect(f.recorder.summary()).toEqual([
      'Normal Scheduled Pod ns/p: Successfully assigned ns/p to n1',
    ]);
    expect(f.stored('p')?.spec.nodeName).toBe('n1');
  });

  it('marks a pod that fits nowhere Unschedulable once, warns each time, and backs off', async () => {
    const f = await fixture({
      pods: [pod('big', { memory: '8Gi', selector: { disk: 'ssd' } })],
      nodes: [
        node('a', { labels: { disk: 'ssd' } }),
        node('b', { labels: { disk: 'ssd' } }),
        node('c'),
      ],
    });
    const message =
      "0/3 nodes are available: 1 node(s) didn't match node selector, 2 Insufficient memory.";
    expect(await f.scheduler.reconcile('ns/big', f.signal)).toEqual({ requeue: true });
    expect(f.client.summary()).toEqual(['update-status pods ns/big']);
    const condition = f.stored('big')?.status?.conditions?.find((c) => c.type === 'PodScheduled');
    expect(condition).toEqual({
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
      lastProbeTime: null,
      lastTransitionTime: '2030-01-01T00:00:00Z',
    });
    expect(f.recorder.summary()).toEqual([`Warning FailedScheduling Pod ns/big: ${message}`]);
    expect(f.scheduler.unschedulablePods()).toEqual(['ns/big']);

    // Once the cache has the condition, the same outcome writes nothing new.
    await until(() => f.pods.get('ns/big')?.status?.conditions !== undefined);
    expect(await f.scheduler.reconcile('ns/big', f.signal)).toEqual({ requeue: true });
    expect(f.client.summary()).toEqual(['update-status pods ns/big']);
    expect(f.recorder.events).toHaveLength(2);
  });

  it('counts pods it bound before the cache shows them (assume), so nothing is overcommitted', async () => {
    const f = await fixture({
      pods: [
        pod('p1', { memory: '3Gi' }),
        pod('p2', { memory: '3Gi' }),
        pod('p3', { memory: '3Gi' }),
      ],
      nodes: [node('a'), node('b')],
    });
    f.client.applyWrites = false; // the cache never hears of the bindings
    await f.scheduler.reconcile('ns/p1', f.signal);
    await f.scheduler.reconcile('ns/p2', f.signal);
    await f.scheduler.reconcile('ns/p3', f.signal);
    expect(f.client.summary()).toEqual([
      'bind pods ns/p1 a',
      'bind pods ns/p2 b',
      'update-status pods ns/p3',
    ]);
    expect(f.recorder.events.at(-1)?.message).toBe(
      '0/2 nodes are available: 2 Insufficient memory.',
    );
    // A pod already assumed is not scheduled a second time.
    await f.scheduler.reconcile('ns/p1', f.signal);
    expect(f.client.actions).toHaveLength(3);
  });

  it('forgets the assumption when binding fails, and takes a Conflict as the cache lagging', async () => {
    const f = await fixture({ pods: [pod('p', { memory: '3Gi' })], nodes: [node('a')] });
    f.client.failNext('bind', new ApiError('Conflict', 'already assigned'));
    expect(await f.scheduler.reconcile('ns/p', f.signal)).toBeUndefined();
    f.client.failNext('bind', new ApiError('ServiceUnavailable', 'down'));
    await expect(f.scheduler.reconcile('ns/p', f.signal)).rejects.toThrow('down');
    expect(f.recorder.events).toEqual([]);
    // Not assumed any more: the next attempt binds.
    await f.scheduler.reconcile('ns/p', f.signal);
    expect(f.client.summary()).toEqual([
      'bind pods ns/p a',
      'bind pods ns/p a',
      'bind pods ns/p a',
    ]);
  });

  it('leaves bound, finished and missing pods alone', async () => {
    const f = await fixture({
      pods: [pod('bound', { nodeName: 'a' }), pod('done', { phase: 'Succeeded' })],
      nodes: [node('a')],
    });
    for (const key of ['ns/bound', 'ns/done', 'ns/gone']) {
      expect(await f.scheduler.reconcile(key, f.signal)).toBeUndefined();
    }
    expect(f.client.actions).toEqual([]);
    expect(f.recorder.events).toEqual([]);
  });

  it('counts bound pods from the cache against allocatable', async () => {
    const f = await fixture({
      pods: [pod('running', { nodeName: 'a', memory: '3Gi' }), pod('p', { memory: '2Gi' })],
      nodes: [node('a'), node('b', { memory: '1Gi' })],
    });
    await f.scheduler.reconcile('ns/p', f.signal);
    expect(f.recorder.events[0]?.message).toBe('0/2 nodes are available: 2 Insufficient memory.');
  });
});

describe('SchedulerController.run', () => {
  it('schedules pods as they are created', async () => {
    const f = await fixture({ nodes: [node('a')] });
    f.run();
    f.podStore.create(pod('p1'));
    f.podStore.create(pod('p2'));
    await until(() => f.client.actions.length === 2);
    expect(f.client.summary()).toEqual(['bind pods ns/p1 a', 'bind pods ns/p2 a']);
  });

  it('places a waiting pod as soon as a node that fits joins', async () => {
    const f = await fixture({ nodes: [node('small', { memory: '1Gi' })] });
    f.run();
    f.podStore.create(pod('p', { memory: '2Gi' }));
    await until(() => f.scheduler.unschedulablePods().length === 1);
    // A heartbeat-only change to a node does not wake it.
    const small = f.nodeStore.objects()[0]!;
    small.status!.conditions![0]!.lastHeartbeatTime = '2030-01-01T00:00:10Z';
    f.nodeStore.update(small);
    await flush();
    expect(f.client.summary()).toEqual(['update-status pods ns/p']);

    f.nodeStore.create(node('big', { memory: '8Gi' }));
    await until(() => f.client.actions.length === 2);
    expect(f.client.summary()).toEqual(['update-status pods ns/p', 'bind pods ns/p big']);
    await until(() => f.scheduler.unschedulablePods().length === 0);
  });

  it('retries an unschedulable pod with back-off, and when a bound pod goes away', async () => {
    const f = await fixture({
      pods: [pod('hog', { nodeName: 'a', memory: '3Gi' })],
      nodes: [node('a')],
    });
    f.run();
    f.podStore.create(pod('p', { memory: '2Gi' }));
    await until(() => f.recorder.events.length === 1);
    await f.clock.tick(1000);
    await until(() => f.recorder.events.length === 2);
    // The next retry is 2 s away: nothing at 1.5 s.
    await f.clock.tick(1500);
    expect(f.recorder.events).toHaveLength(2);

    f.podStore.remove('ns/hog');
    await until(() => f.client.summary().includes('bind pods ns/p a'));
  });
});

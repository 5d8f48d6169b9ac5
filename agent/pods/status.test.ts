import { describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/index.js';
import {
  computePodStatus,
  containerStatus,
  sameStatus,
  type ContainerObservation,
  type InstanceObservation,
} from './status.js';

const NOW = '2026-01-01T00:00:10Z';

function inst(over: Partial<InstanceObservation> = {}): InstanceObservation {
  return {
    id: 'c1',
    state: 'running',
    running: true,
    exitCode: 0,
    oomKilled: false,
    error: undefined,
    startedAt: '2026-01-01T00:00:01.5Z',
    finishedAt: undefined,
    image: 'app:1',
    imageID: 'docker://sha256:abc',
    restartCount: 0,
    ...over,
  };
}

function dead(over: Partial<InstanceObservation> = {}): InstanceObservation {
  return inst({
    id: 'c0',
    state: 'exited',
    running: false,
    exitCode: 1,
    finishedAt: '2026-01-01T00:00:02Z',
    ...over,
  });
}

function obs(over: Partial<ContainerObservation> = {}): ContainerObservation {
  return { name: 'app', specImage: 'app:1', ready: true, started: true, ...over };
}

function pod(over: Partial<Pod['spec']> = {}, status?: Pod['status']): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns', uid: 'u1' },
    spec: { containers: [{ name: 'app', image: 'app:1' }], ...over },
    ...(status ? { status } : {}),
  };
}

describe('containerStatus', () => {
  it('reports a running instance with its previous one as lastState', () => {
    expect(containerStatus(obs({ current: inst({ restartCount: 2 }), previous: dead() }))).toEqual({
      name: 'app',
      state: { running: { startedAt: '2026-01-01T00:00:01.5Z' } },
      lastState: {
        terminated: {
          exitCode: 1,
          reason: 'Error',
          startedAt: '2026-01-01T00:00:01.5Z',
          finishedAt: '2026-01-01T00:00:02Z',
          containerID: 'docker://c0',
        },
      },
      ready: true,
      started: true,
      restartCount: 2,
      image: 'app:1',
      imageID: 'docker://sha256:abc',
      containerID: 'docker://c1',
    });
  });

  it('shows a waiting reason over a dead instance, which becomes lastState', () => {
    const s = containerStatus(
      obs({
        current: dead({ restartCount: 3, oomKilled: true, exitCode: 137 }),
        waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s ...' },
      }),
    );
    expect(s.state).toEqual({
      waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s ...' },
    });
    expect(s.lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(s).toMatchObject({ ready: false, started: false, restartCount: 3 });
  });

  it('calls a failed start ContainerCannotRun, and no instance ContainerCreating', () => {
    const failed = containerStatus(
      obs({
        current: inst({
          state: 'created',
          running: false,
          exitCode: 0,
          error: 'exec: "nope": not found',
          startedAt: undefined,
        }),
      }),
    );
    expect(failed.state.terminated).toEqual({
      exitCode: 128,
      reason: 'ContainerCannotRun',
      message: 'exec: "nope": not found',
      containerID: 'docker://c1',
    });
    const none = containerStatus(obs());
    expect(none).toMatchObject({
      state: { waiting: { reason: 'ContainerCreating' } },
      restartCount: 0,
      image: 'app:1',
      imageID: '',
      ready: false,
    });
    expect(none.containerID).toBeUndefined();
  });
});

describe('computePodStatus', () => {
  it('is Running and Ready with everything ready; keeps PodScheduled and transition times', () => {
    const old = pod(
      {},
      {
        phase: 'Running',
        startTime: '2026-01-01T00:00:00Z',
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-12-31T00:00:00Z' },
          { type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:05Z' },
        ],
      },
    );
    const s = computePodStatus({
      pod: old,
      initContainers: [],
      containers: [obs({ current: inst() })],
      podIP: '172.17.0.9',
      hostIP: '172.17.0.1',
      now: NOW,
    });
    expect(s.phase).toBe('Running');
    expect(s.startTime).toBe('2026-01-01T00:00:00Z');
    expect(s.podIP).toBe('172.17.0.9');
    expect(s.podIPs).toEqual([{ ip: '172.17.0.9' }]);
    expect(s.hostIP).toBe('172.17.0.1');
    expect(s.conditions).toEqual([
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: NOW },
      {
        type: 'Ready',
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: '2026-01-01T00:00:05Z',
      },
      { type: 'ContainersReady', status: 'True', lastProbeTime: null, lastTransitionTime: NOW },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-12-31T00:00:00Z' },
    ]);
  });

  it('names unready containers and keeps the last pod IP when the sandbox is gone', () => {
    const s = computePodStatus({
      pod: pod(
        {
          containers: [
            { name: 'a', image: 'x' },
            { name: 'b', image: 'x' },
          ],
        },
        { podIP: '10.0.0.1' },
      ),
      initContainers: [],
      containers: [
        obs({ name: 'a', current: inst() }),
        obs({ name: 'b', current: inst(), ready: false }),
      ],
      now: NOW,
    });
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [b]',
    });
    expect(s.podIP).toBe('10.0.0.1');
  });

  it('derives the phase as kubelet does', () => {
    const phase = (
      spec: Partial<Pod['spec']>,
      containers: ContainerObservation[],
      init: ContainerObservation[] = [],
    ) => computePodStatus({ pod: pod(spec), initContainers: init, containers, now: NOW }).phase;
    const crashed = obs({ current: dead(), waiting: { reason: 'CrashLoopBackOff' } });
    expect(phase({}, [crashed])).toBe('Running');
    expect(phase({ restartPolicy: 'Never' }, [obs({ current: dead() })])).toBe('Failed');
    expect(phase({ restartPolicy: 'OnFailure' }, [obs({ current: dead({ exitCode: 0 }) })])).toBe(
      'Succeeded',
    );
    expect(phase({ restartPolicy: 'OnFailure' }, [crashed])).toBe('Running');
    expect(phase({}, [obs({ waiting: { reason: 'ErrImagePull', message: 'x' } })])).toBe('Pending');
    expect(phase({}, [obs()])).toBe('Pending');
    const initRunning = obs({ name: 'init', current: inst() });
    expect(phase({}, [obs({ waiting: { reason: 'PodInitializing' } })], [initRunning])).toBe(
      'Pending',
    );
    const initFailed = obs({ name: 'init', current: dead() });
    expect(
      phase(
        { restartPolicy: 'Never' },
        [obs({ waiting: { reason: 'PodInitializing' } })],
        [initFailed],
      ),
    ).toBe('Failed');
  });

  it('reports a refusal as Failed with its reason, and Succeeded pods as PodCompleted', () => {
    const refused = computePodStatus({
      pod: pod(),
      initContainers: [],
      containers: [obs()],
      now: NOW,
      failure: { reason: 'Forbidden', message: 'pods "p" is forbidden: ...' },
    });
    expect(refused).toMatchObject({
      phase: 'Failed',
      reason: 'Forbidden',
      message: 'pods "p" is forbidden: ...',
    });
    const done = computePodStatus({
      pod: pod({ restartPolicy: 'Never' }),
      initContainers: [],
      containers: [obs({ current: dead({ exitCode: 0 }) })],
      now: NOW,
    });
    expect(done.phase).toBe('Succeeded');
    expect(done.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PodCompleted',
    });
  });

  it('compares statuses regardless of key order', () => {
    expect(
      sameStatus({ phase: 'Running', podIP: '1.2.3.4' }, { podIP: '1.2.3.4', phase: 'Running' }),
    ).toBe(true);
    expect(sameStatus({ phase: 'Running' }, { phase: 'Pending' })).toBe(false);
  });
});

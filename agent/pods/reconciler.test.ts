// The pod reconciler over an in-memory runtime, asserting the actions it takes: the security
// refusal, creating a pod, the restart back-off kept in labels, replacing a changed container,
// tearing down a force-deleted pod with its preStop hook first, and graceful deletion: stop within
// what remains of the grace period, final status, removal, then the confirmation.
import { describe, expect, it } from 'vitest';
import type { Container, Pod, PodStatus } from '../../src/api/index.js';
import { silentLogger } from '../../src/util/logger.js';
import type { ContainerInfo } from '../docker/runtime.js';
import { LABELS, podLabels, SANDBOX_NAME } from '../docker/labels.js';
import { groupPods, type ContainerListEntry } from '../docker/inventory.js';
import type { ContainerPlan, InstanceInfo, PodPlan } from './plan.js';
import { ProbeManager } from './probes.js';
import { PodReconciler, type PodRuntime } from './reconciler.js';

const NODE = 'node-a';
const T0 = Date.parse('2026-01-01T00:00:00Z');

interface FakeContainer {
  id: string;
  labels: Record<string, string>;
  state: 'created' | 'running' | 'exited';
  exitCode: number;
  startedAt?: string;
  finishedAt?: string;
  image: string;
  sandboxId?: string;
  ip?: string;
}

class FakeRuntime {
  readonly calls: string[] = [];
  readonly containers = new Map<string, FakeContainer>();
  readonly removed: string[] = [];
  /** The next this many sandboxes are created but fail to start. */
  failSandboxStarts = 0;
  now = T0;
  seq = 0;

  iso(): string {
    return new Date(this.now).toISOString();
  }

  add(c: Omit<FakeContainer, 'id'> & { id?: string }): FakeContainer {
    const full = { ...c, id: c.id ?? `c${++this.seq}` };
    this.containers.set(full.id, full);
    return full;
  }

  runtime(): PodRuntime {
    return fakeRuntime(this);
  }
}

function fakeRuntime(self: FakeRuntime): PodRuntime {
  const r: Partial<PodRuntime> = {
    async listPods(filter: { uid?: string } = {}) {
      const entries: ContainerListEntry[] = [...self.containers.values()]
        .filter((c) => !filter.uid || c.labels[LABELS.podUid] === filter.uid)
        .map((c) => ({
          Id: c.id,
          Names: [`/${c.id}`],
          Labels: c.labels,
          State: c.state,
          Status: c.state === 'exited' ? `Exited (${c.exitCode}) 1 second ago` : 'Up',
          Created: Number(c.labels[LABELS.attempt] ?? 0),
          HostConfig: { NetworkMode: c.sandboxId ? `container:${c.sandboxId}` : 'bridge' },
          NetworkSettings: { Networks: c.ip ? { bridge: { IPAddress: c.ip } } : {} },
        }));
      return groupPods(entries, [], NODE);
    },
    async inspect(id: string): Promise<ContainerInfo> {
      const c = self.containers.get(id);
      if (!c) {
        const { RuntimeError } = await import('../docker/errors.js');
        throw new RuntimeError('ContainerNotFound', `no container ${id}`);
      }
      const { parseContainerLabels } = await import('../docker/labels.js');
      return {
        id: c.id,
        dockerName: c.id,
        managed: true,
        labels: parseContainerLabels(c.labels),
        state: c.state,
        running: c.state === 'running',
        exitCode: c.exitCode,
        oomKilled: false,
        error: undefined,
        createdAt: new Date(T0).toISOString(),
        startedAt: c.startedAt,
        finishedAt: c.finishedAt,
        image: c.image,
        imageID: 'sha256:img',
        ip: c.ip,
        pid: undefined,
        tty: false,
        sandboxId: c.sandboxId,
      };
    },
    async runSandbox(plan: PodPlan, inst: InstanceInfo) {
      self.calls.push(`runSandbox ${inst.attempt}`);
      if (self.failSandboxStarts > 0) {
        self.failSandboxStarts -= 1;
        self.add({
          labels: labelsFor(plan, SANDBOX_NAME, plan.sandbox.hash, inst),
          state: 'created',
          exitCode: 0,
          image: 'slipway/pause:1',
        });
        throw new Error('failed to update store for object type *libnetwork.endpoint');
      }
      const c = self.add({
        labels: labelsFor(plan, SANDBOX_NAME, plan.sandbox.hash, inst),
        state: 'running',
        exitCode: 0,
        startedAt: self.iso(),
        image: 'slipway/pause:1',
        ip: '10.0.0.9',
      });
      return { id: c.id, name: c.id, ip: '10.0.0.9' };
    },
    async createContainer(plan: PodPlan, cp: ContainerPlan, sandboxId: string, inst: InstanceInfo) {
      self.calls.push(
        `create ${cp.name} attempt=${inst.attempt} restarts=${inst.restartCount} backoff=${inst.backoffMs}`,
      );
      return self.add({
        labels: labelsFor(plan, cp.name, cp.hash, inst, cp),
        state: 'created',
        exitCode: 0,
        image: cp.image,
        sandboxId,
      }).id;
    },
    async startContainer(id: string) {
      self.calls.push(`start ${self.containers.get(id)!.labels[LABELS.containerName]}`);
      Object.assign(self.containers.get(id)!, { state: 'running', startedAt: self.iso() });
    },
    async stopContainer(id: string, grace: number) {
      const c = self.containers.get(id)!;
      self.calls.push(`stop ${c.labels[LABELS.containerName]} grace=${grace}`);
      if (c.state === 'running')
        Object.assign(c, { state: 'exited', exitCode: 143, finishedAt: self.iso() });
    },
    async removeContainer(id: string) {
      self.calls.push(`remove ${id}`);
      self.containers.delete(id);
    },
    async removePod(uid: string) {
      self.calls.push(`removePod ${uid}`);
      self.removed.push(uid);
      const ids = [...self.containers.values()]
        .filter((c) => c.labels[LABELS.podUid] === uid)
        .map((c) => c.id);
      for (const id of ids) self.containers.delete(id);
      return { containers: ids, volumes: [] };
    },
    async ensureImage(ref: string) {
      self.calls.push(`pull ${ref}`);
      return {
        ref,
        id: 'sha256:img',
        pulled: true,
        user: '',
        stopSignal: undefined,
        entrypoint: undefined,
        cmd: undefined,
        labels: {},
        repoDigests: [],
      };
    },
    async imageInfo(ref: string) {
      return {
        ref,
        id: 'sha256:img',
        pulled: false,
        user: '',
        stopSignal: undefined,
        entrypoint: undefined,
        cmd: undefined,
        labels: {},
        repoDigests: [],
      };
    },
    async execInContainer(id: string, cmd: string[]) {
      self.calls.push(
        `exec ${self.containers.get(id)?.labels[LABELS.containerName]} ${cmd.join(' ')}`,
      );
      return { exitCode: 0, stdout: '', stderr: '', truncated: false };
    },
  };
  return r as PodRuntime;
}

function labelsFor(
  plan: PodPlan,
  name: string,
  hash: string,
  inst: InstanceInfo,
  cp?: ContainerPlan,
): Record<string, string> {
  return {
    ...podLabels(NODE, plan.pod),
    [LABELS.podGracePeriod]: String(plan.gracePeriodSeconds),
    [LABELS.containerName]: name,
    [LABELS.containerHash]: hash,
    [LABELS.attempt]: String(inst.attempt),
    [LABELS.restartCount]: String(inst.restartCount ?? 0),
    [LABELS.backoff]: String(inst.backoffMs ?? 0),
    ...(cp?.spec.lifecycle?.preStop
      ? { [LABELS.preStop]: JSON.stringify(cp.spec.lifecycle.preStop) }
      : {}),
  };
}

function makePod(container: Partial<Container> = {}, spec: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'shop', uid: 'uid-1', resourceVersion: '5' },
    spec: {
      nodeName: NODE,
      terminationGracePeriodSeconds: 3,
      containers: [{ name: 'app', image: 'app:1', imagePullPolicy: 'IfNotPresent', ...container }],
      ...spec,
    },
  };
}

function setup(pod: Pod | undefined) {
  const fake = new FakeRuntime();
  const events: string[] = [];
  const statuses: PodStatus[] = [];
  const confirmed: string[] = [];
  const current = { pod };
  const probes = new ProbeManager({
    run: async () => ({ ok: true, output: '' }),
    events: { unhealthy: () => undefined },
    onChange: () => undefined,
    logger: silentLogger(),
  });
  const reconciler = new PodReconciler({
    nodeName: NODE,
    runtime: fake.runtime(),
    api: {
      sources: async () => ({ configMaps: {}, secrets: {} }),
      updateStatus: async (_pod, status) => {
        statuses.push(status);
      },
      confirmDeletion: async (p) => {
        // What the confirmation finds: nothing of the pod may be left in Docker.
        const left = [...fake.containers.values()].filter(
          (c) => c.labels[LABELS.podUid] === p.metadata.uid,
        );
        confirmed.push(`${p.metadata.uid} left=${left.length}`);
        fake.calls.push('confirmDeletion');
      },
    },
    events: {
      normal: (_p, reason, message) => events.push(`Normal ${reason}: ${message}`),
      warning: (_p, reason, message) => events.push(`Warning ${reason}: ${message}`),
    },
    pods: { get: () => current.pod },
    probes,
    planOptions: () => ({ nodeName: NODE, uid: 1000680000, gid: 0 }),
    hostIP: () => '172.17.0.1',
    backoff: { baseMs: 500, capMs: 4000, resetAfterMs: 600_000 },
    now: () => fake.now,
  });
  const reconcile = () =>
    reconciler.reconcile('uid-1', new AbortController().signal, silentLogger());
  return { fake, events, statuses, confirmed, current, reconcile };
}

describe('PodReconciler', () => {
  it('refuses a privileged pod: Failed with the policy message, a warning, nothing created', async () => {
    const { fake, events, statuses, reconcile } = setup(
      makePod({ securityContext: { privileged: true } }),
    );
    await reconcile();
    expect(fake.calls).toEqual([]);
    const message =
      'pods "web" is forbidden: violates the restricted policy: spec.containers[0].securityContext.privileged: Forbidden: privileged containers are not allowed by the restricted policy';
    expect(events).toEqual([`Warning Forbidden: ${message}`]);
    expect(statuses[0]).toMatchObject({ phase: 'Failed', reason: 'Forbidden', message });
  });

  it('creates the sandbox, then the container, and reports Running', async () => {
    const { fake, events, statuses, reconcile } = setup(makePod());
    expect(await reconcile()).toBeUndefined();
    expect(fake.calls).toEqual([
      'runSandbox 0',
      'create app attempt=0 restarts=0 backoff=0',
      'start app',
    ]);
    expect(events).toEqual([
      'Normal Pulled: Container image "app:1" already present on machine',
      'Normal Created: Created container app',
      'Normal Started: Started container app',
    ]);
    expect(statuses[0]).toMatchObject({
      phase: 'Running',
      podIP: '10.0.0.9',
      hostIP: '172.17.0.1',
      containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: { running: {} } }],
    });
  });

  it('restarts a crashed container after the back-off its instance recorded, in CrashLoopBackOff meanwhile', async () => {
    const { fake, events, statuses, reconcile } = setup(makePod());
    await reconcile();
    const app = [...fake.containers.values()].find(
      (c) => c.labels[LABELS.containerName] === 'app',
    )!;
    app.labels[LABELS.backoff] = '1000';
    Object.assign(app, {
      state: 'exited',
      exitCode: 1,
      finishedAt: new Date(fake.now).toISOString(),
    });
    fake.calls.length = 0;
    events.length = 0;

    fake.now += 300;
    const waiting = await reconcile();
    expect(waiting).toEqual({ requeueAfter: 700 });
    expect(fake.calls).toEqual([]);
    expect(events).toEqual([
      'Warning BackOff: Back-off restarting failed container app in pod web_shop(uid-1)',
    ]);
    expect(statuses.at(-1)?.containerStatuses?.[0]).toMatchObject({
      state: {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: 'back-off 1s restarting failed container=app pod=web_shop(uid-1)',
        },
      },
      lastState: { terminated: { exitCode: 1, reason: 'Error' } },
    });

    fake.now += 700;
    await reconcile();
    expect(fake.calls).toEqual(['create app attempt=1 restarts=1 backoff=2000', 'start app']);
    expect(statuses.at(-1)?.containerStatuses?.[0]).toMatchObject({
      restartCount: 1,
      state: { running: {} },
      lastState: { terminated: { exitCode: 1 } },
    });
  });

  it('replaces a running container whose spec changed, at once', async () => {
    const { fake, events, current, reconcile } = setup(makePod());
    await reconcile();
    current.pod = makePod({ image: 'app:2' });
    fake.calls.length = 0;
    events.length = 0;
    await reconcile();
    expect(fake.calls).toEqual([
      'stop app grace=3',
      'create app attempt=1 restarts=1 backoff=0',
      'start app',
    ]);
    expect(events[0]).toBe('Normal Killing: Container app definition changed, will be restarted');
  });

  it('tears down a deleted pod: preStop first, then stop, then remove everything', async () => {
    const { fake, events, current, reconcile } = setup(
      makePod({ lifecycle: { preStop: { exec: { command: ['sh', '-c', 'drain'] } } } }),
    );
    await reconcile();
    current.pod = undefined;
    fake.calls.length = 0;
    events.length = 0;
    await reconcile();
    expect(fake.calls).toEqual(['exec app sh -c drain', 'stop app grace=3', 'removePod uid-1']);
    expect(events).toEqual(['Normal Killing: Stopping container app']);
    expect(fake.containers.size).toBe(0);
  });

  /** The pod as a DELETE of a running pod leaves it: deletionTimestamp = now + grace. */
  function deleting(pod: Pod, at: number, grace: number): Pod {
    return {
      ...pod,
      metadata: {
        ...pod.metadata,
        deletionTimestamp: new Date(at + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        deletionGracePeriodSeconds: grace,
      },
    };
  }

  it('terminates a pod being deleted: preStop, stop, final status, removal, then confirmation', async () => {
    const pod = makePod({ lifecycle: { preStop: { exec: { command: ['sh', '-c', 'drain'] } } } });
    const { fake, events, statuses, confirmed, current, reconcile } = setup(pod);
    await reconcile();
    current.pod = deleting(pod, fake.now, 3);
    fake.calls.length = 0;
    events.length = 0;
    statuses.length = 0;
    await reconcile();
    expect(fake.calls).toEqual([
      'exec app sh -c drain',
      'stop app grace=3',
      'stop POD grace=2',
      'removePod uid-1',
      'confirmDeletion',
    ]);
    expect(events).toEqual(['Normal Killing: Stopping container app']);
    // The last status shows the container terminated, written before anything was removed.
    expect(statuses.at(-1)?.containerStatuses?.[0]?.state.terminated).toMatchObject({
      exitCode: 143,
    });
    expect(confirmed).toEqual(['uid-1 left=0']);

    // The cache still has the pod until the confirmation's DELETED arrives: confirm again.
    fake.calls.length = 0;
    await reconcile();
    expect(fake.calls).toEqual(['confirmDeletion']);
  });

  it('gives the containers only what remains of the grace period', async () => {
    const pod = makePod({}, { terminationGracePeriodSeconds: 30 });
    const { fake, current, reconcile } = setup(pod);
    await reconcile();
    current.pod = deleting(pod, fake.now, 10);
    fake.now += 6_000;
    fake.calls.length = 0;
    await reconcile();
    expect(fake.calls.slice(0, 1)).toEqual(['stop app grace=4']);

    // An agent that comes back after the deadline stops at once (and skips the preStop hook).
    const late = setup(makePod({ lifecycle: { preStop: { exec: { command: ['drain'] } } } }));
    await late.reconcile();
    late.current.pod = deleting(late.current.pod!, late.fake.now - 60_000, 30);
    late.fake.calls.length = 0;
    await late.reconcile();
    expect(late.fake.calls).toEqual([
      'stop app grace=0',
      'stop POD grace=2',
      'removePod uid-1',
      'confirmDeletion',
    ]);
  });

  it('confirms at once the deletion of a pod that never ran here', async () => {
    const { fake, confirmed, reconcile } = setup(deleting(makePod(), T0, 30));
    await reconcile();
    expect(fake.calls).toEqual(['confirmDeletion']);
    expect(confirmed).toEqual(['uid-1 left=0']);
  });

  it('removes a sandbox that was made but would not start, and makes a new one', async () => {
    const { fake, events, reconcile } = setup(makePod());
    fake.failSandboxStarts = 1;
    expect(await reconcile()).toEqual({ requeueAfter: 500 });
    const broken = [...fake.containers.values()];
    expect(broken).toEqual([]);
    expect(fake.calls).toEqual(['runSandbox 0', `remove c1`]);
    expect(events).toEqual([
      'Warning FailedCreatePodSandBox: Failed to create pod sandbox: failed to update store for object type *libnetwork.endpoint',
    ]);
    fake.calls.length = 0;
    await reconcile();
    expect(fake.calls).toEqual([
      'runSandbox 0',
      'create app attempt=0 restarts=0 backoff=0',
      'start app',
    ]);
  });

  it('leaves a finished pod stopped and does not restart a Never container', async () => {
    const { fake, statuses, current, reconcile } = setup(makePod({}, { restartPolicy: 'Never' }));
    await reconcile();
    const app = [...fake.containers.values()].find(
      (c) => c.labels[LABELS.containerName] === 'app',
    )!;
    Object.assign(app, {
      state: 'exited',
      exitCode: 0,
      finishedAt: new Date(fake.now).toISOString(),
    });
    fake.calls.length = 0;
    await reconcile();
    expect(statuses.at(-1)?.phase).toBe('Succeeded');
    expect(fake.calls).toEqual(['stop POD grace=2']);
    current.pod = { ...makePod({}, { restartPolicy: 'Never' }), status: statuses.at(-1)! };
    fake.calls.length = 0;
    await reconcile();
    expect(fake.calls).toEqual([]);
  });
});

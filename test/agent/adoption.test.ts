// The agent keeps no state: killed with SIGKILL and started again it adopts what runs (F1), cleans
// up what was deleted while it was down (F2) and replaces exactly the containers whose spec
// changed (F3). The agent runs as `slipway agent`, a child process (needs `npm run build`).
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podKind, type Pod } from '../../src/api/index.js';
import { assertDockerAvailable, dockerClient, ensureImage } from '../support/docker.js';
import {
  assertAgentBuilt,
  containerStatus,
  createPod,
  eventually,
  getPod,
  isReady,
  podContainers,
  podFor,
  podVolumes,
  sh,
  startCluster,
  waitForPod,
  type Cluster,
} from './cluster.js';

const docker = dockerClient();
let cluster: Cluster;
let agent: ChildProcess | undefined;
let taggedImage: string | undefined;

beforeAll(async () => {
  assertAgentBuilt();
  await assertDockerAvailable(docker);
  await ensureImage('pause');
  cluster = await startCluster(docker);
  agent = await cluster.spawnAgent();
});

afterAll(async () => {
  agent?.kill('SIGKILL');
  await cluster?.close();
  if (taggedImage)
    await docker
      .getImage(taggedImage)
      .remove()
      .catch(() => undefined);
});

async function killAgent(): Promise<void> {
  const child = agent!;
  agent = undefined;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Starts the agent again and waits until it has synced: a pod created now runs. */
async function restartAgent(canary: string): Promise<void> {
  agent = await cluster.spawnAgent();
  await createPod(cluster, podFor(cluster, canary, { containers: [sh('c', 'exec sleep 3600')] }));
  await waitForPod(cluster, canary, (p) => p.status?.phase === 'Running', 15_000, canary);
}

function runningIds(list: Awaited<ReturnType<typeof podContainers>>): string[] {
  return list
    .filter((c) => c.State === 'running')
    .map((c) => c.Id)
    .sort();
}

describe('a restarted agent', () => {
  it('F1: adopts running pods after kill -9: same containers, no restarts, still Ready', async () => {
    const created = await createPod(
      cluster,
      podFor(cluster, 'steady', {
        containers: [
          sh(
            'web',
            'mkdir -p /tmp/w; echo ok > /tmp/w/index.html; exec httpd -f -p 8080 -h /tmp/w',
            {
              readinessProbe: { httpGet: { port: 8080, path: '/' }, periodSeconds: 1 },
            },
          ),
          sh('side', 'exec sleep 3600'),
        ],
      }),
    );
    const uid = created.metadata.uid!;
    const before = await waitForPod(cluster, 'steady', isReady, 15_000, 'Ready');
    const ids = runningIds(await podContainers(docker, uid));
    expect(ids.length).toBe(3);

    await killAgent();
    // The workload does not notice the agent's death.
    expect(runningIds(await podContainers(docker, uid))).toEqual(ids);

    await restartAgent('canary-f1');
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline) {
      const pod = (await getPod(cluster, 'steady'))!;
      expect(isReady(pod)).toBe(true);
      for (const name of ['web', 'side']) {
        expect(containerStatus(pod, name)).toMatchObject({
          containerID: containerStatus(before, name)!.containerID,
          restartCount: 0,
          ready: true,
        });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const after = await podContainers(docker, uid);
    expect(after.map((c) => c.Id).sort()).toEqual(ids);
    expect(runningIds(after)).toEqual(ids);
  });

  it('F2: removes a pod deleted while it was down; a pod created and deleted meanwhile never runs', async () => {
    const doomed = await createPod(
      cluster,
      podFor(cluster, 'doomed', {
        volumes: [{ name: 'data', emptyDir: {} }],
        containers: [
          sh('app', 'exec sleep 3600', { volumeMounts: [{ name: 'data', mountPath: '/data' }] }),
        ],
      }),
    );
    await waitForPod(cluster, 'doomed', (p) => p.status?.phase === 'Running');
    expect((await podContainers(docker, doomed.metadata.uid!)).length).toBe(2);

    await killAgent();
    await cluster.admin.delete(podKind, 'doomed', { namespace: cluster.namespace });
    // Only marked: nobody has stopped it yet.
    expect((await getPod(cluster, 'doomed'))?.metadata.deletionTimestamp).toBeDefined();
    const fleeting = await createPod(
      cluster,
      podFor(cluster, 'fleeting', { containers: [sh('app', 'exec sleep 3600')] }),
    );
    await cluster.admin.delete(podKind, 'fleeting', { namespace: cluster.namespace });
    const newcomer = await createPod(
      cluster,
      podFor(cluster, 'newcomer', { containers: [sh('app', 'exec sleep 3600')] }),
    );

    await restartAgent('canary-f2');
    await eventually(
      async () =>
        (await podContainers(docker, doomed.metadata.uid!)).length === 0 ? true : undefined,
      15_000,
      "the deleted pod's containers to be removed",
    );
    expect(await podVolumes(docker, doomed.metadata.uid!)).toEqual([]);
    expect(await podContainers(docker, fleeting.metadata.uid!)).toEqual([]);
    // The agent confirmed both deletions once nothing of them was left.
    await eventually(
      async () =>
        (await getPod(cluster, 'doomed')) === undefined &&
        (await getPod(cluster, 'fleeting')) === undefined
          ? true
          : undefined,
      15_000,
      'the deleted pods to leave the API',
    );
    await waitForPod(cluster, 'newcomer', (p) => p.status?.phase === 'Running');
    expect(runningIds(await podContainers(docker, newcomer.metadata.uid!)).length).toBe(2);
  });

  it('F3: replaces a container whose spec changed while it was down, adopts the unchanged one', async () => {
    taggedImage = `slipway/pause:f3-${cluster.runId}`;
    await docker
      .getImage('slipway/pause:1')
      .tag({ repo: 'slipway/pause', tag: `f3-${cluster.runId}` });
    const created = await createPod(
      cluster,
      podFor(cluster, 'evolving', {
        containers: [sh('changed', 'exec sleep 3600'), sh('same', 'exec sleep 3600')],
      }),
    );
    const before = await waitForPod(
      cluster,
      'evolving',
      (p) => p.status?.phase === 'Running' && isReady(p),
    );
    // Deleted and created again under the same name: a new pod (new uid) as far as nodes go.
    const reborn = await createPod(
      cluster,
      podFor(cluster, 'reborn', {
        containers: [sh('app', 'exec sleep 3600', { env: [{ name: 'V', value: '1' }] })],
      }),
    );
    await waitForPod(cluster, 'reborn', (p) => p.status?.phase === 'Running');

    await killAgent();
    const current = (await getPod(cluster, 'evolving'))!;
    const next: Pod = structuredClone(current);
    next.spec.containers[0]!.image = taggedImage;
    await cluster.admin.update(podKind, next, { namespace: cluster.namespace });
    // Forced: with its node down nobody would confirm a graceful deletion, and the name must
    // be free for the new pod.
    await cluster.admin.delete(podKind, 'reborn', {
      namespace: cluster.namespace,
      gracePeriodSeconds: 0,
    });
    const reborn2 = await createPod(
      cluster,
      podFor(cluster, 'reborn', {
        containers: [sh('app', 'exec sleep 3600', { env: [{ name: 'V', value: '2' }] })],
      }),
    );

    await restartAgent('canary-f3');
    const after = await waitForPod(
      cluster,
      'evolving',
      (p) => {
        const cs = containerStatus(p, 'changed');
        return !!cs?.state.running && cs.image === taggedImage;
      },
      15_000,
      'the changed container to be replaced',
    );
    expect(containerStatus(after, 'changed')!.containerID).not.toBe(
      containerStatus(before, 'changed')!.containerID,
    );
    expect(containerStatus(after, 'changed')!.restartCount).toBe(1);
    expect(containerStatus(after, 'same')).toMatchObject({
      containerID: containerStatus(before, 'same')!.containerID,
      restartCount: 0,
    });
    const running = (await podContainers(docker, created.metadata.uid!)).filter(
      (c) => c.State === 'running',
    );
    expect(running.map((c) => c.Labels['io.slipway.container.name']).sort()).toEqual([
      'POD',
      'changed',
      'same',
    ]);

    await eventually(
      async () =>
        (await podContainers(docker, reborn.metadata.uid!)).length === 0 ? true : undefined,
      15_000,
      'the first "reborn" to be removed',
    );
    const second = await waitForPod(cluster, 'reborn', (p) => p.status?.phase === 'Running');
    expect(second.metadata.uid).toBe(reborn2.metadata.uid);
    const env = await cluster.runtime.execInContainer(
      containerStatus(second, 'app')!.containerID!.replace('docker://', ''),
      ['sh', '-c', 'echo $V'],
      { timeoutMs: 5000 },
    );
    expect(env.stdout).toBe('2\n');
  });
  it('stops on SIGTERM without stopping its pods', async () => {
    const pod = await createPod(
      cluster,
      podFor(cluster, 'survivor', { containers: [sh('app', 'exec sleep 3600')] }),
    );
    await waitForPod(cluster, 'survivor', (p) => p.status?.phase === 'Running');
    const child = agent!;
    agent = undefined;
    const started = Date.now();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(8000);
    const states = (await podContainers(docker, pod.metadata.uid!)).map((c) => c.State);
    expect(states).toEqual(['running', 'running']);
  });
});

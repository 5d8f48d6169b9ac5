// The agent running pods on the real engine, end to end through a real master: a pod reaches
// Running with a truthful status and kubelet's events; containers share localhost; exec exit
// codes; deletion runs preStop before SIGTERM and removes containers and volumes; OOMKilled;
// CreateContainerConfigError; ErrImagePull then ImagePullBackOff; a privileged pod refused.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMapKind, isApiError, podKind, type ConfigMap } from '../../src/api/index.js';
import { assertDockerAvailable, dockerClient, ensureImage } from '../support/docker.js';
import {
  containerStatus,
  createPod,
  eventually,
  getNode,
  getPod,
  isReady,
  podContainers,
  podEvents,
  podFor,
  podVolumes,
  recordPod,
  sh,
  startCluster,
  waitForPod,
  type Cluster,
} from './cluster.js';

const docker = dockerClient();
let cluster: Cluster;

beforeAll(async () => {
  await assertDockerAvailable(docker);
  await ensureImage('pause');
  cluster = await startCluster(docker);
  await cluster.startAgent();
});

afterAll(async () => {
  await cluster?.close();
  const left = await docker.listContainers({
    all: true,
    filters: { label: [`slipway.test.run=${cluster.runId}`] },
  });
  expect(left).toEqual([]);
});

describe('a running pod', () => {
  it('reaches Running with a truthful status and events; its containers share localhost', async () => {
    const created = await createPod(
      cluster,
      podFor(cluster, 'web', {
        containers: [
          sh(
            'web',
            'mkdir -p /tmp/w && echo hello > /tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w',
            {
              ports: [{ containerPort: 8080, name: 'http' }],
              readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
            },
          ),
          sh(
            'client',
            "until printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 127.0.0.1 8080 > /tmp/got && grep -q hello /tmp/got; do sleep 0.2; done; exec sleep 3600",
            {
              readinessProbe: {
                exec: { command: ['grep', '-q', 'hello', '/tmp/got'] },
                periodSeconds: 1,
              },
            },
          ),
        ],
      }),
    );
    const pod = await waitForPod(cluster, 'web', isReady, 20_000, 'the pod to be Ready');
    const status = pod.status!;
    expect(status.phase).toBe('Running');
    const node = await getNode(cluster);
    const internalIP = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    expect(status.hostIP).toBe(internalIP);
    expect(status.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(status.conditions?.map((c) => [c.type, c.status])).toEqual([
      ['Initialized', 'True'],
      ['Ready', 'True'],
      ['ContainersReady', 'True'],
      ['PodScheduled', 'True'],
    ]);

    // Every figure is Docker's.
    const containers = await podContainers(docker, created.metadata.uid!);
    const sandbox = containers.find((c) => c.Labels['io.slipway.container.name'] === 'POD')!;
    const sandboxIP = Object.values(sandbox.NetworkSettings.Networks)[0]!.IPAddress;
    expect(status.podIP).toBe(sandboxIP);
    expect(status.podIPs).toEqual([{ ip: sandboxIP }]);
    for (const name of ['web', 'client']) {
      const cs = containerStatus(pod, name)!;
      const c = containers.find((x) => x.Labels['io.slipway.container.name'] === name)!;
      const info = await docker.getContainer(c.Id).inspect();
      // kubelet's rule: the repo digest once the image has one (another test may have pushed
      // this image to a registry), else the image ID.
      const digests = (await docker.getImage(info.Image).inspect()).RepoDigests ?? [];
      const imageID = digests[0] ? `docker-pullable://${digests[0]}` : `docker://${info.Image}`;
      expect(cs).toMatchObject({
        name,
        ready: true,
        started: true,
        restartCount: 0,
        image: 'slipway/pause:1',
        imageID,
        containerID: `docker://${c.Id}`,
        state: { running: { startedAt: info.State.StartedAt } },
        lastState: {},
      });
    }

    const events = await podEvents(cluster, pod);
    const said = events.map((e) => `${e.type} ${e.reason}: ${e.message}`);
    expect(said).toEqual(
      expect.arrayContaining([
        'Normal Pulled: Container image "slipway/pause:1" already present on machine',
        'Normal Created: Created container web',
        'Normal Started: Started container web',
        'Normal Created: Created container client',
        'Normal Started: Started container client',
      ]),
    );
    expect(events.every((e) => e.source?.component === 'kubelet')).toBe(true);
    expect(events.every((e) => e.source?.host === cluster.nodeName)).toBe(true);

    // exec through the runtime: exit codes and output.
    const web = containerStatus(pod, 'web')!.containerID!.replace('docker://', '');
    const ok = await cluster.runtime.execInContainer(web, ['sh', '-c', 'cat /tmp/w/index.html'], {
      timeoutMs: 5000,
    });
    expect(ok).toMatchObject({ exitCode: 0, stdout: 'hello\n' });
    const failed = await cluster.runtime.execInContainer(
      web,
      ['sh', '-c', 'echo oops >&2; exit 3'],
      {
        timeoutMs: 5000,
      },
    );
    expect(failed).toMatchObject({ exitCode: 3, stderr: 'oops\n' });
    const id = await cluster.runtime.execInContainer(web, ['id', '-u'], { timeoutMs: 5000 });
    expect(Number(id.stdout.trim())).toBeGreaterThan(0);
  });

  it('on deletion runs preStop, then SIGTERM, then removes containers and volumes', async () => {
    const hits: { path: string; at: number }[] = [];
    const server: Server = createServer((req, res) => {
      hits.push({ path: req.url ?? '', at: Date.now() });
      res.end('ok\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const node = await getNode(cluster);
      const host = node.status!.addresses!.find((a) => a.type === 'InternalIP')!.address;
      const call = (path: string): string =>
        `printf "GET ${path} HTTP/1.0\\r\\n\\r\\n" | nc -w 2 ${host} ${port} >/dev/null`;
      const created = await createPod(
        cluster,
        podFor(cluster, 'hooked', {
          terminationGracePeriodSeconds: 5,
          volumes: [{ name: 'scratch', emptyDir: {} }],
          containers: [
            sh(
              'app',
              `trap '${call('/term')}; exit 0' TERM; touch /scratch/up; while :; do sleep 0.2 & wait $!; done`,
              {
                volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
                lifecycle: {
                  preStop: { exec: { command: ['sh', '-c', `${call('/prestop')}; sleep 0.5`] } },
                },
              },
            ),
          ],
        }),
      );
      await waitForPod(cluster, 'hooked', (p) => p.status?.phase === 'Running');
      const uid = created.metadata.uid!;
      expect((await podVolumes(docker, uid)).length).toBe(1);

      await cluster.admin.delete(podKind, 'hooked', { namespace: cluster.namespace });
      await eventually(
        async () => ((await podContainers(docker, uid)).length === 0 ? true : undefined),
        15_000,
        'the pod containers to be removed',
      );
      // The volumes go right after the containers (the agent removes them in that order).
      await eventually(
        async () => ((await podVolumes(docker, uid)).length === 0 ? true : undefined),
        5_000,
        'the pod volumes to be removed',
      );
      expect(hits.map((h) => h.path)).toEqual(['/prestop', '/term']);
      // SIGTERM came after the hook had finished (it sleeps 0.5 s after calling).
      expect(hits[1]!.at - hits[0]!.at).toBeGreaterThanOrEqual(400);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reports a container killed for memory as OOMKilled and the pod Failed (restartPolicy Never)', async () => {
    await createPod(
      cluster,
      podFor(cluster, 'hog', {
        restartPolicy: 'Never',
        containers: [
          sh('hog', 'exec tail /dev/zero', { resources: { limits: { memory: '32Mi' } } }),
        ],
      }),
    );
    const pod = await waitForPod(cluster, 'hog', (p) => p.status?.phase === 'Failed', 20_000);
    const cs = containerStatus(pod, 'hog')!;
    expect(cs.state.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(cs.state.terminated?.finishedAt).toBeDefined();
    expect(cs.restartCount).toBe(0);
    expect(cs.ready).toBe(false);
    // A finished pod's sandbox is stopped too; the containers stay for their logs.
    const containers = await podContainers(docker, pod.metadata.uid!);
    await eventually(
      async () => {
        const now = await podContainers(docker, pod.metadata.uid!);
        return now.every((c) => c.State !== 'running') ? true : undefined;
      },
      10_000,
      'the sandbox to stop',
    );
    expect(containers.length).toBe(2);
  });

  it('runs a pod to completion: Succeeded, Completed, nothing restarted', async () => {
    await createPod(
      cluster,
      podFor(cluster, 'job', { restartPolicy: 'OnFailure', containers: [sh('once', 'echo done')] }),
    );
    const pod = await waitForPod(cluster, 'job', (p) => p.status?.phase === 'Succeeded');
    const cs = containerStatus(pod, 'once')!;
    expect(cs.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(cs.restartCount).toBe(0);
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    // Still nothing restarted a few reconciles later.
    await new Promise((r) => setTimeout(r, 1500));
    const later = await getPod(cluster, 'job');
    expect(later?.status?.phase).toBe('Succeeded');
    const instances = (await podContainers(docker, pod.metadata.uid!)).filter(
      (c) => c.Labels['io.slipway.container.name'] === 'once',
    );
    expect(instances.length).toBe(1);
  });
});

describe('init containers and volumes', () => {
  it('runs init containers to completion first, sharing an emptyDir with the app', async () => {
    await createPod(
      cluster,
      podFor(cluster, 'prepared', {
        volumes: [{ name: 'work', emptyDir: {} }],
        initContainers: [
          sh('fetch', 'echo fetched > /work/data', {
            volumeMounts: [{ name: 'work', mountPath: '/work' }],
          }),
          sh('check', 'grep -q fetched /work/data && echo checked >> /work/data', {
            volumeMounts: [{ name: 'work', mountPath: '/work' }],
          }),
        ],
        containers: [
          sh('app', 'cat /work/data; exec sleep 3600', {
            volumeMounts: [{ name: 'work', mountPath: '/work' }],
          }),
        ],
      }),
    );
    const pod = await waitForPod(cluster, 'prepared', (p) => p.status?.phase === 'Running');
    expect(
      pod.status?.initContainerStatuses?.map((s) => [s.name, s.state.terminated?.reason]),
    ).toEqual([
      ['fetch', 'Completed'],
      ['check', 'Completed'],
    ]);
    expect(pod.status?.conditions?.find((c) => c.type === 'Initialized')?.status).toBe('True');
    const id = containerStatus(pod, 'app')!.containerID!.replace('docker://', '');
    const out = await cluster.runtime.execInContainer(id, ['cat', '/work/data'], {
      timeoutMs: 5000,
    });
    expect(out.stdout).toBe('fetched\nchecked\n');
  });

  it('waits with FailedMount for a missing ConfigMap volume, then mounts it', async () => {
    const ns = cluster.namespace;
    await createPod(
      cluster,
      podFor(cluster, 'mounted', {
        volumes: [{ name: 'conf', configMap: { name: 'app-conf' } }],
        containers: [
          sh('app', 'exec sleep 3600', { volumeMounts: [{ name: 'conf', mountPath: '/conf' }] }),
        ],
      }),
    );
    const pending = await waitForPod(
      cluster,
      'mounted',
      (p) => containerStatus(p, 'app')?.state.waiting?.reason === 'ContainerCreating',
    );
    await eventually(
      async () => {
        const said = (await podEvents(cluster, pending)).map((e) => `${e.reason}: ${e.message}`);
        return said.some((m) =>
          /^FailedMount: MountVolume.SetUp failed: .*configmap "app-conf" not found/.test(m),
        )
          ? true
          : undefined;
      },
      5000,
      'a FailedMount event',
    );
    await cluster.admin.create<ConfigMap>(configMapKind, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'app-conf', namespace: ns },
      data: { 'app.properties': 'color=blue\n' },
    });
    const running = await waitForPod(cluster, 'mounted', (p) => p.status?.phase === 'Running');
    const id = containerStatus(running, 'app')!.containerID!.replace('docker://', '');
    const out = await cluster.runtime.execInContainer(id, ['cat', '/conf/app.properties'], {
      timeoutMs: 5000,
    });
    expect(out.stdout).toBe('color=blue\n');
  });
});

describe('pods that cannot start', () => {
  it('says CreateContainerConfigError for a missing ConfigMap key, and starts once it exists', async () => {
    const ns = cluster.namespace;
    await cluster.admin.create<ConfigMap>(configMapKind, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: ns },
      data: { other: 'x' },
    });
    await createPod(
      cluster,
      podFor(cluster, 'configured', {
        containers: [
          sh('app', 'echo "$GREETING"; exec sleep 3600', {
            env: [
              {
                name: 'GREETING',
                valueFrom: { configMapKeyRef: { name: 'settings', key: 'greeting' } },
              },
            ],
          }),
        ],
      }),
    );
    const waiting = await waitForPod(
      cluster,
      'configured',
      (p) => containerStatus(p, 'app')?.state.waiting?.reason === 'CreateContainerConfigError',
    );
    expect(containerStatus(waiting, 'app')!.state.waiting!.message).toBe(
      `couldn't find key greeting in ConfigMap ${ns}/settings`,
    );
    expect(waiting.status?.phase).toBe('Pending');
    const events = await podEvents(cluster, waiting);
    expect(events.map((e) => `${e.type} ${e.reason}: ${e.message}`)).toContain(
      `Warning Failed: Error: couldn't find key greeting in ConfigMap ${ns}/settings`,
    );

    await cluster.admin.patch(
      configMapKind,
      'settings',
      { data: { greeting: 'hi' } },
      { namespace: ns },
    );
    const running = await waitForPod(cluster, 'configured', (p) => p.status?.phase === 'Running');
    expect(containerStatus(running, 'app')!.state.running).toBeDefined();
  });

  it('goes from ErrImagePull to ImagePullBackOff for an image that cannot be pulled', async () => {
    const image = '127.0.0.1:9/nope:1';
    const recording = await recordPod(cluster, 'nope');
    await createPod(cluster, podFor(cluster, 'nope', { containers: [{ name: 'app', image }] }));
    const pod = await waitForPod(
      cluster,
      'nope',
      (p) => containerStatus(p, 'app')?.state.waiting?.reason === 'ImagePullBackOff',
      20_000,
      'ImagePullBackOff',
    );
    await recording.stop();
    const reasons = recording.revisions
      .map((p) => containerStatus(p, 'app')?.state.waiting?.reason)
      .filter((r) => r !== undefined);
    // ErrImagePull comes first, with the engine's words, then the back-off.
    expect(reasons.indexOf('ErrImagePull')).toBeGreaterThanOrEqual(0);
    expect(reasons.indexOf('ErrImagePull')).toBeLessThan(reasons.indexOf('ImagePullBackOff'));
    const err = recording.revisions
      .map((p) => containerStatus(p, 'app')?.state.waiting)
      .find((w) => w?.reason === 'ErrImagePull');
    expect(err?.message).toMatch(/127\.0\.0\.1:9/);
    expect(pod.status?.phase).toBe('Pending');
    expect(containerStatus(pod, 'app')!.state.waiting!.message).toBe(
      `Back-off pulling image "${image}"`,
    );
    const said = (await podEvents(cluster, pod)).map((e) => `${e.type} ${e.reason}: ${e.message}`);
    expect(said).toEqual(
      expect.arrayContaining([
        `Normal Pulling: Pulling image "${image}"`,
        'Warning Failed: Error: ErrImagePull',
        `Normal BackOff: Back-off pulling image "${image}"`,
      ]),
    );
    expect(
      said.some((s) => s.startsWith(`Warning Failed: Failed to pull image "${image}": `)),
    ).toBe(true);
    // Nothing but the sandbox exists for it.
    const containers = await podContainers(docker, pod.metadata.uid!);
    expect(containers.map((c) => c.Labels['io.slipway.container.name'])).toEqual(['POD']);
  });

  it('refuses a privileged pod with a clear message and runs nothing of it', async () => {
    const privileged = podFor(cluster, 'priv', {
      containers: [sh('app', 'exec sleep 3600', { securityContext: { privileged: true } })],
    });
    let created;
    try {
      created = await createPod(cluster, privileged);
    } catch (err) {
      // The master's admission refuses it before any node sees it: just as good.
      expect(isApiError(err, 'Forbidden')).toBe(true);
      expect((err as Error).message).toMatch(
        /spec\.containers\[0\]\.securityContext\.privileged: Forbidden: privileged containers are not allowed/,
      );
      return;
    }
    const pod = await waitForPod(cluster, 'priv', (p) => p.status?.phase === 'Failed');
    expect(pod.status?.reason).toBe('Forbidden');
    expect(pod.status?.message).toMatch(
      /spec\.containers\[0\]\.securityContext\.privileged: Forbidden: privileged containers are not allowed by the restricted policy/,
    );
    const events = await podEvents(cluster, pod);
    expect(events.find((e) => e.type === 'Warning' && e.reason === 'Forbidden')?.message).toBe(
      pod.status?.message,
    );
    expect(await podContainers(docker, created.metadata.uid!)).toEqual([]);
  });
});

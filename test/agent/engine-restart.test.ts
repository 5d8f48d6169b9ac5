// F4: the Docker engine restarts under the agent while it runs pods. The engine is a second
// dockerd in a network namespace this test creates (test/support/engine.ts), never the machine's
// shared one. Restarting it kills every container; the agent must ride out the outage (its
// Docker calls fail, its event stream ends), report the node NotReady meanwhile, and afterwards
// bring every pod back Running and Ready with its restart counts carried on (never reset, never
// more than the instances made), without leaking containers or IPs, and without touching what
// is not its own. Needs root; fails rather than skips when the engine cannot be set up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime } from '../../agent/docker/runtime.js';
import { selectGarbage } from '../../agent/docker/inventory.js';
import { type Container, type Pod } from '../../src/api/index.js';
import { silentLogger } from '../../src/util/logger.js';
import {
  assertDockerAvailable,
  dockerClient,
  ensureImage,
  PAUSE_IMAGE,
} from '../support/docker.js';
import { copyImage, startSecondEngine, type SecondEngine } from '../support/engine.js';
import {
  containerStatus,
  createPod,
  eventually,
  getNode,
  getPod,
  isReady,
  podFor,
  sh,
  startCluster,
  waitForPod,
  type Cluster,
} from './cluster.js';

const PODS = 6;
const LOOP = 'trap "exit 0" TERM; while :; do sleep 0.2 & wait $!; done';

const mainDocker = dockerClient();
let engine: SecondEngine | undefined;
let cluster: Cluster | undefined;
/** This run's node on the test engine, to look at what the agent made. */
let runtime: DockerRuntime;

beforeAll(async () => {
  await assertDockerAvailable(mainDocker);
  await ensureImage('pause');
  engine = await startSecondEngine();
  await copyImage(mainDocker, engine.docker, PAUSE_IMAGE);
  // The cluster's own clean-up looks at the shared engine (where this run creates nothing);
  // this engine goes away whole in cleanup().
  cluster = await startCluster(mainDocker, {
    agent: {
      docker: engine.endpoint,
      // The agent runs in this host's namespace: the master reaches it here, not at the bridge.
      nodeIP: engine.hostAddress,
      // Only Docker events (and the engine coming back) wake pods up: no periodic resync hides
      // a lost event stream.
      resyncInterval: 120_000,
    },
  });
  await cluster.startAgent();
  runtime = new DockerRuntime({
    docker: engine.docker,
    logger: silentLogger(),
    nodeName: cluster.nodeName,
  });
});

afterAll(async () => {
  try {
    await cluster?.close();
  } finally {
    await engine?.cleanup();
  }
});

/** A pod whose app serves HTTP on 8080 and is ready by a TCP (even) or exec (odd) probe, plus a
 * probe-less sidecar; both exit at once on SIGTERM. */
function loadPod(c: Cluster, name: string, i: number): Pod {
  const readinessProbe: Container['readinessProbe'] =
    i % 2 === 0
      ? { tcpSocket: { port: 8080 }, periodSeconds: 1 }
      : { exec: { command: ['sh', '-c', 'test -e /tmp/up'] }, periodSeconds: 1 };
  return podFor(c, name, {
    terminationGracePeriodSeconds: 2,
    containers: [
      sh(
        'app',
        `mkdir -p /tmp/w; echo ok > /tmp/w/index.html; httpd -p 8080 -h /tmp/w; touch /tmp/up; ${LOOP}`,
        { readinessProbe },
      ),
      sh('side', LOOP),
    ],
  });
}

const runningAndReady = (p: Pod): boolean => p.status?.phase === 'Running' && isReady(p);

function nodeReady(node: Awaited<ReturnType<typeof getNode>>): string | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

describe('an engine restart under the agent', () => {
  it('F4: pods come back Running and Ready after a dockerd restart, no leaked containers or IPs', async () => {
    const e = engine!;
    const c = cluster!;
    // Not the agent's (no ownership labels): it must survive untouched. Docker restarts it.
    const foreign = await e.docker.createContainer({
      Image: PAUSE_IMAGE,
      Labels: c.labels,
      HostConfig: { RestartPolicy: { Name: 'always' } },
    });
    await foreign.start();

    const names = Array.from({ length: PODS }, (_, i) => `load-${i}`);
    for (const [i, name] of names.entries()) await createPod(c, loadPod(c, name, i));
    const before = new Map<string, Pod>();
    for (const name of names) {
      before.set(name, await waitForPod(c, name, runningAndReady, 60_000, `${name} Ready`));
    }
    expect(nodeReady(await getNode(c))).toBe('True');

    // The restart, with work arriving while the engine is away.
    await e.stop();
    const late = ['late-0', 'late-1'];
    for (const [i, name] of late.entries()) await createPod(c, loadPod(c, name, i));
    await eventually(
      async () => (nodeReady(await getNode(c)) === 'False' ? true : undefined),
      20_000,
      'the agent to report the node NotReady while Docker is down',
    );
    const down = await getNode(c);
    expect(down.status?.conditions?.find((x) => x.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'KubeletNotReady',
    });
    await e.start();

    // The pods' last status is from before the outage: wait for new containers, Ready.
    const renewed =
      (name: string) =>
      (p: Pod): boolean => {
        if (!runningAndReady(p)) return false;
        const old = before.get(name);
        return ['app', 'side'].every((cname) => {
          const now = containerStatus(p, cname);
          const was = old ? containerStatus(old, cname)?.containerID : undefined;
          return now?.state.running !== undefined && now.containerID !== was;
        });
      };
    const after = new Map<string, Pod>();
    for (const name of [...names, ...late]) {
      after.set(name, await waitForPod(c, name, renewed(name), 60_000, `${name} Ready again`));
    }
    await eventually(
      async () => (nodeReady(await getNode(c)) === 'True' ? true : undefined),
      20_000,
      'the node to be Ready again',
    );

    // Garbage collection settles (nothing left it would remove); then the engine holds exactly
    // the live instances plus the dead ones it keeps (for logs --previous): nothing created
    // twice, nothing half-made left behind.
    const inventory = await eventually(
      async () => {
        const pods = await runtime.listPods();
        return selectGarbage(pods, 1).length === 0 ? pods : undefined;
      },
      15_000,
      'garbage collection to settle',
    );
    const byName = new Map(inventory.map((p) => [p.name, p]));
    expect([...byName.keys()].sort()).toEqual([...names, ...late].sort());
    let expected = 1; // the foreign container
    for (const [name, inv] of byName) {
      const pod = after.get(name)!;
      const states = (list: typeof inv.containers): string[] =>
        list.map((x) => `${x.containerName} ${x.state}`).sort();
      const running = [...inv.sandboxes, ...inv.containers].filter((x) => x.state === 'running');
      expect(states(running), name).toEqual(['POD running', 'app running', 'side running']);
      expect(
        [...inv.sandboxes, ...inv.containers].filter((x) => x.state !== 'running'),
        `${name}: only running and exited instances`,
      ).toSatisfy((dead: typeof inv.containers) => dead.every((x) => x.state === 'exited'));
      const ranBefore = before.has(name);
      for (const cname of ['app', 'side']) {
        const instances = inv.containers.filter((x) => x.containerName === cname);
        const live = instances.find((x) => x.state === 'running')!;
        const status = containerStatus(pod, cname)!;
        // The status tells what the instance's labels say; the pods that ran were restarted
        // at least once (the engine killed them), and never more often than instances were
        // made for them (one the agent started while dockerd was shutting down may have failed
        // to start: that counts, as in kubelet).
        expect(status.restartCount, `${name}/${cname}`).toBe(live.restartCount);
        if (ranBefore) {
          expect(status.restartCount, `${name}/${cname}`).toBeGreaterThanOrEqual(1);
          expect(status.restartCount, `${name}/${cname}`).toBeLessThanOrEqual(live.attempt);
          expect(status.lastState?.terminated, `${name}/${cname}`).toBeDefined();
          // The newest dead instance stays, no other.
          expect(instances.length, `${name}/${cname}`).toBe(2);
        } else {
          expect(status.restartCount, `${name}/${cname}`).toBe(0);
          expect(instances.length, `${name}/${cname}`).toBe(1);
        }
      }
      expected += inv.sandboxes.length + inv.containers.length;
    }
    const all = await e.docker.listContainers({
      all: true,
      filters: { label: [`slipway.test.run=${c.runId}`] },
    });
    expect(all.length).toBe(expected);

    // The foreign container: same one, still there, its labels as they were.
    const f = await foreign.inspect();
    expect(f.State.Running).toBe(true);
    expect(f.Config.Labels).toMatchObject(c.labels);
    expect(f.Config.Labels['io.slipway.managed-by']).toBeUndefined();

    // IPs: every live sandbox has its own address in the engine's subnet, the pod reports
    // it, and the bridge holds exactly the live sandboxes (plus the foreign container).
    const live = all.filter(
      (x) => x.State === 'running' && x.Labels['io.slipway.container.name'] === 'POD',
    );
    expect(live.length).toBe(PODS + late.length);
    const sideBefore = containerStatus(after.get('load-0')!, 'side')!.restartCount;
    const ipOf = new Map<string, string>();
    for (const s of live) {
      const info = await e.docker.getContainer(s.Id).inspect();
      const ip = (info.NetworkSettings as { IPAddress?: string }).IPAddress ?? '';
      expect(ip.startsWith(e.subnet.replace(/0\/24$/, ''))).toBe(true);
      ipOf.set(s.Id, ip);
      const podName = s.Labels['io.slipway.pod.name']!;
      expect(after.get(podName)!.status?.podIP, podName).toBe(ip);
    }
    expect(new Set(ipOf.values()).size).toBe(live.length);
    const bridge = (await e.docker.getNetwork('bridge').inspect()) as {
      Containers?: Record<string, { IPv4Address: string }>;
    };
    const attached = bridge.Containers ?? {};
    expect(Object.keys(attached).sort()).toEqual([...ipOf.keys(), foreign.id].sort());
    for (const [id, ip] of ipOf) expect(attached[id]!.IPv4Address).toBe(`${ip}/24`);

    // The event stream is back: a container killed behind the agent's back is restarted on
    // its die event (the periodic resync is two minutes away).
    const side = all.find(
      (x) =>
        x.State === 'running' &&
        x.Labels['io.slipway.pod.name'] === 'load-0' &&
        x.Labels['io.slipway.container.name'] === 'side',
    )!;
    await e.docker.getContainer(side.Id).kill();
    await waitForPod(
      c,
      'load-0',
      (p) =>
        containerStatus(p, 'side')?.restartCount === sideBefore + 1 &&
        containerStatus(p, 'side')?.state.running !== undefined,
      15_000,
      'the killed sidecar to be restarted',
    );
    expect((await getPod(c, 'load-0'))!.metadata.uid).toBe(before.get('load-0')!.metadata.uid);
  }, 120_000);
});

// A ReplicationController on the real engine: a master with its controllers (scheduler,
// replication controller, garbage collector) and an in-process agent for the local Docker
// engine. Its replicas run and become ready, a killed container is restarted in place, a
// deleted pod is replaced, scaling down stops containers, and deleting the controller removes
// everything it made.
import { describe, expect, it } from 'vitest';
import { podKind, replicationControllerKind, type Pod } from '../../src/api/index.js';
import type { ReplicationController } from '../../src/api/kinds/replication-controller.js';
import { dockerClient } from '../support/docker.js';
import {
  containerStatus,
  eventually,
  isReady,
  podContainers,
  sh,
  useClusterWithAgent,
  type Cluster,
} from './cluster.js';

const docker = dockerClient();
let cluster: Cluster;

useClusterWithAgent(docker, (c) => (cluster = c), { master: { controllers: true } });

async function podsOf(name: string): Promise<Pod[]> {
  const list = await cluster.admin.list<Pod>(podKind, { namespace: cluster.namespace });
  return list.items.filter((p) =>
    p.metadata.ownerReferences?.some((r) => r.controller && r.name === name),
  );
}

/** The pods of `name` when there are exactly `count`, all Running and Ready. */
async function readyPods(name: string, count: number): Promise<Pod[] | undefined> {
  const pods = await podsOf(name);
  const ok =
    pods.length === count &&
    pods.every((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && isReady(p));
  return ok ? pods : undefined;
}

function allReady(name: string, count: number, timeoutMs = 30_000): Promise<Pod[]> {
  return eventually(
    () => readyPods(name, count),
    timeoutMs,
    `${count} running and ready pods of ${name}`,
  );
}

async function runningContainer(pod: Pod, name: string): Promise<string> {
  const found = await eventually(
    async () =>
      (await podContainers(docker, pod.metadata.uid!)).find(
        (c) => c.Labels['io.slipway.container.name'] === name && c.State === 'running',
      ),
    10_000,
    `the running container ${name} of ${pod.metadata.name}`,
  );
  return found.Id;
}

describe('ReplicationController on Docker', () => {
  it('keeps its replicas running through a killed container, a deleted pod and scaling, and goes with its pods', async () => {
    const rc: ReplicationController = {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        selector: { app: 'web' },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [sh('app', 'exec sleep 3600')],
          },
        },
      },
    };
    await cluster.admin.create(replicationControllerKind, rc, { namespace: cluster.namespace });
    const pods = await allReady('web', 3);
    for (const p of pods) expect(p.spec.nodeName).toBe(cluster.nodeName);
    await eventually(
      async () => {
        const now = await cluster.admin.get<ReplicationController>(
          replicationControllerKind,
          'web',
          {
            namespace: cluster.namespace,
          },
        );
        return now.status?.readyReplicas === 3 && now.status.availableReplicas === 3
          ? now
          : undefined;
      },
      10_000,
      'status: 3 ready and available',
    );

    // A killed container: the node restarts it, the pod stays (same name, restartCount 1).
    const victim = pods[0]!;
    await docker.getContainer(await runningContainer(victim, 'app')).kill();
    await eventually(
      async () => {
        const now = (await podsOf('web')).find((p) => p.metadata.name === victim.metadata.name);
        return now && (containerStatus(now, 'app')?.restartCount ?? 0) >= 1 && isReady(now)
          ? now
          : undefined;
      },
      20_000,
      'the killed container restarted',
    );
    const afterKill = await allReady('web', 3);
    expect(afterKill.map((p) => p.metadata.name).sort()).toEqual(
      pods.map((p) => p.metadata.name).sort(),
    );

    // A deleted pod: its containers stop and the controller makes a new pod that runs.
    const deleted = pods[1]!;
    await cluster.admin.delete(podKind, deleted.metadata.name!, { namespace: cluster.namespace });
    const replaced = await eventually(
      async () => {
        const now = await readyPods('web', 3);
        return now && !now.some((p) => p.metadata.name === deleted.metadata.name) ? now : undefined;
      },
      30_000,
      'a running replacement',
    );
    await eventually(
      async () =>
        (await podContainers(docker, deleted.metadata.uid!)).length === 0 ? true : undefined,
      20_000,
      "the deleted pod's containers removed",
    );

    // Scale to 1: two pods stop.
    await cluster.admin.patch(
      replicationControllerKind,
      'web',
      { spec: { replicas: 1 } },
      { namespace: cluster.namespace },
    );
    const [survivor] = await allReady('web', 1);
    const stopped = replaced.filter((p) => p.metadata.name !== survivor!.metadata.name);
    expect(stopped).toHaveLength(2);
    for (const p of stopped) {
      await eventually(
        async () =>
          (await podContainers(docker, p.metadata.uid!)).length === 0 ? true : undefined,
        20_000,
        `the containers of ${p.metadata.name} removed`,
      );
    }

    // Deleting the controller deletes its last pod, and the node removes its containers.
    await cluster.admin.delete(replicationControllerKind, 'web', { namespace: cluster.namespace });
    await eventually(
      async () => ((await podsOf('web')).length === 0 ? true : undefined),
      20_000,
      'the pods gone',
    );
    await eventually(
      async () =>
        (await podContainers(docker, survivor!.metadata.uid!)).length === 0 ? true : undefined,
      20_000,
      "the last pod's containers removed",
    );
  });
});

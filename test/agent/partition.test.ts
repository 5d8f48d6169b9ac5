// F6: an agent cut off from the master. Its node goes Ready=Unknown after the grace period, its
// pods are deleted after the eviction timeout and, since the node cannot confirm, force-deleted
// (their owners would replace them elsewhere), the
// containers keep running while the node is away, and when the agent comes back it stops the
// pods the master took away. The agent is a `slipway agent` child process, frozen with SIGSTOP.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertDockerAvailable, dockerClient, ensureImage } from '../support/docker.js';
import {
  assertAgentBuilt,
  eventually,
  getNode,
  getPod,
  podContainers,
  podFor,
  createPod,
  recordPod,
  sh,
  startCluster,
  waitForPod,
  type Cluster,
} from './cluster.js';

const docker = dockerClient();
let cluster: Cluster;
let agent: ChildProcess | undefined;

beforeAll(async () => {
  assertAgentBuilt();
  await assertDockerAvailable(docker);
  await ensureImage('pause');
  cluster = await startCluster(docker, {
    master: { controllers: true, nodeMonitorGracePeriodSeconds: 2, podEvictionTimeoutSeconds: 3 },
  });
  agent = await cluster.spawnAgent();
});

afterAll(async () => {
  if (agent) {
    agent.kill('SIGCONT');
    agent.kill('SIGKILL');
  }
  await cluster?.close();
});

function readyStatus(node: Awaited<ReturnType<typeof getNode>>): string | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

describe('an agent cut off from the master', () => {
  it('F6: node Unknown after the grace period, pods evicted after the timeout, stopped on rejoin', async () => {
    const created = await createPod(
      cluster,
      podFor(cluster, 'cut-off', { containers: [sh('c', 'exec sleep 3600')] }),
    );
    await waitForPod(cluster, 'cut-off', (p) => p.status?.phase === 'Running', 20_000, 'Running');
    const uid = created.metadata.uid!;
    expect((await podContainers(docker, uid)).filter((c) => c.State === 'running')).not.toEqual([]);

    const recording = await recordPod(cluster, 'cut-off');
    const frozenAt = Date.now();
    agent!.kill('SIGSTOP');
    await eventually(
      async () =>
        (readyStatus(await getNode(cluster)) ?? 'True') === 'Unknown' ? true : undefined,
      15_000,
      'the node to become Ready=Unknown',
    );
    // Not before the grace period (2 s) since the last heartbeat (at most 1 s before freezing).
    expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(1000);
    await eventually(
      async () => ((await getPod(cluster, 'cut-off')) === undefined ? true : undefined),
      15_000,
      'the pod to be evicted',
    );
    // Marked for deletion first, then force-deleted: the lost node could not confirm.
    await recording.stop();
    const marked = recording.revisions.filter((p) => p.metadata.deletionTimestamp !== undefined);
    expect(marked.length).toBeGreaterThan(0);
    // While the node is away nobody can stop its containers: they still run.
    expect((await podContainers(docker, uid)).filter((c) => c.State === 'running')).not.toEqual([]);

    agent!.kill('SIGCONT');
    await eventually(
      async () => (readyStatus(await getNode(cluster)) === 'True' ? true : undefined),
      15_000,
      'the node to be Ready again',
    );
    await eventually(
      async () => ((await podContainers(docker, uid)).length === 0 ? true : undefined),
      20_000,
      'the agent to remove the evicted pod',
    );
  });
});

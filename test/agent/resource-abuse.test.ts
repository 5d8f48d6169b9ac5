// X2 with the agent running: a fork bomb and a memory hog run as pods through the API, on the
// local engine, next to a well-behaved pod. The bomb stays at its pids limit and the hog is
// OOMKilled (reported so in the pod's status), while the node stays Ready with heartbeats moving
// on and the agent keeps serving the other pod's exec and logs through the master. The
// runtime-level half (the engine itself keeps answering) is in security.test.ts; both share the
// abusive workloads and the pids sampling (support.ts).
import { describe, expect, it } from 'vitest';
import { podKind, type Pod } from '../../src/api/index.js';
import { dockerClient } from '../support/docker.js';
import {
  containerStatus,
  createPod,
  getNode,
  podContainers,
  podFor,
  sh,
  useClusterWithAgent,
  waitForPod,
  type Cluster,
} from './cluster.js';
import { FORK_BOMB_SCRIPT, MEMORY_HOG_SCRIPT, watchPids } from './support.js';

const PIDS_LIMIT = 64;
const docker = dockerClient();
let cluster: Cluster;
useClusterWithAgent(docker, (c) => (cluster = c), { agent: { pidsLimit: PIDS_LIMIT } });

/** Runs `echo` in the bystander through master and agent; the exit code and output. */
async function execThroughMaster(word: string): Promise<{ exitCode: number; out: string }> {
  let out = '';
  const conn = await cluster.admin.execInPod(
    cluster.namespace,
    'bystander',
    { command: ['echo', word], stdin: false, tty: false },
    { stdout: (d) => (out += d.toString()), stderr: () => undefined },
  );
  const done = await conn.done;
  return { exitCode: done.kind === 'exit' ? done.exitCode : -1, out };
}

/** The bystander's last log line, read through master and agent. */
async function lastLogLine(): Promise<string> {
  let text = '';
  for await (const chunk of await cluster.admin.podLogs(cluster.namespace, 'bystander', {
    tailLines: 1,
  })) {
    text += Buffer.from(chunk).toString();
  }
  return text.trim();
}

describe('X2 with the agent running', () => {
  it('contains a fork bomb and a memory hog while the node stays Ready and the agent serves exec and logs', async () => {
    await createPod(
      cluster,
      podFor(cluster, 'bystander', {
        containers: [
          sh(
            'talker',
            'trap "exit 0" TERM; i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.2 & wait $!; done',
          ),
        ],
      }),
    );
    await waitForPod(cluster, 'bystander', (p) => p.status?.phase === 'Running');

    const bomb = await createPod(
      cluster,
      podFor(cluster, 'bomb', {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 0,
        containers: [
          // Memory enough for 64 shells: the memory limit must not end the bomb before the
          // pids limit is shown (the hog below is the memory test).
          sh('bomb', FORK_BOMB_SCRIPT, { resources: { limits: { cpu: '500m', memory: '256Mi' } } }),
        ],
      }),
    );
    await createPod(
      cluster,
      podFor(cluster, 'hog', {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 0,
        containers: [sh('hog', MEMORY_HOG_SCRIPT, { resources: { limits: { memory: '32Mi' } } })],
      }),
    );
    await waitForPod(cluster, 'bomb', (p) => p.status?.phase === 'Running');
    const bombId = (await podContainers(docker, bomb.metadata.uid!)).find(
      (c) => c.Labels['io.slipway.container.name'] === 'bomb',
    )!.Id;

    // While the bomb presses on its limit: the node's Ready condition and heartbeat, an exec and
    // a log read in the bystander, at every sample.
    const ready: string[] = [];
    const heartbeats = new Set<string>();
    const execs: { exitCode: number; out: string }[] = [];
    const lines: string[] = [];
    let round = 0;
    const { samples, last } = await watchPids(docker, bombId, 8000, async () => {
      const node = await getNode(cluster);
      const condition = node.status?.conditions?.find((c) => c.type === 'Ready');
      ready.push(condition?.status ?? 'missing');
      if (condition?.lastHeartbeatTime) heartbeats.add(condition.lastHeartbeatTime);
      round += 1;
      if (round % 2 === 0) {
        execs.push(await execThroughMaster(`alive-${round}`));
        lines.push(await lastLogLine());
      }
    });

    // Contained: never above the limit, yet at it (forks refused by the kernel).
    expect(Math.max(...samples)).toBeLessThanOrEqual(PIDS_LIMIT);
    expect(Math.max(...samples)).toBeGreaterThanOrEqual(48);
    expect(last.max).toBe(PIDS_LIMIT);
    expect(last.refused).toBeGreaterThan(0);

    // The node stayed Ready, and its agent kept posting heartbeats (one a second here).
    expect(ready.length).toBeGreaterThanOrEqual(4);
    expect(ready.every((s) => s === 'True')).toBe(true);
    expect(heartbeats.size).toBeGreaterThanOrEqual(3);

    // The agent served every exec and log read; the bystander kept writing.
    expect(execs.length).toBeGreaterThanOrEqual(2);
    for (const [i, e] of execs.entries()) {
      expect(e.exitCode, `exec ${i}`).toBe(0);
      expect(e.out).toMatch(/^alive-\d+\n$/);
    }
    const ticks = lines.map((l) => Number(/^tick (\d+)$/.exec(l)?.[1] ?? NaN));
    expect(ticks.every((n) => Number.isInteger(n))).toBe(true);
    expect(ticks.at(-1)!).toBeGreaterThan(ticks[0]!);

    // The hog was killed by the kernel and the pod says so.
    const hog = await waitForPod(cluster, 'hog', (p) => p.status?.phase === 'Failed', 20_000);
    expect(containerStatus(hog, 'hog')?.state.terminated).toMatchObject({
      exitCode: 137,
      reason: 'OOMKilled',
    });
    expect(hog.status?.phase).toBe('Failed');
    expect(
      (await getNode(cluster)).status?.conditions?.find((c) => c.type === 'Ready')?.status,
    ).toBe('True');

    for (const name of ['bomb', 'hog']) {
      await cluster.admin.delete(podKind, name, {
        namespace: cluster.namespace,
        gracePeriodSeconds: 0,
      });
    }
    // The bystander never noticed.
    const bystander = await waitForPod(
      cluster,
      'bystander',
      (p: Pod) => p.status?.phase === 'Running',
    );
    expect(containerStatus(bystander, 'talker')?.restartCount).toBe(0);
  });
});

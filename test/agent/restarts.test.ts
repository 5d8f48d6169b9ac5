// Restarts on the real engine (F5): a container that exits at once restarts immediately, then
// after the back-off doubling to its cap, showing CrashLoopBackOff with kubelet's message; the
// restart count and back-off live in the containers' labels. A dead sandbox is re-created with
// its containers. restartPolicy Never leaves a failed container alone.
import { describe, expect, it } from 'vitest';
import { dockerClient } from '../support/docker.js';
import {
  containerStatus,
  createPod,
  eventually,
  podContainers,
  podEvents,
  podFor,
  sh,
  useClusterWithAgent,
  waitForPod,
  type Cluster,
} from './cluster.js';

const docker = dockerClient();
let cluster: Cluster;

// Garbage collection off for the timing test: every instance stays for inspection.
useClusterWithAgent(docker, (c) => (cluster = c), { agent: { gcInterval: '10m' } });

interface Instance {
  attempt: number;
  started: number;
  finished: number;
}

async function instances(uid: string, name: string): Promise<Instance[]> {
  const list = (await podContainers(docker, uid)).filter(
    (c) => c.Labels['io.slipway.container.name'] === name,
  );
  const out: Instance[] = [];
  for (const c of list) {
    const info = await docker.getContainer(c.Id).inspect();
    // Only instances that ran and ended: one just created (not started yet) has no times.
    if (info.State.Running || info.State.Status === 'created') continue;
    out.push({
      attempt: Number(c.Labels['io.slipway.container.attempt']),
      started: Date.parse(info.State.StartedAt),
      finished: Date.parse(info.State.FinishedAt),
    });
  }
  return out.sort((a, b) => a.attempt - b.attempt);
}

describe('F5: restart back-off', () => {
  it('restarts at once, then after 0.5, 1, 2, 4, 4 s (base 500 ms, cap 4 s), in CrashLoopBackOff', async () => {
    const created = await createPod(
      cluster,
      podFor(cluster, 'crashy', { containers: [sh('crash', 'echo bye; exit 1')] }),
    );
    const uid = created.metadata.uid!;
    const ns = cluster.namespace;
    const seen = await waitForPod(
      cluster,
      'crashy',
      (p) => containerStatus(p, 'crash')?.state.waiting?.reason === 'CrashLoopBackOff',
      10_000,
      'CrashLoopBackOff',
    );
    const cs = containerStatus(seen, 'crash')!;
    expect(cs.state.waiting!.message).toMatch(
      new RegExp(
        `^back-off (500ms|1s|2s|4s) restarting failed container=crash pod=crashy_${ns}\\(${uid}\\)$`,
      ),
    );
    expect(cs.lastState?.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(cs.ready).toBe(false);
    expect(seen.status?.phase).toBe('Running');

    const all = await eventually(
      async () => {
        const list = await instances(uid, 'crash');
        return list.length >= 7 ? list : undefined;
      },
      25_000,
      'seven dead instances',
    );
    const gaps = all.slice(1, 7).map((inst, i) => inst.started - all[i]!.finished);
    const expected = [0, 500, 1000, 2000, 4000, 4000];
    gaps.forEach((gap, i) => {
      expect(gap, `gap before restart ${i + 1}: ${gaps.join(', ')}`).toBeGreaterThanOrEqual(
        expected[i]! - 50,
      );
      expect(gap, `gap before restart ${i + 1}: ${gaps.join(', ')}`).toBeLessThan(
        expected[i]! + 1000,
      );
    });
    expect(all.map((i) => i.attempt).slice(0, 7)).toEqual([0, 1, 2, 3, 4, 5, 6]);

    const later = await waitForPod(
      cluster,
      'crashy',
      (p) => (containerStatus(p, 'crash')?.restartCount ?? 0) >= 6,
    );
    expect(later.status?.phase).toBe('Running');
    const events = await podEvents(cluster, later);
    const backoff = events.find((e) => e.reason === 'BackOff');
    expect(backoff).toMatchObject({
      type: 'Warning',
      message: `Back-off restarting failed container crash in pod crashy_${ns}(${uid})`,
    });
    expect(backoff!.count).toBeGreaterThan(1);
    expect(events.find((e) => e.reason === 'Started')!.count).toBeGreaterThanOrEqual(6);
  });
});

describe('restart policies and the sandbox', () => {
  it('leaves a failed container of a restartPolicy Never pod alone: Failed, Error', async () => {
    await createPod(
      cluster,
      podFor(cluster, 'never', { restartPolicy: 'Never', containers: [sh('one', 'exit 7')] }),
    );
    const pod = await waitForPod(cluster, 'never', (p) => p.status?.phase === 'Failed');
    expect(containerStatus(pod, 'one')!.state.terminated).toMatchObject({
      exitCode: 7,
      reason: 'Error',
    });
    await new Promise((r) => setTimeout(r, 1200));
    const list = (await podContainers(docker, pod.metadata.uid!)).filter(
      (c) => c.Labels['io.slipway.container.name'] === 'one',
    );
    expect(list.length).toBe(1);
  });

  it('re-creates a sandbox that died, and the containers in it', async () => {
    const created = await createPod(
      cluster,
      podFor(cluster, 'phoenix', { containers: [sh('app', 'exec sleep 3600')] }),
    );
    const uid = created.metadata.uid!;
    const running = await waitForPod(cluster, 'phoenix', (p) => p.status?.phase === 'Running');
    const before = containerStatus(running, 'app')!;
    const sandbox = (await podContainers(docker, uid)).find(
      (c) => c.Labels['io.slipway.container.name'] === 'POD',
    )!;
    // Something outside the agent kills the pause container.
    await docker.getContainer(sandbox.Id).kill({ signal: 'SIGKILL' });

    const after = await waitForPod(
      cluster,
      'phoenix',
      (p) => {
        const cs = containerStatus(p, 'app');
        return !!cs?.state.running && cs.containerID !== before.containerID;
      },
      15_000,
      'a new app container in a new sandbox',
    );
    expect(containerStatus(after, 'app')!.restartCount).toBe(1);
    const now = await podContainers(docker, uid);
    const sandboxes = now.filter((c) => c.Labels['io.slipway.container.name'] === 'POD');
    expect(sandboxes.filter((c) => c.State === 'running').length).toBe(1);
    expect(now.filter((c) => c.State === 'running').length).toBe(2);
    const events = await podEvents(cluster, after);
    expect(events.map((e) => e.reason)).toContain('SandboxChanged');
  });
});

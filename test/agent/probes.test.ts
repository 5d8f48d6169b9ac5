// F7 on the real engine: not Ready before initialDelaySeconds; a failing readiness probe never
// restarts; a failing liveness probe restarts (Unhealthy, Killing, restartCount); a startup probe
// holds the liveness probe until it passes.
import { describe, expect, it } from 'vitest';
import { dockerClient } from '../support/docker.js';
import {
  containerStatus,
  createPod,
  getPod,
  isReady,
  podEvents,
  podFor,
  sh,
  useClusterWithAgent,
  waitForPod,
  type Cluster,
} from './cluster.js';

const docker = dockerClient();
let cluster: Cluster;

useClusterWithAgent(docker, (c) => (cluster = c));

describe('F7: probes', () => {
  it('is not Ready before initialDelaySeconds, then Ready (tcpSocket)', async () => {
    await createPod(
      cluster,
      podFor(cluster, 'slow', {
        containers: [
          sh('web', 'mkdir -p /tmp/w; exec httpd -f -p 8080 -h /tmp/w', {
            readinessProbe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 2, periodSeconds: 1 },
          }),
        ],
      }),
    );
    const running = await waitForPod(
      cluster,
      'slow',
      (p) => !!containerStatus(p, 'web')?.state.running,
    );
    const startedAt = Date.parse(containerStatus(running, 'web')!.state.running!.startedAt!);
    let readyAt: number | undefined;
    await waitForPod(
      cluster,
      'slow',
      (p) => {
        if (isReady(p)) readyAt ??= Date.now();
        return isReady(p);
      },
      10_000,
      'Ready',
    );
    expect(readyAt! - startedAt).toBeGreaterThanOrEqual(1900);
    const pod = (await getPod(cluster, 'slow'))!;
    expect(containerStatus(pod, 'web')).toMatchObject({
      ready: true,
      started: true,
      restartCount: 0,
    });
  });

  it('never restarts for a failing readiness probe', async () => {
    await createPod(
      cluster,
      podFor(cluster, 'unready', {
        containers: [
          sh('app', 'exec sleep 3600', {
            readinessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1 },
          }),
        ],
      }),
    );
    const first = await waitForPod(
      cluster,
      'unready',
      (p) => !!containerStatus(p, 'app')?.state.running,
    );
    const id = containerStatus(first, 'app')!.containerID;
    await new Promise((r) => setTimeout(r, 3500));
    const pod = (await getPod(cluster, 'unready'))!;
    expect(containerStatus(pod, 'app')).toMatchObject({
      ready: false,
      restartCount: 0,
      containerID: id,
      state: { running: {} },
    });
    expect(isReady(pod)).toBe(false);
    expect(pod.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [app]',
    });
    const events = await podEvents(cluster, pod);
    const unhealthy = events.find((e) => e.reason === 'Unhealthy');
    expect(unhealthy?.type).toBe('Warning');
    expect(unhealthy?.message).toMatch(/^Readiness probe failed: /);
    expect(unhealthy!.count).toBeGreaterThanOrEqual(2);
    expect(events.some((e) => e.reason === 'Killing')).toBe(false);
  });

  it('restarts a container whose liveness probe fails', async () => {
    await createPod(
      cluster,
      podFor(cluster, 'sick', {
        containers: [
          sh('app', 'exec sleep 3600', {
            livenessProbe: {
              exec: { command: ['sh', '-c', 'echo not today; exit 1'] },
              periodSeconds: 1,
              failureThreshold: 2,
            },
          }),
        ],
      }),
    );
    const pod = await waitForPod(
      cluster,
      'sick',
      (p) => (containerStatus(p, 'app')?.restartCount ?? 0) >= 1,
      15_000,
      'a restart',
    );
    const cs = containerStatus(pod, 'app')!;
    expect(cs.lastState?.terminated?.exitCode).toBeGreaterThan(128);
    const said = (await podEvents(cluster, pod)).map((e) => `${e.type} ${e.reason}: ${e.message}`);
    expect(said).toEqual(
      expect.arrayContaining([
        'Warning Unhealthy: Liveness probe failed: not today',
        'Normal Killing: Container app failed liveness probe, will be restarted',
      ]),
    );
  });

  it('holds the liveness probe until the startup probe passes', async () => {
    // Liveness fails every time; without the startup gate the container would be killed within
    // about a second. The startup probe passes once /tmp/started exists, after 3 s.
    await createPod(
      cluster,
      podFor(cluster, 'gated', {
        containers: [
          sh('app', 'sleep 3; touch /tmp/started; exec sleep 3600', {
            startupProbe: {
              exec: { command: ['test', '-f', '/tmp/started'] },
              periodSeconds: 1,
              failureThreshold: 30,
            },
            livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1 },
            readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
          }),
        ],
      }),
    );
    const running = await waitForPod(
      cluster,
      'gated',
      (p) => !!containerStatus(p, 'app')?.state.running,
    );
    const startedAt = Date.parse(containerStatus(running, 'app')!.state.running!.startedAt!);
    expect(containerStatus(running, 'app')).toMatchObject({ started: false, ready: false });

    const restarted = await waitForPod(
      cluster,
      'gated',
      (p) => (containerStatus(p, 'app')?.restartCount ?? 0) >= 1,
      15_000,
      'the restart once liveness may run',
    );
    const killedAt = Date.parse(
      containerStatus(restarted, 'app')!.lastState!.terminated!.finishedAt!,
    );
    expect(killedAt - startedAt).toBeGreaterThanOrEqual(3000);
    const said = (await podEvents(cluster, restarted)).map((e) => `${e.reason}: ${e.message}`);
    expect(said).toContain('Killing: Container app failed liveness probe, will be restarted');
    expect(said.some((s) => s.startsWith('Unhealthy: Startup probe failed'))).toBe(true);
  });
});

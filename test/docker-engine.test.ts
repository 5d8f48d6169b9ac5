// Smoke test of the engine the integration tests rely on: the offline pause image can be built
// and a labelled container started, observed running, stopped cleanly and removed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertDockerAvailable,
  dockerClient,
  ensureImage,
  newTestRun,
  removeContainersByLabel,
  TEST_RUN_LABEL,
} from './support/docker.js';

const docker = dockerClient();
const run = newTestRun();

describe('docker engine', () => {
  let image: string;

  beforeAll(async () => {
    await assertDockerAvailable(docker);
    image = await ensureImage('pause');
  });

  afterAll(async () => {
    await removeContainersByLabel(docker, TEST_RUN_LABEL, run.runId);
  });

  it('runs, stops and removes a labelled pause container', async () => {
    const container = await docker.createContainer({
      Image: image,
      Labels: run.labels,
      HostConfig: { NetworkMode: 'none' },
    });
    await container.start();

    const running = await container.inspect();
    expect(running.State.Running).toBe(true);
    expect(running.Config.Labels).toMatchObject(run.labels);

    const listed = await docker.listContainers({
      filters: { label: [`${TEST_RUN_LABEL}=${run.runId}`] },
    });
    expect(listed.map((c) => c.Id)).toEqual([container.id]);

    // The pause entrypoint exits 0 on SIGTERM, well before the stop timeout.
    const started = Date.now();
    await container.stop({ t: 10 });
    expect(Date.now() - started).toBeLessThan(5_000);
    const stopped = await container.inspect();
    expect(stopped.State.Running).toBe(false);
    expect(stopped.State.ExitCode).toBe(0);

    await container.remove();
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${TEST_RUN_LABEL}=${run.runId}`] },
    });
    expect(left).toEqual([]);
  });
});

// Image garbage collection on the real engine, with the real free space of the Docker root:
// over the threshold, an unused build output goes (with all its names); an image a container
// uses, an image no build made, an image seen too recently, and everything while the disk is
// below the threshold stay. Only this run's images are candidates (other tests' build outputs
// share the engine).
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageCollector, type ImageGcPolicy } from '../../agent/docker/image-gc.js';
import { diskUsage } from '../../agent/node/manager.js';
import { createLogger } from '../../src/util/logger.js';
import {
  assertDockerAvailable,
  dockerClient,
  ensureImage,
  newTestRun,
  PAUSE_IMAGE,
  removeContainersByLabel,
  TEST_RUN_LABEL,
} from '../support/docker.js';

const docker = dockerClient();
const { runId, labels } = newTestRun();
const REPO = `slipway-test/image-gc-${runId}`;
const BUILT = ['io.openshift.build.name=app-1', 'io.openshift.build.namespace=shop'];
let dockerRootDir = '/';
let base: Docker.Container;

/** A new image from the pause image, with these labels and this run's. */
async function image(tag: string, extraLabels: string[]): Promise<string> {
  const res = (await base.commit({
    repo: REPO,
    tag,
    changes: [...extraLabels, `${TEST_RUN_LABEL}=${runId}`].map((l) => `LABEL ${l}`),
  })) as { Id: string };
  return res.Id;
}

async function present(id: string): Promise<boolean> {
  try {
    await docker.getImage(id).inspect();
    return true;
  } catch {
    return false;
  }
}

function collector(policy: ImageGcPolicy): ImageCollector {
  return new ImageCollector({
    docker,
    policy,
    disk: () => diskUsage(dockerRootDir),
    logger: createLogger({ level: 'silent' }),
    requireLabels: { [TEST_RUN_LABEL]: runId },
  });
}

beforeAll(async () => {
  await assertDockerAvailable(docker);
  await ensureImage('pause');
  dockerRootDir = ((await docker.info()) as { DockerRootDir: string }).DockerRootDir;
  base = await docker.createContainer({ Image: PAUSE_IMAGE, Labels: labels });
});

afterAll(async () => {
  await removeContainersByLabel(docker, TEST_RUN_LABEL, runId);
  const left = await docker.listImages({ filters: { label: [`${TEST_RUN_LABEL}=${runId}`] } });
  for (const i of left)
    await docker
      .getImage(i.Id)
      .remove({ force: true })
      .catch(() => undefined);
});

describe('image garbage collection', () => {
  it('removes unused build outputs while the disk is over the threshold, and nothing else', async () => {
    const unused = await image('unused', BUILT);
    // A second name: the image still goes, with both.
    await docker.getImage(unused).tag({ repo: REPO, tag: 'unused-too' });
    const used = await image('used', BUILT);
    await docker.createContainer({ Image: used, Labels: labels });
    const notBuilt = await image('not-built', [
      'io.openshift.s2i.scripts-url=image:///usr/libexec/s2i',
    ]);

    // Low threshold 0: the real disk is always over it, so every candidate goes.
    const result = await collector({
      highThresholdPercent: 0,
      lowThresholdPercent: 0,
      minimumAgeMs: 0,
    }).collect();
    expect(result.removed).toEqual([unused]);
    expect(await present(unused)).toBe(false);
    await expect(docker.getImage(`${REPO}:unused-too`).inspect()).rejects.toThrow(/No such image/);
    expect(await present(used)).toBe(true);
    expect(await present(notBuilt)).toBe(true);
    // The candidates ran out before the target: the kubelet's FreeDiskSpaceFailed.
    expect(result.shortBytes).toBeGreaterThan(0);
  });

  it('leaves images it has known for less than the minimum age', async () => {
    const fresh = await image('fresh', BUILT);
    const result = await collector({
      highThresholdPercent: 0,
      lowThresholdPercent: 0,
      minimumAgeMs: 3_600_000,
    }).collect();
    expect(result.removed).toEqual([]);
    expect(await present(fresh)).toBe(true);
  });

  it('does nothing while the disk is below the high threshold', async () => {
    const idle = await image('idle', BUILT);
    const result = await collector({
      highThresholdPercent: 100,
      lowThresholdPercent: 0,
      minimumAgeMs: 0,
    }).collect();
    expect(result).toEqual({ removed: [], freedBytes: 0, shortBytes: 0 });
    expect(await present(idle)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/util/logger.js';
import { BASE_IMAGE, ensureBaseImage } from './base-image.js';
import { FakePlatformDocker } from './testing/fake-platform-docker.js';

describe('ensureBaseImage', () => {
  it('does nothing when the image is there', async () => {
    const docker = new FakePlatformDocker();
    docker.addImage(BASE_IMAGE);
    const runs: string[][] = [];
    await ensureBaseImage(docker, {
      script: '/s/base-image.sh',
      logger: silentLogger(),
      run: async (script, args) => void runs.push([script, ...args]),
    });
    expect(runs).toEqual([]);
  });

  it('runs scripts/base-image.sh when it is missing, saying so', async () => {
    const docker = new FakePlatformDocker();
    const progress: string[] = [];
    const runs: string[][] = [];
    await ensureBaseImage(docker, {
      script: '/s/base-image.sh',
      logger: silentLogger(),
      progress: (m) => progress.push(m),
      run: async (script, args) => {
        runs.push([script, ...args]);
        docker.addImage(BASE_IMAGE);
      },
    });
    expect(runs).toEqual([['/s/base-image.sh', BASE_IMAGE]]);
    expect(progress).toEqual([
      'making the Debian base image slipway/debian:bookworm (first start only; about a minute)',
    ]);
  });

  it("fails with the script's last words", async () => {
    const docker = new FakePlatformDocker();
    await expect(
      ensureBaseImage(docker, {
        script: '/s/base-image.sh',
        logger: silentLogger(),
        run: async () => {
          throw Object.assign(new Error('exit 1'), {
            stderr:
              'image: debootstrap --variant=minbase bookworm\nimage: error: debootstrap failed\n',
          });
        },
      }),
    ).rejects.toThrow(
      'cannot make the base image slipway/debian:bookworm with /s/base-image.sh: image: debootstrap --variant=minbase bookworm image: error: debootstrap failed',
    );
  });

  it('fails when the script succeeds but the image is still missing', async () => {
    const docker = new FakePlatformDocker();
    await expect(
      ensureBaseImage(docker, { script: '/s/b.sh', logger: silentLogger(), run: async () => {} }),
    ).rejects.toThrow('/s/b.sh finished but slipway/debian:bookworm is still missing');
  });
});

import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/util/logger.js';
import { directoryContext, CONTENT_HASH_LABEL } from './build-context.js';
import {
  ensureBuilderImages,
  publishBuilderImages,
  pushBuilderImages,
  VERSION_LABEL,
} from './builder-images.js';
import { platformPaths } from './paths.js';
import { FakePlatformDocker } from './testing/fake-platform-docker.js';

const paths = platformPaths();

/** A fake whose builds carry the version label their Dockerfile declares. */
function fake(): FakePlatformDocker {
  const docker = new FakePlatformDocker();
  docker.addImage('slipway/debian:bookworm');
  const build = docker.buildImage.bind(docker);
  docker.buildImage = async (context, options) => {
    const version = { 'openshift/nodejs:latest': '18', 'openshift/python:latest': '3.11' }[
      options.tag
    ];
    return build(context, {
      ...options,
      labels: { ...options.labels, [VERSION_LABEL]: version ?? '1.35' },
    });
  };
  return docker;
}

describe('ensureBuilderImages', () => {
  it('builds each builder from its folder and tags it openshift/NAME:VERSION and :latest', async () => {
    const docker = fake();
    const builders = await ensureBuilderImages(docker, { paths, logger: silentLogger() });
    expect(builders.map((b) => [b.name, b.version, b.refs, b.built])).toEqual([
      ['nodejs', '18', ['openshift/nodejs:18', 'openshift/nodejs:latest'], true],
      ['python', '3.11', ['openshift/python:3.11', 'openshift/python:latest'], true],
      ['static', '1.35', ['openshift/static:1.35', 'openshift/static:latest'], true],
    ]);
    expect(docker.images.get('openshift/nodejs:18')?.id).toBe(builders[0]!.id);
    const hash = (await directoryContext(`${paths.imagesDir}/nodejs`)).hash;
    expect(docker.builds[0]!.labels[CONTENT_HASH_LABEL]).toBe(hash);
  });

  it('reuses images built from unchanged folders and rebuilds a changed one', async () => {
    const docker = fake();
    await ensureBuilderImages(docker, { paths, logger: silentLogger() });
    const progress: string[] = [];
    const again = await ensureBuilderImages(docker, {
      paths,
      logger: silentLogger(),
      progress: (m) => progress.push(m),
    });
    expect(again.map((b) => b.built)).toEqual([false, false, false]);
    expect(docker.builds).toHaveLength(3);
    expect(progress).toEqual([]);

    // A stale hash (the Dockerfile changed since): built again, the old image removed once
    // nothing is tagged with it.
    const old = docker.images.get('openshift/static:latest')!;
    docker.images.set('openshift/static:latest', {
      ...old,
      labels: { ...old.labels, [CONTENT_HASH_LABEL]: 'sha256:old' },
    });
    const third = await ensureBuilderImages(docker, {
      paths,
      logger: silentLogger(),
      progress: (m) => progress.push(m),
      names: ['static'],
    });
    expect(third[0]!.built).toBe(true);
    expect(progress).toEqual([
      'building openshift/static:latest (its sources changed; about 10 seconds)',
    ]);
    expect(docker.removedImages).toEqual([old.id]);
  });

  it('refuses an image without a usable version label', async () => {
    const docker = new FakePlatformDocker();
    docker.addImage('slipway/debian:bookworm');
    await expect(
      ensureBuilderImages(docker, { paths, logger: silentLogger(), names: ['nodejs'] }),
    ).rejects.toThrow(`openshift/nodejs:latest has no valid ${VERSION_LABEL} label (got "")`);
  });

  it('quotes the last lines of a failed build', async () => {
    const docker = fake();
    docker.failBuild = new Error('build openshift/nodejs:latest: exit code 100');
    await expect(
      ensureBuilderImages(docker, { paths, logger: silentLogger(), names: ['nodejs'] }),
    ).rejects.toThrow(
      'build openshift/nodejs:latest: exit code 100\nlast lines of the build:\nStep 3/9 : RUN apt-get install nodejs\nE: Unable to locate package nodejs',
    );
  });
});

describe('pushBuilderImages', () => {
  it('pushes REGISTRY/openshift/NAME:VERSION and :latest and returns digest references', async () => {
    const docker = fake();
    const streams = await publishBuilderImages(docker, '127.0.0.1:5000', {
      paths,
      logger: silentLogger(),
    });
    expect(docker.pushes).toEqual([
      '127.0.0.1:5000/openshift/nodejs:18',
      '127.0.0.1:5000/openshift/nodejs:latest',
      '127.0.0.1:5000/openshift/python:3.11',
      '127.0.0.1:5000/openshift/python:latest',
      '127.0.0.1:5000/openshift/static:1.35',
      '127.0.0.1:5000/openshift/static:latest',
    ]);
    expect(streams.map((s) => s.name)).toEqual(['nodejs', 'python', 'static']);
    const [nodejs] = streams;
    expect(nodejs!.tags.map((t) => t.tag)).toEqual(['18', 'latest']);
    for (const t of nodejs!.tags) {
      expect(t.dockerImageReference).toMatch(
        /^127\.0\.0\.1:5000\/openshift\/nodejs@sha256:[0-9a-f]{64}$/,
      );
    }
    // The registry-named tags only served the push.
    expect([...docker.images.keys()].filter((r) => r.startsWith('127.0.0.1:5000/'))).toEqual([]);
    // Both tags name the same image, so the same digest.
    expect(nodejs!.tags[0]!.dockerImageReference).toBe(nodejs!.tags[1]!.dockerImageReference);
  });

  it('stops between pushes once aborted', async () => {
    const docker = fake();
    const builders = await ensureBuilderImages(docker, { paths, logger: silentLogger() });
    const abort = new AbortController();
    abort.abort(new Error('stopping'));
    await expect(
      pushBuilderImages(docker, '127.0.0.1:5000', builders, {
        logger: silentLogger(),
        signal: abort.signal,
      }),
    ).rejects.toThrow('stopping');
    expect(docker.pushes).toEqual([]);
  });
});

/**
 * The registry's image: `registry:2` when it is here or can be pulled (the normal path), else
 * `slipway/registry:2.8.2`, built from Debian's docker-registry package (images/registry), which
 * is the same software. Hosts without a reachable image registry (air-gapped ones) take the
 * second path, so it is a feature, not a test hack.
 */
import { join } from 'node:path';
import type { Logger } from '../../src/util/logger.js';
import type { PlatformDocker } from '../docker/platform-engine.js';
import { ensureBaseImage } from './base-image.js';
import { ensureBuiltImage } from './image-build.js';
import type { PlatformPaths } from './paths.js';

export const UPSTREAM_REGISTRY_IMAGE = 'registry:2';
export const LOCAL_REGISTRY_IMAGE = 'slipway/registry:2.8.2';

export interface RegistryImageOptions {
  paths: PlatformPaths;
  logger: Logger;
  progress?: (message: string) => void;
  /** Try `docker pull registry:2` before building (default true). */
  pull?: boolean;
  /** A pull that has not finished by then counts as failed (default 20 s). */
  pullTimeoutMs?: number;
}

/** Makes sure a registry image exists locally; resolves with its reference. */
export async function ensureRegistryImage(
  docker: PlatformDocker,
  options: RegistryImageOptions,
): Promise<string> {
  if (await docker.inspectImage(UPSTREAM_REGISTRY_IMAGE)) return UPSTREAM_REGISTRY_IMAGE;
  const local = await docker.inspectImage(LOCAL_REGISTRY_IMAGE);
  if (!local && options.pull !== false) {
    try {
      await docker.pullImage(UPSTREAM_REGISTRY_IMAGE, {
        timeoutMs: options.pullTimeoutMs ?? 20_000,
      });
      options.logger.info({ image: UPSTREAM_REGISTRY_IMAGE }, 'pulled the registry image');
      return UPSTREAM_REGISTRY_IMAGE;
    } catch (err) {
      options.logger.info(
        { image: UPSTREAM_REGISTRY_IMAGE, err: (err as Error).message },
        'cannot pull the registry image; building it from Debian packages',
      );
    }
  }
  await ensureBuiltImage(docker, {
    dir: join(options.paths.imagesDir, 'registry'),
    tag: LOCAL_REGISTRY_IMAGE,
    logger: options.logger,
    expected: 'about 15 seconds',
    beforeBuild: () =>
      ensureBaseImage(docker, {
        script: options.paths.baseImageScript,
        logger: options.logger,
        ...(options.progress ? { progress: options.progress } : {}),
      }),
    ...(options.progress ? { progress: options.progress } : {}),
  });
  return LOCAL_REGISTRY_IMAGE;
}

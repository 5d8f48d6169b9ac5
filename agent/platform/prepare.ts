/**
 * Every image `slipway up` needs for the platform, made ahead of time without starting anything:
 * the registry's image and the builder images. For set-up scripts (the test command, CI, hosts
 * being provisioned), so the first `up` does not spend minutes building.
 */
import type { Logger } from '../../src/util/logger.js';
import type { PlatformDocker } from '../docker/platform-engine.js';
import { ensureBuilderImages, type BuilderImage } from './builder-images.js';
import type { PlatformPaths } from './paths.js';
import { ensureRegistryImage } from './registry-image.js';

export interface PreparedImages {
  registryImage: string;
  builders: BuilderImage[];
}

export async function preparePlatformImages(
  docker: PlatformDocker,
  options: {
    paths: PlatformPaths;
    logger: Logger;
    progress?: (message: string) => void;
    pull?: boolean;
  },
): Promise<PreparedImages> {
  const registryImage = await ensureRegistryImage(docker, options);
  const builders = await ensureBuilderImages(docker, options);
  return { registryImage, builders };
}

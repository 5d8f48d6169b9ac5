/**
 * Where the platform's image sources live: `images/` (Dockerfiles and S2I scripts) and
 * `scripts/` (the offline base image) at the root of the Slipway installation, found by walking
 * up from this module (it runs from `agent/platform/` in a checkout or `dist/agent/platform/`).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PlatformPaths {
  /** The folder holding one subfolder per image. */
  imagesDir: string;
  /** scripts/base-image.sh, which makes the Debian base image (pull, else debootstrap). */
  baseImageScript: string;
}

/** The installation's paths; throws when no parent folder holds `images/` and `scripts/`. */
export function platformPaths(from: string = fileURLToPath(import.meta.url)): PlatformPaths {
  let dir = dirname(from);
  for (;;) {
    const imagesDir = join(dir, 'images');
    const baseImageScript = join(dir, 'scripts', 'base-image.sh');
    if (existsSync(join(imagesDir, 'registry', 'Dockerfile')) && existsSync(baseImageScript)) {
      return { imagesDir, baseImageScript };
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `cannot find the platform's images/ and scripts/ folders above ${dirname(from)}`,
      );
    }
    dir = parent;
  }
}

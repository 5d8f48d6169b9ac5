/**
 * The Debian base image every platform image is built FROM. It is made by scripts/base-image.sh
 * (`docker pull debian:bookworm-slim`, else offline with debootstrap from Debian's mirror), which
 * holds a lock so concurrent callers build it once; this runs that script when the image is
 * missing.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Logger } from '../../src/util/logger.js';
import type { PlatformDocker } from '../docker/platform-engine.js';

const execFileAsync = promisify(execFile);

export const BASE_IMAGE = 'slipway/debian:bookworm';

export interface BaseImageOptions {
  script: string;
  logger: Logger;
  /** One line for the person waiting. */
  progress?: (message: string) => void;
  /** Runs the script; replaced in unit tests. */
  run?: (script: string, args: string[]) => Promise<void>;
}

async function runScript(script: string, args: string[]): Promise<void> {
  await execFileAsync('bash', [script, ...args], { timeout: 15 * 60_000, maxBuffer: 16 << 20 });
}

/** Makes sure BASE_IMAGE exists locally. */
export async function ensureBaseImage(
  docker: PlatformDocker,
  options: BaseImageOptions,
): Promise<void> {
  if (await docker.inspectImage(BASE_IMAGE)) return;
  options.progress?.(
    `making the Debian base image ${BASE_IMAGE} (first start only; about a minute)`,
  );
  const started = Date.now();
  try {
    await (options.run ?? runScript)(options.script, [BASE_IMAGE]);
  } catch (err) {
    const raw = (err as { stderr?: unknown }).stderr;
    const stderr = (
      typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString() : ''
    ).trim();
    throw new Error(
      `cannot make the base image ${BASE_IMAGE} with ${options.script}: ${stderr.split('\n').slice(-5).join(' ') || (err as Error).message}`,
      { cause: err },
    );
  }
  if (!(await docker.inspectImage(BASE_IMAGE))) {
    throw new Error(`${options.script} finished but ${BASE_IMAGE} is still missing`);
  }
  options.logger.info({ image: BASE_IMAGE, ms: Date.now() - started }, 'made the base image');
}

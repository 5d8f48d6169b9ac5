/**
 * Builds a platform image from its folder under `images/` unless an image built from exactly the
 * same content already exists (content-hash label), so an unchanged folder is reused at once and
 * a changed Dockerfile or script rebuilds.
 */
import type { Logger } from '../../src/util/logger.js';
import type { Labels } from '../docker/labels.js';
import type { PlatformDocker, PlatformImage } from '../docker/platform-engine.js';
import { CONTENT_HASH_LABEL, directoryContext } from './build-context.js';

export interface BuiltImage extends PlatformImage {
  ref: string;
  /** False when an up-to-date image was reused. */
  built: boolean;
  durationMs: number;
  /** The ID of the image this build replaced, when it could not be removed yet (still tagged). */
  replaced?: string;
}

export interface EnsureBuiltImageOptions {
  /** The image's folder (build context, Dockerfile at its top). */
  dir: string;
  tag: string;
  labels?: Labels;
  /** Called before building (e.g. to make the FROM image). */
  beforeBuild?: () => Promise<void>;
  logger: Logger;
  progress?: (message: string) => void;
  /** How long a build usually takes here, for the progress line. */
  expected?: string;
  /** Stops the build (the server shutting down). */
  signal?: AbortSignal;
}

/** How many lines of build output an error message quotes. */
const TAIL_LINES = 25;

export async function ensureBuiltImage(
  docker: PlatformDocker,
  options: EnsureBuiltImageOptions,
): Promise<BuiltImage> {
  const context = await directoryContext(options.dir);
  const existing = await docker.inspectImage(options.tag);
  if (existing && existing.labels[CONTENT_HASH_LABEL] === context.hash) {
    return { ...existing, ref: options.tag, built: false, durationMs: 0 };
  }
  await options.beforeBuild?.();
  const why = existing ? 'its sources changed' : 'not built yet';
  options.progress?.(
    `building ${options.tag} (${why}${options.expected ? `; ${options.expected}` : ''})`,
  );
  const started = Date.now();
  const tail: string[] = [];
  try {
    await docker.buildImage(context.tar, {
      tag: options.tag,
      labels: { ...options.labels, [CONTENT_HASH_LABEL]: context.hash },
      ...(options.signal ? { signal: options.signal } : {}),
      onOutput: (line) => {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        options.logger.debug({ image: options.tag, line }, 'build output');
      },
    });
  } catch (err) {
    const output = tail.filter((l) => l.trim() !== '').join('\n');
    throw new Error(
      `${(err as Error).message}${output ? `\nlast lines of the build:\n${output}` : ''}`,
      { cause: err },
    );
  }
  const image = await docker.inspectImage(options.tag);
  if (!image) throw new Error(`build ${options.tag}: the image is missing after the build`);
  const durationMs = Date.now() - started;
  options.logger.info({ image: options.tag, ms: durationMs }, 'built platform image');
  // The image this one replaces lost its tag: remove it unless something still uses it.
  let replaced: string | undefined;
  if (existing && existing.id !== image.id) {
    if (await docker.removeUnusedImage(existing.id)) {
      options.logger.info({ image: existing.id }, 'removed the replaced image');
    } else {
      replaced = existing.id;
    }
  }
  return { ...image, ref: options.tag, built: true, durationMs, ...(replaced ? { replaced } : {}) };
}

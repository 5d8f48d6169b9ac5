/**
 * The S2I builder images Slipway ships (images/nodejs, images/python, images/static): built
 * locally FROM the Debian base when missing or changed, then pushed to the cluster registry as
 * REGISTRY/openshift/NAME:VERSION and :latest, where the `openshift` project's ImageStreams point.
 */
import { join } from 'node:path';
import type { Logger } from '../../src/util/logger.js';
import type { PlatformDocker } from '../docker/platform-engine.js';
import type { RegistryAuth } from '../docker/images.js';
import { ensureBaseImage } from './base-image.js';
import { ensureBuiltImage } from './image-build.js';
import type { PlatformPaths } from './paths.js';

export const BUILDERS = ['nodejs', 'python', 'static'] as const;
export type BuilderName = (typeof BUILDERS)[number];

/** The project (and repository namespace) builder images live in, as in OpenShift. */
export const BUILDER_NAMESPACE = 'openshift';
/** The version a builder's Dockerfile declares (and checks against what Debian ships). */
export const VERSION_LABEL = 'io.slipway.builder.version';

/** Typical build times on a 2-core machine, for the progress line. */
const EXPECTED: Record<BuilderName, string> = {
  nodejs: 'about a minute',
  python: 'about 20 seconds',
  static: 'about 10 seconds',
};

export interface BuilderImage {
  name: BuilderName;
  version: string;
  /** Local references: `openshift/NAME:VERSION` and `openshift/NAME:latest`. */
  refs: string[];
  id: string;
  /** False when an up-to-date image was reused. */
  built: boolean;
  durationMs: number;
}

export interface BuilderImageTag {
  tag: string;
  /** `REGISTRY/openshift/NAME@sha256:...` */
  dockerImageReference: string;
}

/** What an `openshift/NAME` ImageStream needs: one entry per pushed tag. */
export interface BuilderImageStream {
  name: BuilderName;
  tags: BuilderImageTag[];
}

export interface BuilderImagesOptions {
  paths: PlatformPaths;
  logger: Logger;
  progress?: (message: string) => void;
  /** Only these builders (default: all). */
  names?: readonly BuilderName[];
  signal?: AbortSignal;
}

/** Builds the builder images that are missing or out of date; resolves with all of them. */
export async function ensureBuilderImages(
  docker: PlatformDocker,
  options: BuilderImagesOptions,
): Promise<BuilderImage[]> {
  const out: BuilderImage[] = [];
  for (const name of options.names ?? BUILDERS) {
    options.signal?.throwIfAborted();
    const latest = `${BUILDER_NAMESPACE}/${name}:latest`;
    const image = await ensureBuiltImage(docker, {
      dir: join(options.paths.imagesDir, name),
      tag: latest,
      logger: options.logger,
      expected: EXPECTED[name],
      ...(options.signal ? { signal: options.signal } : {}),
      beforeBuild: () =>
        ensureBaseImage(docker, {
          script: options.paths.baseImageScript,
          logger: options.logger,
          ...(options.progress ? { progress: options.progress } : {}),
        }),
      ...(options.progress ? { progress: options.progress } : {}),
    });
    const version = image.labels[VERSION_LABEL];
    if (!version || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(version)) {
      throw new Error(`${latest} has no valid ${VERSION_LABEL} label (got "${version ?? ''}")`);
    }
    const versioned = `${BUILDER_NAMESPACE}/${name}:${version}`;
    await docker.tagImage(image.id, versioned);
    // The previous build, now that its version tag moved too.
    if (image.replaced) await docker.removeUnusedImage(image.replaced);
    out.push({
      name,
      version,
      refs: [versioned, latest],
      id: image.id,
      built: image.built,
      durationMs: image.durationMs,
    });
  }
  return out;
}

export interface PushBuilderImagesOptions {
  logger: Logger;
  /** Credentials for pushing to a repository (`openshift/NAME`) of the registry. */
  auth?: (repository: string) => Promise<RegistryAuth | undefined>;
  progress?: (message: string) => void;
  signal?: AbortSignal;
}

/**
 * Pushes each builder as REGISTRY/openshift/NAME:VERSION and :latest; resolves with the digest
 * references. Pushing what the registry already holds only checks its layers.
 */
export async function pushBuilderImages(
  docker: PlatformDocker,
  registry: string,
  builders: readonly BuilderImage[],
  options: PushBuilderImagesOptions,
): Promise<BuilderImageStream[]> {
  const out: BuilderImageStream[] = [];
  for (const b of builders) {
    const repository = `${registry}/${BUILDER_NAMESPACE}/${b.name}`;
    const tags: BuilderImageTag[] = [];
    for (const tag of [b.version, 'latest']) {
      options.signal?.throwIfAborted();
      const target = `${repository}:${tag}`;
      const started = Date.now();
      await docker.tagImage(b.id, target);
      let digest: string;
      try {
        ({ digest } = await docker.pushImage(target, {
          auth: await options.auth?.(`${BUILDER_NAMESPACE}/${b.name}`),
          ...(options.signal ? { signal: options.signal } : {}),
        }));
      } finally {
        // The registry-named tag only serves the push; left, they would pile up per address.
        await docker.untagImage(target);
      }
      options.logger.info({ image: target, digest, ms: Date.now() - started }, 'pushed');
      tags.push({ tag, dockerImageReference: `${repository}@${digest}` });
    }
    out.push({ name: b.name, tags });
  }
  return out;
}

/** ensureBuilderImages then pushBuilderImages: what the cluster's `openshift` streams need. */
export async function publishBuilderImages(
  docker: PlatformDocker,
  registry: string,
  options: BuilderImagesOptions & PushBuilderImagesOptions,
): Promise<BuilderImageStream[]> {
  const builders = await ensureBuilderImages(docker, options);
  return pushBuilderImages(docker, registry, builders, options);
}

/**
 * A build's images: the one it starts from (the S2I builder, a Docker build's `from`), pulled per
 * the strategy's forcePull; what probes find in an image without running it; and what a
 * strategy hands on to the post-commit hook and the push.
 */
import { isRuntimeError } from '../docker/errors.js';
import type { ImageInfo } from '../docker/build-engine.js';
import type { NumericUser } from './assemble-user.js';
import type { BuildContext } from './context.js';
import { registryAuthFor } from './registry-secrets.js';
import { lookupScripts, type ScriptName, type ScriptSet } from './s2i-scripts.js';
import { downloadScript } from './script-download.js';
import { BuildFailure } from './types.js';

export interface BuiltImage {
  imageId: string;
  /** `UID:GID` that later containers of this image (the post-commit hook) run as. */
  user: string;
  env: string[];
}

export function podRef(ctx: BuildContext): { uid: string; namespace: string; name: string } {
  return { uid: ctx.spec.podUid, namespace: ctx.spec.namespace, name: ctx.spec.podName };
}

/** Pulls an image per the strategy's forcePull; PullBuilderImageFailed when it cannot be had.
 * `role` names it in the log: the strategy's builder, or another stage's base image. */
export async function pullBuilder(
  ctx: BuildContext,
  image: string,
  forcePull: boolean,
  pullSecret?: string,
  role: 'builder' | 'base' = 'builder',
): Promise<ImageInfo> {
  const present = forcePull ? undefined : await ctx.docker.imageInfo(image);
  if (present) {
    ctx.log.line(`Using ${role} image ${image} (already present on the node)`);
    return present;
  }
  ctx.log.line(`Pulling image ${image} ...`);
  ctx.events.normal('Pulling', `Pulling image "${image}"`);
  try {
    const info = await ctx.docker.ensureImage(image, {
      pullPolicy: 'Always',
      auth: await registryAuthFor(ctx, image, { name: pullSecret, what: 'pull' }),
      signal: ctx.signal,
    });
    ctx.events.normal('Pulled', `Successfully pulled image "${image}"`);
    return info;
  } catch (err) {
    if (ctx.signal.aborted) throw new BuildFailure('Cancelled', 'the build was cancelled');
    if (isRuntimeError(err, 'EngineUnavailable')) throw err;
    const message = (err as Error).message;
    ctx.events.warning('Failed', `Failed to pull image "${image}": ${message}`);
    throw new BuildFailure(
      'PullBuilderImageFailed',
      `Failed to pull ${role} image ${image}: ${message}`,
    );
  }
}

/**
 * What probes found, by image ID, user and paths: an image ID names its content, so the answer
 * never changes. Bounded; the oldest answers go first.
 */
const probed = new Map<string, ReadonlySet<string>>();
const PROBED_MAX = 128;

/** Which of `paths` exist as files in `image`: a created (never started) probe container. */
async function existInImage(
  ctx: BuildContext,
  image: string,
  user: NumericUser,
  paths: string[],
): Promise<Set<string>> {
  const key = `${image}\n${user.uid}:${user.gid}\n${paths.join('\n')}`;
  const known = probed.get(key);
  if (known) return new Set(known);
  const id = await ctx.docker.createContainer({
    pod: podRef(ctx),
    step: `${ctx.spec.containerName}-probe`,
    attempt: ctx.nextAttempt(),
    image,
    user: `${user.uid}:${user.gid}`,
    env: [],
    entrypoint: ['/bin/sh'],
    cmd: ['-c', 'exit 0'],
    stdin: false,
    network: 'none',
    limits: ctx.limits,
  });
  try {
    const found = new Set<string>();
    for (const p of paths) {
      const stat = await ctx.docker.statPath(id, p);
      if (stat && (stat.mode & 0x80000000) === 0) found.add(p); // not a directory
    }
    if (/^sha256:[0-9a-f]{64}$/.test(image)) {
      if (probed.size >= PROBED_MAX) probed.delete(probed.keys().next().value!);
      probed.set(key, new Set(found));
    }
    return found;
  } finally {
    ctx.removeLater(id);
  }
}

/** S2I's script lookup with the node's settings: URLs downloaded, `image://` paths probed in
 * `image` as `user`, injected scripts written to `scriptsDir`. */
export function findScripts(
  ctx: BuildContext,
  input: {
    names: ScriptName[];
    scriptsUrl: string | undefined;
    sourceDir: string | undefined;
    image: ImageInfo;
    user: NumericUser;
    scriptsDir: string;
  },
): Promise<ScriptSet> {
  const allowLocal = ctx.settings.allowLocalSources;
  return lookupScripts({
    names: input.names,
    scriptsUrl: input.scriptsUrl,
    sourceDir: input.sourceDir,
    imageLabels: input.image.labels,
    scriptsDir: input.scriptsDir,
    allowLocal,
    download: (url) => downloadScript(url, { allowLocal, signal: ctx.signal }),
    existInImage: (paths) => existInImage(ctx, input.image.id, input.user, paths),
  });
}

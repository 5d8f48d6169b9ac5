/**
 * The Docker strategy: the source's Dockerfile (`dockerfilePath`, default `Dockerfile`, inside
 * the context directory and never through a symlink), the strategy's `from` in place of the
 * last stage's FROM, `buildArgs`, `noCache`, `forcePull`, built by the engine from a tar of the
 * context that never follows symlinks, its output streamed to the build log.
 *
 * Isolation: the engine runs the Dockerfile's RUN steps itself, as containers of its own, on
 * the build network (so they cannot reach the node or the master either) with the build's
 * memory and CPU limits, but with the engine's default capabilities and the Dockerfile's USER
 * (root unless it says otherwise), without the pids limit or no-new-privileges of S2I
 * containers. That is Docker's builder, not something the agent can restrict further.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { checkContextDir } from '../../src/api/git-source.js';
import { parseDockerImageReference } from '../../src/api/image-reference.js';
import { SHARED_IMAGES_NAMESPACE } from '../../src/api/registry-scope.js';
import type { RegistryAuth } from '../docker/images.js';
import { isRuntimeError } from '../docker/errors.js';
import { buildLabels } from './build-labels.js';
import type { BuildContext } from './context.js';
import { appendLabels, baseImages, replaceLastFrom } from './dockerfile.js';
import { packTrees, pathInside, UnsafePathError } from './pack-tree.js';
import { parseNumericUser } from './assemble-user.js';
import { pullBuilder, type BuiltImage } from './builder-image.js';
import { registryAuthFor } from './registry-secrets.js';
import { buildEnvironment, dockerEnv } from './s2i-env.js';
import type { FetchedSource } from './source.js';
import { BuildFailure } from './types.js';

/** An image ID (full or short) where a FROM names an image: it would bypass the checks below. */
const IMAGE_ID = /^(?:sha256:)?[0-9a-f]{12,64}$/;

/**
 * Checks and pulls the images the Dockerfile's stages start from, before the engine looks for
 * them. The strategy's `from` (the build controller resolved it with the project's rights) is
 * pulled as the builder. Images of the cluster registry are pulled with the node's credentials,
 * and only from the build's own project or `openshift`: the engine would otherwise take another
 * project's image from the node's store, or pull it with the node's credentials (forcePull).
 * Returns the engine's registry credentials for a forcePull build.
 */
async function prepareBaseImages(
  ctx: BuildContext,
  dockerfile: string,
  buildArgs: Readonly<Record<string, string>>,
  options: {
    /** The strategy's `from`, as the build pod carries it (undefined without one). */
    builder: string | undefined;
    forcePull: boolean;
    pullSecret: string | undefined;
    dockerfileRel: string;
  },
): Promise<Record<string, RegistryAuth> | undefined> {
  const { images, problems } = baseImages(dockerfile, buildArgs);
  if (problems.length > 0) {
    throw new BuildFailure(
      'GenericBuildFailed',
      `${options.dockerfileRel}: ${problems.join('; ')} (FROM may use $NAME, \${NAME}, \${NAME:-default} and \${NAME:+value} of ARGs declared before it)`,
    );
  }
  const registryConfig: Record<string, RegistryAuth> = {};
  const pulled = new Set<string>();
  for (const { image, line } of images) {
    if (pulled.has(image)) continue;
    pulled.add(image);
    if (IMAGE_ID.test(image)) {
      throw new BuildFailure(
        'GenericBuildFailed',
        `${options.dockerfileRel} line ${line}: FROM ${image} names an image by its ID; name it by repository`,
      );
    }
    const isBuilder = image === options.builder;
    const own = isBuilder ? undefined : await ctx.settings.registryAuth?.(image, ctx.signal);
    if (!isBuilder && !own) continue; // not the cluster registry: the engine pulls it
    const parsed = parseDockerImageReference(image);
    if (own) {
      const project = parsed.ok ? parsed.reference.repository.split('/')[0] : undefined;
      if (project !== ctx.spec.namespace && project !== SHARED_IMAGES_NAMESPACE) {
        throw new BuildFailure(
          'PullBuilderImageFailed',
          `${options.dockerfileRel} line ${line}: FROM ${image}: builds in project ${ctx.spec.namespace} may use the cluster registry's images of their own project and of "${SHARED_IMAGES_NAMESPACE}" only`,
        );
      }
    }
    await pullBuilder(
      ctx,
      image,
      options.forcePull,
      isBuilder ? options.pullSecret : undefined,
      isBuilder ? 'builder' : 'base',
    );
    // With forcePull the engine pulls the image again: it needs the same credentials.
    const auth = options.forcePull
      ? await registryAuthFor(ctx, image, {
          name: isBuilder ? options.pullSecret : undefined,
          what: 'pull',
        })
      : undefined;
    if (auth && parsed.ok) registryConfig[parsed.reference.registry] = auth;
  }
  return Object.keys(registryConfig).length > 0 ? registryConfig : undefined;
}

export async function dockerBuild(ctx: BuildContext, source: FetchedSource): Promise<BuiltImage> {
  const strategy = ctx.spec.build.spec.strategy.dockerStrategy ?? {};
  const dockerfileRel = (strategy.dockerfilePath || 'Dockerfile').replace(/^\.?\/+/, '');
  const causes = checkContextDir(dockerfileRel, 'spec.strategy.dockerStrategy.dockerfilePath');
  if (causes.length > 0) {
    throw new BuildFailure(
      'GenericBuildFailed',
      causes.map((c) => `${c.field}: ${c.message}`).join('; '),
    );
  }
  let dockerfilePath: string;
  try {
    dockerfilePath = (await pathInside(source.contextDir, dockerfileRel, 'file'))!;
  } catch (err) {
    if (err instanceof UnsafePathError) {
      throw new BuildFailure('GenericBuildFailed', `cannot use the Dockerfile: ${err.message}`);
    }
    throw err;
  }
  let dockerfile = await readFile(dockerfilePath, 'utf8');
  if (strategy.from) {
    const replaced = replaceLastFrom(dockerfile, ctx.spec.image);
    if (replaced === undefined) {
      throw new BuildFailure('GenericBuildFailed', `${dockerfileRel} has no FROM instruction`);
    }
    dockerfile = replaced;
    ctx.log.line(`Replaced the last FROM of ${dockerfileRel} with ${ctx.spec.image}`);
  }
  const { env: envEntries, skipped } = buildEnvironment({
    buildName: ctx.spec.build.metadata.name!,
    namespace: ctx.spec.namespace,
    sourceUri: source.uri,
    ref: source.ref,
    commit: source.revision?.commit,
    strategyEnv: strategy.env,
  });
  for (const name of skipped) {
    ctx.log.line(
      `Warning: environment variable ${name} is left out: only plain values are supported`,
    );
  }
  const buildArgs: Record<string, string> = {};
  for (const a of strategy.buildArgs ?? []) {
    if (a.valueFrom !== undefined) {
      ctx.log.line(
        `Warning: build argument ${a.name} is left out: only plain values are supported`,
      );
      continue;
    }
    buildArgs[a.name] = a.value ?? '';
  }
  const registryConfig = await prepareBaseImages(ctx, dockerfile, buildArgs, {
    builder: strategy.from ? ctx.spec.image : undefined,
    forcePull: strategy.forcePull ?? false,
    pullSecret: strategy.pullSecret?.name,
    dockerfileRel,
  });
  const labels = buildLabels({
    buildName: ctx.spec.build.metadata.name!,
    namespace: ctx.spec.namespace,
    revision: source.revision,
    ref: source.ref,
    sourceUri: source.uri,
    contextDir: source.contextDirName,
  });
  // The workspace's copy of the source: the file is replaced, never written through.
  await rm(dockerfilePath, { force: true });
  await writeFile(dockerfilePath, appendLabels(dockerfile, labels), { mode: 0o644, flag: 'wx' });
  if (ctx.spec.build.spec.mountTrustedCA) {
    ctx.log.line(
      "mountTrustedCA: Dockerfile builds do not get the cluster's trusted CA bundle in RUN steps here (Source builds do)",
    );
  }
  ctx.log.line(`Building ${relative(source.root, dockerfilePath) || dockerfileRel} ...`);
  const env = dockerEnv(envEntries);
  let imageId: string;
  try {
    imageId = await ctx.docker.buildImage(
      packTrees([
        {
          dir: source.contextDir,
          prefix: '',
          ignore: (rel) => rel === '.git' || rel.startsWith('.git/'),
        },
      ]),
      {
        dockerfile: relative(source.contextDir, dockerfilePath),
        buildArgs,
        noCache: strategy.noCache ?? false,
        pull: strategy.forcePull ?? false,
        registryConfig,
        network: ctx.network.name,
        memoryBytes: ctx.limits.memoryBytes,
        cpuShares: ctx.limits.cpuShares,
        cpuQuota: ctx.limits.nanoCpus
          ? Math.max(1000, Math.round(ctx.limits.nanoCpus / 10_000))
          : undefined,
        signal: ctx.signal,
      },
      // eslint-disable-next-line no-control-regex
      (text) => ctx.log.output(text.replace(/\u001b\[[0-9;]*m/g, '')),
    );
  } catch (err) {
    ctx.log.flush();
    if (ctx.signal.aborted) throw new BuildFailure('Cancelled', 'the build was cancelled');
    if (isRuntimeError(err, 'EngineUnavailable')) throw err;
    const message = (err as Error).message;
    ctx.log.line(`error: ${message}`);
    const reason = /out of memory|OOM|exit code: 137|returned a non-zero code: 137/i.test(message)
      ? 'OutOfMemoryKilled'
      : 'GenericBuildFailed';
    throw new BuildFailure(reason, `the Docker build failed: ${message}`);
  }
  ctx.log.flush();
  ctx.log.line(`Built image ${imageId.slice(0, 19)}`);
  const info = await ctx.docker.imageInfo(imageId);
  const imageUser = parseNumericUser(info?.user ?? '');
  const user =
    imageUser && imageUser.uid !== 0
      ? `${imageUser.uid}:${imageUser.gid}`
      : `${ctx.settings.defaultUid}:0`;
  return { imageId, user, env };
}

/**
 * The Source-to-Image protocol, as builder images expect it:
 *
 * 1. pull the builder (PullBuilderImageFailed), read its destination
 *    (`io.openshift.s2i.destination`, default /tmp) and assemble user (numeric, non-root);
 * 2. find assemble, run (and save-artifacts for incremental builds) - s2i-scripts.ts;
 * 3. read `.s2iignore` and `.s2i/environment` from the source (never through a symlink);
 * 4. incremental: pull the previous output image; if it has save-artifacts, run it there and
 *    keep its stdout tar, checked, as one file under `artifacts/`; any failure: "Clean build
 *    will be performed";
 * 5. run the builder with its ENTRYPOINT replaced by
 *    `/bin/sh -c "tar -C DEST -xf - && ASSEMBLE"`, the tar of `scripts/`, `artifacts/` and
 *    `src/` on stdin, the build env, as the assemble user, restricted like a pod, on the build
 *    network, without Docker socket or registry credentials;
 * 6. commit it: CMD = run, USER and ENTRYPOINT = the builder's, Env = the build env, labels =
 *    the builder's plus the build's.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { TRUSTED_CA_CONFIGMAP } from '../../src/api/index.js';
import { isRuntimeError } from '../docker/errors.js';
import type { ImageInfo } from '../docker/build-engine.js';
import { assembleUser, type NumericUser } from './assemble-user.js';
import { buildLabels } from './build-labels.js';
import type { BuildContext } from './context.js';
import { packTrees, readInside, UnsafePathError } from './pack-tree.js';
import { buildEnvironment, dockerEnv, parseEnvironmentFile, type EnvEntry } from './s2i-env.js';
import { ignoreMatcher, parseS2iIgnore } from './s2i-ignore.js';
import {
  destinationOf,
  lookupScripts,
  scriptPath,
  type ScriptLocation,
  type ScriptName,
} from './s2i-scripts.js';
import { downloadScript } from './script-download.js';
import { writeArtifactsArchive } from './artifacts-archive.js';
import { registryAuthFor } from './registry-secrets.js';
import type { FetchedSource } from './source.js';
import { assembleWithTrust, CLUSTER_BUNDLE, readTrustedCa, TRUST_DIR } from './trusted-ca.js';
import { BuildFailure, type SourceStrategy } from './types.js';

export interface BuiltImage {
  imageId: string;
  /** `UID:GID` that later containers of this image (the post-commit hook) run as. */
  user: string;
  env: string[];
}

function podRef(ctx: BuildContext): { uid: string; namespace: string; name: string } {
  return { uid: ctx.spec.podUid, namespace: ctx.spec.namespace, name: ctx.spec.podName };
}

/** Pulls an image per the strategy's forcePull; PullBuilderImageFailed when it cannot be had. */
export async function pullBuilder(
  ctx: BuildContext,
  image: string,
  forcePull: boolean,
  pullSecret?: string,
): Promise<ImageInfo> {
  const present = forcePull ? undefined : await ctx.docker.imageInfo(image);
  if (present) {
    ctx.log.line(`Using builder image ${image} (already present on the node)`);
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
      `Failed to pull builder image ${image}: ${message}`,
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

async function sourceFile(
  ctx: BuildContext,
  dir: string,
  rel: string,
): Promise<string | undefined> {
  try {
    return (await readInside(dir, rel))?.toString('utf8');
  } catch (err) {
    if (err instanceof UnsafePathError) {
      throw new BuildFailure(
        'GenericBuildFailed',
        `cannot use ${rel} from the source: ${err.message}`,
      );
    }
    throw err;
  }
}

/**
 * Runs save-artifacts in the previous image; returns the tar file of the artifacts (entries
 * under `artifacts/`) for assemble, or undefined for a clean build.
 */
async function saveArtifacts(
  ctx: BuildContext,
  strategy: SourceStrategy,
  source: FetchedSource,
  user: NumericUser,
  destination: string,
  env: string[],
): Promise<string | undefined> {
  const output = ctx.spec.outputImage;
  const clean = (why: string): void => {
    ctx.log.line(`${why}; Clean build will be performed`);
  };
  if (!output) {
    clean('The build has no output image to take artifacts from');
    return undefined;
  }
  let previous: ImageInfo | undefined;
  try {
    previous = await ctx.docker.ensureImage(output, {
      pullPolicy: 'Always',
      fallbackToLocal: true,
      auth: await registryAuthFor(ctx, output, {
        name: ctx.spec.build.spec.output?.pushSecret?.name,
        what: 'push',
      }),
      signal: ctx.signal,
    });
  } catch (err) {
    if (ctx.signal.aborted) throw new BuildFailure('Cancelled', 'the build was cancelled');
    clean(`The previous image ${output} is not available (${(err as Error).message})`);
    return undefined;
  }
  ctx.log.line(`Existing image for tag ${output} detected for incremental build`);
  const scriptsDir = join(ctx.workspace.work, 'save-artifacts-scripts');
  await mkdir(join(scriptsDir, 'scripts'), { recursive: true, mode: 0o700 });
  const scripts = await lookupScripts({
    names: ['save-artifacts'],
    scriptsUrl: strategy.scripts,
    sourceDir: source.contextDir,
    imageLabels: previous.labels,
    scriptsDir: join(scriptsDir, 'scripts'),
    allowLocal: ctx.settings.allowLocalSources,
    download: (url) =>
      downloadScript(url, { allowLocal: ctx.settings.allowLocalSources, signal: ctx.signal }),
    existInImage: (paths) => existInImage(ctx, previous.id, user, paths),
  });
  const location = scripts['save-artifacts'];
  if (!location) {
    clean(`The previous image ${output} has no save-artifacts script`);
    return undefined;
  }
  const path = scriptPath(location, 'save-artifacts', destination);
  const command = location.kind === 'injected' ? `tar -C ${destination} -xf - && ${path}` : path;
  ctx.log.line(`Saving build artifacts from image ${output} ...`);
  const archive = join(ctx.workspace.work, 'artifacts.tar');
  const id = await ctx.docker.createContainer({
    pod: podRef(ctx),
    step: `${ctx.spec.containerName}-save-artifacts`,
    attempt: ctx.nextAttempt(),
    image: previous.id,
    user: `${user.uid}:${user.gid}`,
    env,
    entrypoint: ['/bin/sh', '-c'],
    cmd: [command],
    stdin: location.kind === 'injected',
    network: ctx.network.name,
    limits: ctx.limits,
  });
  const tar = new PassThrough();
  const unpack = writeArtifactsArchive(tar, archive, {
    prefix: 'artifacts',
    owner: user,
    maxBytes: ctx.settings.sourceLimitBytes,
    signal: ctx.signal,
  });
  unpack.catch(() => undefined);
  try {
    const result = await ctx.docker.run(id, {
      signal: ctx.signal,
      stdin:
        location.kind === 'injected'
          ? packTrees([{ dir: scriptsDir, prefix: '', entries: ['scripts'] }], user)
          : undefined,
      stdout: tar,
      onOutput: (_s, data) => ctx.log.output(data.toString('utf8')),
    });
    ctx.log.flush();
    if (ctx.signal.aborted) throw new BuildFailure('Cancelled', 'the build was cancelled');
    let unpacked: { entries: number } | undefined;
    let unpackError: string | undefined;
    try {
      unpacked = await unpack;
    } catch (err) {
      unpackError = (err as Error).message;
    }
    if (result.exitCode !== 0 || unpackError) {
      await rm(archive, { force: true });
      clean(
        result.exitCode !== 0
          ? `save-artifacts exited with code ${result.exitCode}`
          : `The artifacts save-artifacts printed cannot be used (${unpackError})`,
      );
      return undefined;
    }
    ctx.log.line(`Restored ${unpacked?.entries ?? 0} artifact entries from the previous image`);
    return archive;
  } finally {
    tar.destroy();
    ctx.removeLater(id);
  }
}

/** The cluster's trusted CA bundle for a build that asks for it, or undefined (said in the log). */
async function clusterTrust(ctx: BuildContext): Promise<string | undefined> {
  let configMap;
  try {
    configMap = await ctx.api.configMap(
      TRUSTED_CA_CONFIGMAP.namespace,
      TRUSTED_CA_CONFIGMAP.name,
      ctx.signal,
    );
  } catch (err) {
    if (ctx.signal.aborted) throw new BuildFailure('Cancelled', 'the build was cancelled');
    throw new BuildFailure(
      'GenericBuildFailed',
      `cannot read the cluster's trusted CA bundle: ${(err as Error).message}`,
    );
  }
  const read = readTrustedCa(configMap);
  if ('problem' in read) {
    ctx.log.line(`mountTrustedCA: ${read.problem}; the builder image's own CAs apply`);
    return undefined;
  }
  ctx.log.line(
    `Adding the cluster's trusted CA bundle to assemble (${read.certificates} certificate${read.certificates === 1 ? '' : 's'})`,
  );
  return read.pem;
}

/** Runs assemble and commits the result; returns the new image (not tagged). */
export async function s2iBuild(ctx: BuildContext, source: FetchedSource): Promise<BuiltImage> {
  const strategy = ctx.spec.build.spec.strategy.sourceStrategy;
  if (!strategy) throw new BuildFailure('Error', 'a Source build without sourceStrategy');
  const builder = await pullBuilder(
    ctx,
    ctx.spec.image,
    strategy.forcePull ?? false,
    strategy.pullSecret?.name,
  );
  const destination = destinationOf(builder.labels);
  const user = assembleUser(ctx.spec.image, builder.user, builder.labels);

  // The source's own S2I files, read without following links.
  const ignoreText = await sourceFile(ctx, source.contextDir, '.s2iignore');
  const ignore = ignoreMatcher(ignoreText ? parseS2iIgnore(ignoreText) : []);
  let fromFile: EnvEntry[] = [];
  const envText = await sourceFile(ctx, source.contextDir, '.s2i/environment');
  if (envText !== undefined) {
    const parsed = parseEnvironmentFile(envText);
    for (const p of parsed.problems) ctx.log.line(`Warning: ${p}`);
    fromFile = parsed.entries;
  }
  const { env: envEntries, skipped } = buildEnvironment({
    buildName: ctx.spec.build.metadata.name!,
    namespace: ctx.spec.namespace,
    sourceUri: source.uri,
    ref: source.ref,
    commit: source.revision?.commit,
    fromFile,
    strategyEnv: strategy.env,
  });
  for (const name of skipped) {
    ctx.log.line(
      `Warning: environment variable ${name} is left out: only plain values are supported`,
    );
  }
  const env = dockerEnv(envEntries);

  const upload = join(ctx.workspace.work, 'upload');
  await mkdir(join(upload, 'scripts'), { recursive: true, mode: 0o700 });
  await mkdir(join(upload, 'artifacts'), { recursive: true, mode: 0o700 });
  const names: ScriptName[] = ['assemble', 'run'];
  const scripts = await lookupScripts({
    names,
    scriptsUrl: strategy.scripts,
    sourceDir: source.contextDir,
    imageLabels: builder.labels,
    scriptsDir: join(upload, 'scripts'),
    allowLocal: ctx.settings.allowLocalSources,
    download: (url) =>
      downloadScript(url, { allowLocal: ctx.settings.allowLocalSources, signal: ctx.signal }),
    existInImage: (paths) => existInImage(ctx, builder.id, user, paths),
  });
  for (const name of names) {
    if (!scripts[name]) {
      throw new BuildFailure(
        'GenericBuildFailed',
        `no ${name} script found: looked in ${strategy.scripts ? "the build's scripts URL, " : ''}the source's .s2i/bin and the builder image's scripts URL`,
      );
    }
  }
  const assemble = scripts.assemble as ScriptLocation;
  const run = scripts.run as ScriptLocation;
  ctx.log.line(`Using assemble from ${assemble.origin} and run from ${run.origin}`);

  const artifacts = strategy.incremental
    ? await saveArtifacts(ctx, strategy, source, user, destination, env)
    : undefined;

  const trust = ctx.spec.build.spec.mountTrustedCA ? await clusterTrust(ctx) : undefined;
  if (trust) {
    await mkdir(join(upload, TRUST_DIR), { mode: 0o700 });
    await writeFile(join(upload, TRUST_DIR, CLUSTER_BUNDLE), trust, { mode: 0o644 });
  }

  const assemblePath = scriptPath(assemble, 'assemble', destination);
  const command = trust
    ? assembleWithTrust(destination, assemblePath, env)
    : `tar -C ${destination} -xf - && ${assemblePath}`;
  const id = await ctx.docker.createContainer({
    pod: podRef(ctx),
    step: ctx.spec.containerName,
    attempt: ctx.nextAttempt(),
    image: builder.id,
    user: `${user.uid}:${user.gid}`,
    env,
    entrypoint: ['/bin/sh', '-c'],
    cmd: [command],
    stdin: true,
    network: ctx.network.name,
    limits: ctx.limits,
  });
  try {
    ctx.log.line(`Running assemble in ${ctx.spec.image} as user ${user.uid} ...`);
    const input = packTrees(
      [
        {
          dir: upload,
          prefix: '',
          entries: ['scripts', 'artifacts', ...(trust ? [TRUST_DIR] : [])],
        },
        ...(artifacts ? [{ archive: artifacts }] : []),
        { dir: source.contextDir, prefix: 'src', ignore },
      ],
      user,
    );
    const result = await ctx.docker.run(id, {
      stdin: input,
      signal: ctx.signal,
      onOutput: (_s, data) => ctx.log.output(data.toString('utf8')),
    });
    ctx.log.flush();
    if (ctx.signal.aborted) throw new BuildFailure('Cancelled', 'the build was cancelled');
    if (result.oomKilled) {
      throw new BuildFailure(
        'OutOfMemoryKilled',
        'assemble was killed: the build ran out of memory',
      );
    }
    if (result.exitCode !== 0) {
      throw new BuildFailure(
        'GenericBuildFailed',
        `assemble exited with code ${result.exitCode}; see the build log`,
      );
    }
    const labels = buildLabels({
      builderImage: ctx.spec.image,
      buildName: ctx.spec.build.metadata.name!,
      namespace: ctx.spec.namespace,
      revision: source.revision,
      ref: source.ref,
      sourceUri: source.uri,
      contextDir: source.contextDirName,
    });
    const imageId = await ctx.docker.commit(id, '', {
      Cmd: [scriptPath(run, 'run', destination)],
      Entrypoint: builder.entrypoint ?? [],
      User: builder.user,
      Env: env,
      Labels: labels,
    });
    ctx.log.line(`Committed the build as image ${imageId.slice(0, 19)}`);
    return { imageId, user: `${user.uid}:${user.gid}`, env };
  } finally {
    // Removed while the image is pushed.
    ctx.removeLater(id);
  }
}

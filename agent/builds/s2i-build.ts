/**
 * The Source-to-Image protocol, as builder images expect it:
 *
 * 1. pull the builder (PullBuilderImageFailed), read its destination
 *    (`io.openshift.s2i.destination`, default /tmp) and assemble user (numeric, non-root);
 * 2. find assemble, run (and save-artifacts for incremental builds) - s2i-scripts.ts;
 * 3. read `.s2iignore` and `.s2i/environment` from the source (never through a symlink);
 * 4. incremental: save-artifacts in the previous output image (s2i-artifacts.ts); any failure:
 *    "Clean build will be performed";
 * 5. run the builder with its ENTRYPOINT replaced by
 *    `/bin/sh -c "tar -C DEST -xf - && ASSEMBLE"`, the tar of `scripts/`, `artifacts/` and
 *    `src/` on stdin, the build env, as the assemble user, restricted like a pod, on the build
 *    network, without Docker socket or registry credentials;
 * 6. commit it: CMD = run, USER and ENTRYPOINT = the builder's, Env = the build env, labels =
 *    the builder's plus the build's.
 *
 * What needs no source starts while the source is fetched (S2iHeadStart): step 1 and, for an
 * incremental build, step 4 with save-artifacts looked up in the scripts URLs only. Its log
 * lines and events wait for their place. A source with its own `.s2i/bin/save-artifacts` drops
 * that run and save-artifacts runs again with the source's script. The assemble container is
 * created and started, its input still to come, while save-artifacts runs.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, pipeline } from 'node:stream';
import { TRUSTED_CA_CONFIGMAP } from '../../src/api/index.js';
import type { ImageInfo } from '../docker/build-engine.js';
import { assembleUser, type NumericUser } from './assemble-user.js';
import { buildLabels } from './build-labels.js';
import { findScripts, podRef, pullBuilder, type BuiltImage } from './builder-image.js';
import type { BuildContext } from './context.js';
import { HeldOutput } from './held-output.js';
import { packTrees, readInside, UnsafePathError } from './pack-tree.js';
import { saveArtifacts, sourceHasSaveArtifacts } from './s2i-artifacts.js';
import { buildEnvironment, dockerEnv, parseEnvironmentFile, type EnvEntry } from './s2i-env.js';
import { ignoreMatcher, parseS2iIgnore } from './s2i-ignore.js';
import { destinationOf, scriptPath, type ScriptLocation, type ScriptName } from './s2i-scripts.js';
import type { FetchedSource } from './source.js';
import { assembleWithTrust, CLUSTER_BUNDLE, readTrustedCa, TRUST_DIR } from './trusted-ca.js';
import { BuildFailure } from './types.js';

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

/** The builder, and what it says of how to run assemble. */
export interface PreparedBuilder {
  info: ImageInfo;
  destination: string;
  user: NumericUser;
}

/**
 * The work of an S2I build that needs no source, started before the source is fetched. Failures
 * come out where the build would have met them: the builder's from `builder()`, save-artifacts'
 * from `artifacts()`. `stop()` ends what still runs; the build calls it before it cleans up.
 */
export class S2iHeadStart {
  readonly #ctx: BuildContext;
  readonly #abort = new AbortController();
  readonly #builderOutput = new HeldOutput();
  readonly #artifactsOutput = new HeldOutput();
  readonly #builder: Promise<PreparedBuilder>;
  readonly #artifacts: Promise<string | undefined> | undefined;

  private constructor(ctx: BuildContext) {
    this.#ctx = ctx;
    const early: BuildContext = {
      ...ctx,
      signal: AbortSignal.any([ctx.signal, this.#abort.signal]),
      log: this.#builderOutput.log,
      events: this.#builderOutput.events,
    };
    const strategy = ctx.spec.build.spec.strategy.sourceStrategy;
    this.#builder = (async () => {
      if (!strategy) throw new BuildFailure('Error', 'a Source build without sourceStrategy');
      const info = await pullBuilder(
        early,
        ctx.spec.image,
        strategy.forcePull ?? false,
        strategy.pullSecret?.name,
      );
      return {
        info,
        destination: destinationOf(info.labels),
        user: assembleUser(ctx.spec.image, info.user, info.labels),
      };
    })();
    this.#builder.catch(() => undefined);
    if (strategy?.incremental) {
      this.#artifacts = this.#builder.then((builder) =>
        saveArtifacts(
          { ...early, log: this.#artifactsOutput.log, events: this.#artifactsOutput.events },
          {
            strategy,
            sourceDir: undefined,
            user: builder.user,
            destination: builder.destination,
            name: 'artifacts-early',
          },
        ),
      );
      this.#artifacts.catch(() => undefined);
    }
  }

  /** Starts the work; failures are kept for `builder()` and `artifacts()`. */
  static start(ctx: BuildContext): S2iHeadStart {
    return new S2iHeadStart(ctx);
  }

  /** The pulled builder (PullBuilderImageFailed and the like thrown here). */
  async builder(): Promise<PreparedBuilder> {
    try {
      return await this.#builder;
    } finally {
      this.#builderOutput.release(this.#ctx);
    }
  }

  /** The artifacts tar for assemble, undefined for a clean (or non-incremental) build. */
  async artifacts(source: FetchedSource, builder: PreparedBuilder): Promise<string | undefined> {
    const strategy = this.#ctx.spec.build.spec.strategy.sourceStrategy;
    if (!strategy?.incremental || !this.#artifacts) return undefined;
    if (!(await sourceHasSaveArtifacts(source.contextDir))) {
      try {
        return await this.#artifacts;
      } finally {
        this.#artifactsOutput.release(this.#ctx);
      }
    }
    // The source's own save-artifacts comes before the image's: what ran ahead is dropped.
    this.#artifactsOutput.discard();
    this.#abort.abort();
    await this.#artifacts.catch(() => undefined);
    return saveArtifacts(this.#ctx, {
      strategy,
      sourceDir: source.contextDir,
      user: builder.user,
      destination: builder.destination,
      name: 'artifacts',
    });
  }

  /** Ends whatever still runs and waits for it (its containers are then in removeLater). */
  async stop(): Promise<void> {
    this.#builderOutput.discard();
    this.#artifactsOutput.discard();
    this.#abort.abort();
    await Promise.allSettled([this.#builder, this.#artifacts]);
  }
}

/**
 * Runs assemble and commits the result; returns the new image (not tagged). `head` is the work
 * started before the source was fetched (the caller stops it when the build ends).
 */
export async function s2iBuild(
  ctx: BuildContext,
  source: FetchedSource,
  head: S2iHeadStart,
): Promise<BuiltImage> {
  const strategy = ctx.spec.build.spec.strategy.sourceStrategy;
  if (!strategy) throw new BuildFailure('Error', 'a Source build without sourceStrategy');
  const prepared = await head.builder();
  const { info: builder, destination, user } = prepared;
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
  const scripts = await findScripts(ctx, {
    names,
    scriptsUrl: strategy.scripts,
    sourceDir: source.contextDir,
    image: builder,
    user,
    scriptsDir: join(upload, 'scripts'),
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
  // Started at once, its `tar` waiting for the input while save-artifacts runs.
  const input = new PassThrough();
  try {
    const running = ctx.docker.run(id, {
      stdin: input,
      signal: ctx.signal,
      onOutput: (_s, data) => ctx.log.output(data.toString('utf8')),
    });
    running.catch(() => undefined);
    const artifacts = await head.artifacts(source, prepared);
    ctx.log.line(`Running assemble in ${ctx.spec.image} as user ${user.uid} ...`);
    pipeline(
      packTrees(
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
      ),
      input,
      () => undefined,
    );
    const result = await running;
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
    // An input never sent ends, so its tar fails; the container is removed while the image is
    // pushed.
    if (!input.writableEnded) input.end();
    ctx.removeLater(id);
  }
}

/**
 * Incremental S2I builds: save-artifacts in the previous output image, as S2I runs it. The
 * previous image is pulled (the node's copy when the pull fails); save-artifacts is found as the
 * other scripts are (the build's scripts URL, the source's `.s2i/bin`, the image's scripts URL,
 * image paths checked in the previous image) and runs there as the assemble user, with the
 * image's own environment (S2I gives it none of the build's), without network. Its stdout tar
 * (a file in the container, see OUTPUT_DIR) is checked entry by entry and kept as one tar file
 * with entries under `artifacts/`.
 * Anything going wrong means a clean build, said in the log.
 *
 * It needs the source only for `.s2i/bin/save-artifacts`, so a build can run it while its
 * source is fetched (`sourceDir` undefined) and keep the result when the source turns out to
 * have no such script (`sourceHasSaveArtifacts`).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { createTar } from '../docker/tar.js';
import type { ImageInfo } from '../docker/build-engine.js';
import type { NumericUser } from './assemble-user.js';
import { writeArtifactsArchive } from './artifacts-archive.js';
import { findScripts, podRef } from './builder-image.js';
import type { BuildContext } from './context.js';
import { packTrees, readInside } from './pack-tree.js';
import { registryAuthFor } from './registry-secrets.js';
import { scriptPath } from './s2i-scripts.js';
import { BuildFailure, type SourceStrategy } from './types.js';

/**
 * Where save-artifacts' stdout goes: a file in a directory the agent puts into the container
 * (owned by the assemble user), read back through the engine's archive API. Docker's attached
 * output moved ~14 MB/s here, its archive API several times that.
 */
const OUTPUT_DIR = '/.slipway-artifacts';
const OUTPUT_FILE = `${OUTPUT_DIR}/artifacts.tar`;

export interface SaveArtifactsInput {
  strategy: SourceStrategy;
  /** The source's context directory; undefined to look only at the scripts URLs. */
  sourceDir: string | undefined;
  user: NumericUser;
  /** The builder's destination directory (for injected scripts). */
  destination: string;
  /** A name for this attempt's files in the build's working directory. */
  name: string;
}

/** Whether the source brings its own save-artifacts (`.s2i/bin/save-artifacts`, any kind of
 * entry, so that a link is refused by the lookup that follows rather than ignored here). */
export async function sourceHasSaveArtifacts(sourceDir: string): Promise<boolean> {
  try {
    return (await readInside(sourceDir, '.s2i/bin/save-artifacts')) !== undefined;
  } catch {
    return true;
  }
}

/**
 * Runs save-artifacts in the previous image; returns the tar file of the artifacts (entries
 * under `artifacts/`) for assemble, or undefined for a clean build.
 */
export async function saveArtifacts(
  ctx: BuildContext,
  input: SaveArtifactsInput,
): Promise<string | undefined> {
  const { strategy, user, destination } = input;
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
  const scriptsDir = join(ctx.workspace.work, `${input.name}-scripts`);
  await mkdir(join(scriptsDir, 'scripts'), { recursive: true, mode: 0o700 });
  const scripts = await findScripts(ctx, {
    names: ['save-artifacts'],
    scriptsUrl: strategy.scripts,
    sourceDir: input.sourceDir,
    image: previous,
    user,
    scriptsDir: join(scriptsDir, 'scripts'),
  });
  const location = scripts['save-artifacts'];
  if (!location) {
    clean(`The previous image ${output} has no save-artifacts script`);
    return undefined;
  }
  const path = scriptPath(location, 'save-artifacts', destination);
  const save = `exec ${path} > ${OUTPUT_FILE}`;
  const command = location.kind === 'injected' ? `tar -C ${destination} -xf - && ${save}` : save;
  ctx.log.line(`Saving build artifacts from image ${output} ...`);
  const archive = join(ctx.workspace.work, `${input.name}.tar`);
  const id = await ctx.docker.createContainer({
    pod: podRef(ctx),
    step: `${ctx.spec.containerName}-save-artifacts`,
    attempt: ctx.nextAttempt(),
    image: previous.id,
    user: `${user.uid}:${user.gid}`,
    env: [],
    entrypoint: ['/bin/sh', '-c'],
    cmd: [command],
    stdin: location.kind === 'injected',
    network: 'none',
    limits: ctx.limits,
  });
  try {
    // OUTPUT_DIR, owned by the assemble user, unpacked at `/` in the container.
    const dir = {
      path: OUTPUT_DIR.slice(1),
      type: 'dir',
      mode: 0o700,
      uid: user.uid,
      gid: user.gid,
    } as const;
    await ctx.docker.putArchive(id, '/', createTar([dir]));
    const result = await ctx.docker.run(id, {
      signal: ctx.signal,
      stdin:
        location.kind === 'injected'
          ? packTrees([{ dir: scriptsDir, prefix: '', entries: ['scripts'] }], user)
          : undefined,
      onOutput: (_s, data) => ctx.log.output(data.toString('utf8')),
    });
    ctx.log.flush();
    if (ctx.signal.aborted) throw new BuildFailure('Cancelled', 'the build was cancelled');
    if (result.exitCode !== 0) {
      clean(`save-artifacts exited with code ${result.exitCode}`);
      return undefined;
    }
    let copied: { entries: number };
    try {
      copied = await copyOutput(ctx, id, archive, user);
    } catch (err) {
      if (ctx.signal.aborted) throw new BuildFailure('Cancelled', 'the build was cancelled');
      await rm(archive, { force: true });
      clean(`The artifacts save-artifacts printed cannot be used (${(err as Error).message})`);
      return undefined;
    }
    ctx.log.line(`Restored ${copied.entries} artifact entries from the previous image`);
    return archive;
  } finally {
    ctx.removeLater(id);
  }
}

/** Copies what save-artifacts printed out of its stopped container, checked, into `archive`. */
async function copyOutput(
  ctx: BuildContext,
  id: string,
  archive: string,
  user: NumericUser,
): Promise<{ entries: number }> {
  const copied = (await ctx.docker.getArchive(id, OUTPUT_FILE)) as Readable;
  const reader = extract();
  copied.on('error', (err) => reader.destroy(err));
  copied.pipe(reader);
  try {
    for await (const entry of reader) {
      if (entry.header.type !== 'file') {
        throw new Error(`the engine copied a ${entry.header.type ?? 'non-file'} entry`);
      }
      return await writeArtifactsArchive(Readable.from(entry, { objectMode: false }), archive, {
        prefix: 'artifacts',
        owner: user,
        maxBytes: ctx.settings.sourceLimitBytes,
        signal: ctx.signal,
      });
    }
    throw new Error('the engine copied nothing');
  } finally {
    reader.destroy();
    copied.destroy();
  }
}

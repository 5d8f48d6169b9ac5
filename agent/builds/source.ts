/**
 * A build's input, on the node, in its workspace: a git checkout (git-fetch.ts), a binary upload
 * read from the master (a gzip tar unpacked by src/util/safe-extract.ts, or one file with `asFile`), an
 * inline Dockerfile, or nothing. Then the context directory inside it, refused when it climbs out
 * or passes through a symlink. Every failure is FetchSourceFailed.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkContextDir, redactCredentials } from '../../src/api/git-source.js';
import { isApiError, isPlainFileName } from '../../src/api/index.js';
import type { BuildContext } from './context.js';
import { credentialsFromSecret, secretValues, type GitCredentials } from './git-auth.js';
import { fetchGitSource } from './git-fetch.js';
import { pathInside, UnsafePathError } from './pack-tree.js';
import {
  ArchiveTooLargeError,
  extractSafely,
  UnsafeArchiveError,
} from '../../src/util/safe-extract.js';
import { BuildFailure, type BuiltRevision } from './types.js';

export interface FetchedSource {
  /** The checkout or unpacked upload. */
  root: string;
  /** The context directory (absolute, checked). */
  contextDir: string;
  revision?: BuiltRevision;
  uri?: string;
  ref?: string;
  /** As the build names it (for labels). */
  contextDirName?: string;
}

async function sourceCredentials(ctx: BuildContext): Promise<GitCredentials | undefined> {
  const name = ctx.spec.sourceSecretName;
  if (!name) return undefined;
  const secret = await ctx.api.secret(ctx.spec.namespace, name, ctx.signal);
  if (!secret) {
    throw new BuildFailure('FetchSourceFailed', `the source secret "${name}" does not exist`);
  }
  const creds = credentialsFromSecret(secret);
  ctx.redactor.add(...secretValues(creds));
  return creds;
}

async function fetchBinary(ctx: BuildContext, dir: string): Promise<void> {
  const { namespace, build } = ctx.spec;
  const buildName = build.metadata.name!;
  let body: AsyncIterable<Uint8Array>;
  try {
    body = await ctx.api.binarySource(namespace, buildName, ctx.signal);
  } catch (err) {
    if (isApiError(err, 'NotFound')) {
      throw new BuildFailure(
        'FetchSourceFailed',
        `the binary input of build ${buildName} has not been uploaded`,
      );
    }
    throw new BuildFailure(
      'FetchSourceFailed',
      `cannot read the binary input of build ${buildName}: ${(err as Error).message}`,
    );
  }
  const asFile = build.spec.source?.binary?.asFile;
  const limit = ctx.settings.sourceLimitBytes;
  try {
    if (asFile) {
      if (!isPlainFileName(asFile)) {
        throw new BuildFailure('FetchSourceFailed', `binary asFile "${asFile}" is not a file name`);
      }
      ctx.log.line(`Receiving the binary input as ${asFile} ...`);
      let size = 0;
      const limiter = new Transform({
        transform(chunk: Buffer, _e, done) {
          size += chunk.length;
          if (size > limit)
            done(new ArchiveTooLargeError(`larger than the limit of ${limit} bytes`));
          else done(null, chunk);
        },
      });
      await pipeline(
        Readable.from(body),
        limiter,
        createWriteStream(join(dir, asFile), { mode: 0o644 }),
      );
      ctx.log.line(`Received ${size} bytes`);
      return;
    }
    ctx.log.line('Receiving the binary input ...');
    const { entries, bytes } = await extractSafely(body, dir, {
      gzip: true,
      maxBytes: limit,
      signal: ctx.signal,
    });
    ctx.log.line(`Extracted ${entries} entries (${bytes} bytes)`);
  } catch (err) {
    if (err instanceof BuildFailure) throw err;
    if (ctx.signal.aborted) throw new BuildFailure('Cancelled', 'the build was cancelled');
    const why =
      err instanceof UnsafeArchiveError
        ? `the archive is unsafe: ${err.message}`
        : err instanceof ArchiveTooLargeError
          ? `the binary input is ${err.message}`
          : /incorrect header check|unexpected end|invalid|unsupported/i.test(
                (err as Error).message,
              )
            ? `the binary input is not a valid gzip-compressed tar archive (${(err as Error).message})`
            : (err as Error).message;
    throw new BuildFailure('FetchSourceFailed', `cannot unpack the binary input: ${why}`);
  }
}

/** Fetches the build's input into the workspace and finds its context directory. */
export async function fetchSource(ctx: BuildContext): Promise<FetchedSource> {
  const source = ctx.spec.build.spec.source;
  const root = join(ctx.workspace.work, 'source');
  const scratch = join(ctx.workspace.work, 'scratch');
  await mkdir(scratch, { recursive: true, mode: 0o700 });
  const out: FetchedSource = { root, contextDir: root };
  if (source?.git) {
    const creds = await sourceCredentials(ctx);
    out.uri = source.git.uri;
    if (source.git.ref) out.ref = source.git.ref;
    out.revision = await fetchGitSource({
      uri: source.git.uri,
      ref: source.git.ref || undefined,
      dir: root,
      scratch,
      credentials: creds,
      allowFile: ctx.settings.allowLocalSources,
      timeoutMs: ctx.settings.cloneTimeoutMs,
      maxBytes: ctx.settings.sourceLimitBytes,
      signal: ctx.signal,
      log: (l) => ctx.log.line(l),
    });
  } else {
    await mkdir(root, { recursive: true, mode: 0o700 });
    if (source?.binary || source?.type === 'Binary') await fetchBinary(ctx, root);
  }
  const contextDir = source?.contextDir?.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  if (contextDir) {
    const causes = checkContextDir(contextDir, 'spec.source.contextDir');
    if (causes.length > 0) {
      throw new BuildFailure(
        'FetchSourceFailed',
        causes.map((c) => `${c.field}: ${c.message}`).join('; '),
      );
    }
    try {
      out.contextDir = (await pathInside(root, contextDir, 'dir'))!;
    } catch (err) {
      if (err instanceof UnsafePathError) {
        throw new BuildFailure(
          'FetchSourceFailed',
          `the context directory ${redactCredentials(err.message)}`,
        );
      }
      throw err;
    }
    out.contextDirName = contextDir;
  }
  if (source?.dockerfile !== undefined) {
    // Replace, never write through: the checkout may hold a symlink named Dockerfile.
    const target = join(out.contextDir, 'Dockerfile');
    await rm(target, { force: true, recursive: true });
    await writeFile(target, source.dockerfile, { mode: 0o644, flag: 'wx' });
  }
  return out;
}

/**
 * The binary input of `start-build --from-dir|--from-file|--from-archive`: what goes up to the
 * API as a gzip tar (or, for a single file, the file itself with `asFile`). Directories are
 * packed without `.git` and without following symlinks, so nothing outside the directory is read.
 */
import { createReadStream } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { basename, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import { createGzip } from 'node:zlib';
import tar from 'tar-fs';
import { CliError } from './errors.js';

export interface BinarySource {
  /** The bytes to send. */
  body: Readable;
  /** `asFile` query value for a single file; undefined for archives. */
  asFile: string | undefined;
  /** What the user is told is being uploaded. */
  description: string;
}

/** Largest upload the CLI will start; the server enforces its own limit too. */
export const DEFAULT_UPLOAD_LIMIT = 50 * 1024 * 1024;

/** Fails the stream once more than `limit` bytes passed through it. */
export function limitBytes(limit: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) {
        done(new CliError(`${what} is larger than ${Math.round(limit / 1024 / 1024)} MiB`));
        return;
      }
      done(null, chunk);
    },
  });
}

/** True for `.git` at any depth, the one thing a directory upload leaves out. */
export function isGitMetadata(root: string, path: string): boolean {
  const rel = path.startsWith(root) ? path.slice(root.length) : path;
  return rel.split(sep).includes('.git');
}

/** A gzip tar of `dir` (without `.git`), entries relative to it. */
export async function archiveDirectory(
  dir: string,
  limit = DEFAULT_UPLOAD_LIMIT,
): Promise<BinarySource> {
  const info = await lstat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new CliError(`--from-dir: "${dir}" is not a directory`);
  const pack = tar.pack(dir, {
    ignore: (name: string) => isGitMetadata(dir, name),
    dereference: false,
    // Owners on the client machine mean nothing on the node.
    map: (header) => ({ ...header, uid: 0, gid: 0, uname: '', gname: '' }),
  });
  const body = pack.pipe(createGzip()).pipe(limitBytes(limit, `the archive of ${dir}`));
  pack.on('error', (err: Error) => body.destroy(err));
  return { body, asFile: undefined, description: `directory "${dir}"` };
}

/** One file, sent as it is; the build sees it under its own name. */
export async function singleFile(
  path: string,
  limit = DEFAULT_UPLOAD_LIMIT,
): Promise<BinarySource> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isFile()) throw new CliError(`--from-file: "${path}" is not a file`);
  if (info.size > limit)
    throw new CliError(
      `--from-file: "${path}" is larger than ${Math.round(limit / 1024 / 1024)} MiB`,
    );
  return {
    body: createReadStream(path),
    asFile: basename(path),
    description: `file "${path}"`,
  };
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** An existing archive. Gzip tars go as they are; a plain tar is compressed on the way. */
export async function existingArchive(
  path: string,
  limit = DEFAULT_UPLOAD_LIMIT,
): Promise<BinarySource> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isFile()) throw new CliError(`--from-archive: "${path}" is not a file`);
  const head = Buffer.alloc(2);
  const handle = await open(path, 'r');
  try {
    await handle.read(head, 0, 2, 0);
  } finally {
    await handle.close();
  }
  const gzipped = head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  const raw = createReadStream(path);
  const body = (gzipped ? raw : raw.pipe(createGzip())).pipe(
    limitBytes(limit, `the archive "${path}"`),
  );
  raw.on('error', (err) => body.destroy(err));
  return { body, asFile: undefined, description: `archive "${path}"` };
}

/** Collects a stream into one buffer (tests and small uploads). */
export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

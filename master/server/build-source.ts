/**
 * Binary build inputs (`start-build --from-dir/--from-file/--from-archive`): the upload is
 * streamed to disk under DATA_DIR/builds (never held in memory), refused with 413 beyond the
 * configured limit, and kept per build (`NS/NAME.UID.tar.gz`) for the build's node to fetch
 * with `GET .../builds/NAME/source`. What is served is always a gzip-compressed tar: an upload
 * with `asFile` (a single file) is wrapped by the master as the archive's only entry, named
 * `asFile`. The master never unpacks anything; the agent does, safely.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Logger } from 'pino';
import { ApiError } from '../../src/api/errors.js';

export interface BuildSourcesOptions {
  /** The master's data directory; archives live in DATA_DIR/builds. */
  dataDir: string;
  /** The largest upload accepted, in bytes. */
  maxBytes: number;
  logger: Logger;
  now?: () => number;
}

/** An upload on disk, not yet attached to a build. */
export interface ReceivedSource {
  /** Bytes of the archive that will be served. */
  size: number;
  /** Puts the archive where the build's node fetches it (a hard link, synced to disk). */
  place(namespace: string, build: string, uid: string): Promise<void>;
  /** Takes a placed archive away again (its build was not stored after all). */
  unplace(namespace: string, build: string, uid: string): Promise<void>;
  /** Removes the upload itself; placed copies stay. */
  discard(): Promise<void>;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const INCOMING = '.incoming';
/** Uploads left in .incoming longer than this (a crash mid-request) are removed. */
const STALE_INCOMING_MS = 60 * 60 * 1000;
/** Sweeps for archives of deleted builds run at most this often (on uploads). */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
const SAFE_SEGMENT = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const UID = /^[0-9a-f-]{36}$/;

export function tooLargeUpload(limit: number): ApiError {
  return new ApiError(
    'RequestEntityTooLarge',
    `the binary build input is too large: the limit is ${limit} bytes (an administrator can raise it with binaryBuildMaxBytes / SLIPWAY_BINARY_BUILD_MAX_BYTES)`,
  );
}

/** Past the limit, this much more is read and discarded so the client gets to read the 413;
 * beyond it the connection is cut. */
const DRAIN_BYTES = 16 * 1024 * 1024;

/**
 * Counts bytes. Past `limit` it passes nothing more on (`overflow`) but keeps reading, so the
 * client can finish sending and read the answer; past `limit + DRAIN_BYTES` it fails.
 */
class LimitStream extends Transform {
  bytes = 0;
  overflow = false;
  readonly #limit: number;
  first: Buffer = Buffer.alloc(0);

  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.first.length < 2) this.first = Buffer.concat([this.first, chunk.subarray(0, 2)]);
    if (this.bytes > this.#limit + DRAIN_BYTES) {
      done(tooLargeUpload(this.#limit));
      return;
    }
    if (this.bytes > this.#limit) {
      this.overflow = true;
      done();
      return;
    }
    done(null, chunk);
  }
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** A POSIX ustar header for one regular file. */
export function tarHeader(name: string, size: number, mtimeSeconds: number): Buffer {
  const header = Buffer.alloc(512, 0);
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) throw ApiError.badRequest('asFile must have at most 100 bytes');
  nameBytes.copy(header, 0);
  header.write(octal(0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(size, 12), 124, 'ascii');
  header.write(octal(mtimeSeconds, 12), 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write('0', 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return header;
}

/** A tar stream holding one file: header, content, padding, the two end blocks. */
async function* singleFileTar(
  name: string,
  size: number,
  content: AsyncIterable<Buffer>,
  mtimeSeconds: number,
): AsyncGenerator<Buffer> {
  yield tarHeader(name, size, mtimeSeconds);
  for await (const chunk of content) yield chunk;
  const pad = (512 - (size % 512)) % 512;
  yield Buffer.alloc(pad + 1024, 0);
}

export class BuildSources {
  readonly maxBytes: number;
  readonly #root: string;
  readonly #log: Logger;
  readonly #now: () => number;
  #lastSweep = 0;

  constructor(options: BuildSourcesOptions) {
    this.maxBytes = options.maxBytes;
    this.#root = join(options.dataDir, 'builds');
    this.#log = options.logger.child({ component: 'build-sources' });
    this.#now = options.now ?? Date.now;
  }

  #path(namespace: string, build: string, uid: string): string {
    if (!SAFE_SEGMENT.test(namespace) || !SAFE_SEGMENT.test(build) || !UID.test(uid)) {
      throw new ApiError('InternalError', 'invalid build identity for a source archive');
    }
    return join(this.#root, namespace, `${build}.${uid}.tar.gz`);
  }

  /**
   * Streams a request body to disk. Without `asFile` it must be a gzip archive (checked by its
   * magic number); with `asFile` it is one file's content, wrapped into a gzip tar.
   */
  async receive(req: IncomingMessage, asFile: string | undefined): Promise<ReceivedSource> {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBytes + DRAIN_BYTES) {
      throw tooLargeUpload(this.maxBytes);
    }
    const incoming = join(this.#root, INCOMING);
    await mkdir(incoming, { recursive: true, mode: 0o700 });
    const raw = join(incoming, `${randomUUID()}.part`);
    const limit = new LimitStream(this.maxBytes);
    const cleanup = async (...paths: string[]): Promise<void> => {
      for (const p of paths) await rm(p, { force: true }).catch(() => undefined);
    };
    try {
      await pipeline(req, limit, createWriteStream(raw, { mode: 0o600 }));
    } catch (err) {
      await cleanup(raw);
      if (err instanceof ApiError) throw err;
      throw ApiError.badRequest(
        `the binary build input could not be read: ${(err as Error).message}`,
      );
    }
    if (limit.overflow) {
      await cleanup(raw);
      throw tooLargeUpload(this.maxBytes);
    }
    if (limit.bytes === 0) {
      await cleanup(raw);
      throw ApiError.badRequest('the binary build input is empty');
    }
    let archive = raw;
    if (asFile !== undefined) {
      archive = join(incoming, `${randomUUID()}.tar.gz`);
      try {
        const tar = singleFileTar(
          asFile,
          limit.bytes,
          createReadStream(raw) as AsyncIterable<Buffer>,
          Math.floor(this.#now() / 1000),
        );
        await pipeline(
          Readable.from(tar),
          createGzip(),
          createWriteStream(archive, { mode: 0o600 }),
        );
      } catch (err) {
        await cleanup(raw, archive);
        throw err;
      } finally {
        await cleanup(raw);
      }
    } else if (limit.first[0] !== GZIP_MAGIC[0] || limit.first[1] !== GZIP_MAGIC[1]) {
      await cleanup(raw);
      throw ApiError.badRequest(
        'the binary build input must be a gzip-compressed tar archive (or a single file with asFile)',
      );
    }
    const size = (await stat(archive)).size;
    return {
      size,
      place: async (namespace, build, uid) => {
        const target = this.#path(namespace, build, uid);
        await mkdir(join(this.#root, namespace), { recursive: true, mode: 0o700 });
        await rm(target, { force: true });
        await link(archive, target);
        await syncFile(target);
      },
      unplace: (namespace, build, uid) => cleanup(this.#path(namespace, build, uid)),
      discard: () => cleanup(archive),
    };
  }

  /** The archive of a build, or undefined when it was not uploaded (yet). */
  async open(
    namespace: string,
    build: string,
    uid: string,
  ): Promise<{ size: number; stream: NodeJS.ReadableStream } | undefined> {
    const path = this.#path(namespace, build, uid);
    try {
      const { size } = await stat(path);
      return { size, stream: createReadStream(path) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /**
   * Removes archives whose build is gone (deleted, pruned, its project deleted) and uploads
   * abandoned mid-request. Runs at most every ten minutes unless `force`.
   */
  async sweep(
    isLive: (namespace: string, build: string, uid: string) => Promise<boolean>,
    force = false,
  ): Promise<number> {
    const now = this.#now();
    if (!force && now - this.#lastSweep < SWEEP_INTERVAL_MS) return 0;
    this.#lastSweep = now;
    let removed = 0;
    let namespaces: string[];
    try {
      namespaces = await readdir(this.#root);
    } catch {
      return 0;
    }
    for (const ns of namespaces) {
      const dir = join(this.#root, ns);
      if (ns === INCOMING) {
        for (const file of await readdir(dir).catch(() => [] as string[])) {
          const path = join(dir, file);
          const info = await stat(path).catch(() => undefined);
          if (info && now - info.mtimeMs > STALE_INCOMING_MS) {
            await rm(path, { force: true });
            removed += 1;
          }
        }
        continue;
      }
      for (const file of await readdir(dir).catch(() => [] as string[])) {
        const match = /^(.+)\.([0-9a-f-]{36})\.tar\.gz$/.exec(file);
        if (!match) continue;
        const live = await isLive(ns, match[1]!, match[2]!).catch(() => true);
        if (!live) {
          await rm(join(dir, file), { force: true });
          removed += 1;
        }
      }
    }
    if (removed > 0) this.#log.info({ removed }, 'removed source archives of deleted builds');
    return removed;
  }
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

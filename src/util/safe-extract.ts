/**
 * Unpacks an untrusted tar (a binary build's upload) into a directory, so that nothing is ever
 * written outside it (B1):
 *
 * - entries with an absolute path or a `..` component are refused, not rewritten;
 * - symlinks must point inside the tree (relative, resolving below the root); hard links must
 *   name an earlier entry inside it; devices, FIFOs and anything else are refused;
 * - tar-fs (>= 3.1.1) then refuses to write through a symlink (a file under a symlinked
 *   directory) and checks hard-link targets with realpath;
 * - a byte limit on the decompressed stream and an entry limit; ownership is not restored,
 *   setuid/setgid/sticky bits are dropped.
 *
 * Any refused entry fails the whole extraction (UnsafeArchiveError) after the stream is read; a
 * refused entry itself is never written.
 */
import { posix } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, type ExtractOptions, type Headers } from 'tar-fs';

export class UnsafeArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeArchiveError';
  }
}

export class ArchiveTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveTooLargeError';
  }
}

export interface ExtractLimits {
  /** Most bytes of (decompressed) archive. */
  maxBytes: number;
  /** Most entries. */
  maxEntries?: number;
}

type TarHeader = Omit<Headers, 'type'> & { linkname?: string | null; type: string };

/** Passes bytes through, failing with ArchiveTooLargeError past `maxBytes`; `count()` so far. */
export function byteLimiter(maxBytes: number): Transform & { count(): number } {
  let bytes = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        done(new ArchiveTooLargeError(`the archive is larger than the limit of ${maxBytes} bytes`));
        return;
      }
      done(null, chunk);
    },
  });
  return Object.assign(limiter, { count: () => bytes });
}

/** Why an entry is refused, or undefined when it is safe to hand to tar-fs. */
export function entryProblem(header: TarHeader): string | undefined {
  const raw = header.name;
  if (raw.includes('\u0000')) return `entry name contains NUL`;
  const name = raw.replace(/^(\.\/)+/, '');
  if (name.startsWith('/')) return `entry "${raw}" has an absolute path`;
  const parts = name.split('/');
  if (parts.includes('..')) return `entry "${raw}" climbs out of the directory with ".."`;
  switch (header.type) {
    case 'file':
    case 'directory':
      return undefined;
    case 'symlink': {
      const target = header.linkname ?? '';
      if (target === '' || target.startsWith('/')) {
        return `symlink "${raw}" points to "${target}", outside the directory`;
      }
      const resolved = posix.normalize(posix.join(posix.dirname(name), target));
      if (resolved === '..' || resolved.startsWith('../')) {
        return `symlink "${raw}" points to "${target}", outside the directory`;
      }
      return undefined;
    }
    case 'link': {
      const target = (header.linkname ?? '').replace(/^(\.\/)+/, '');
      if (target === '' || target.startsWith('/') || target.split('/').includes('..')) {
        return `hard link "${raw}" points to "${header.linkname ?? ''}", outside the directory`;
      }
      return undefined;
    }
    default:
      return `entry "${raw}" is a ${header.type}, which is not allowed`;
  }
}

/**
 * Extracts `input` (gzip-compressed when `gzip`) into `dir`, which must exist. Rejects with
 * UnsafeArchiveError (a refused entry), ArchiveTooLargeError, or the stream's own error
 * (a corrupt archive).
 */
export async function extractSafely(
  input: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
  dir: string,
  options: ExtractLimits & { gzip: boolean; signal?: AbortSignal },
): Promise<{ entries: number; bytes: number }> {
  const maxEntries = options.maxEntries ?? 200_000;
  let entries = 0;
  let problem: string | undefined;
  const refused = new WeakSet<object>();
  const limiter = byteLimiter(options.maxBytes);
  const extractOptions = {
    chown: false,
    strict: true,
    validateSymlinks: true,
    // Directories must stay traversable by the agent so the workspace can be removed.
    dmode: 0o700,
    map: (header: Headers): Headers => {
      entries += 1;
      const why =
        entries > maxEntries
          ? `the archive has more than ${maxEntries} entries`
          : entryProblem(header);
      if (why) {
        problem ??= why;
        refused.add(header);
      }
      return header;
    },
    ignore: (_name: string, header?: Headers): boolean =>
      header !== undefined && refused.has(header),
  } as ExtractOptions;
  const sink = extract(dir, extractOptions);
  const source = Symbol.asyncIterator in input && !('pipe' in input) ? Readable.from(input) : input;
  const unzip = options.gzip ? createGunzip() : new PassThrough();
  await pipeline(
    source,
    unzip,
    limiter,
    sink as unknown as NodeJS.WritableStream,
    options.signal ? { signal: options.signal } : {},
  );
  if (problem) throw new UnsafeArchiveError(problem);
  return { entries, bytes: limiter.count() };
}

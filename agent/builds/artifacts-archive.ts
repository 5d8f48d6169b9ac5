/**
 * The artifacts a previous image's save-artifacts prints (a tar on stdout), kept for the next
 * assemble as one tar file in the build's workspace instead of a tree on the node's disk: every
 * entry is checked as extractSafely checks it (no absolute paths, no `..`, links inside the
 * tree, only files, directories and links; entry and byte limits), then written under `prefix/`
 * with the assemble user as owner and setuid/setgid/sticky bits dropped. Nothing of the archive
 * is ever unpacked on the node, and one sequential file costs far less than a tree of small
 * files (a node_modules has hundreds). packTrees splices the file into the assemble input.
 *
 * A refused entry, a corrupt archive or a limit fails the whole copy (the caller then performs
 * a clean build); the file is complete only when the promise resolves.
 */
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack, type Header } from 'tar-stream';
import { cleanMode, type PackOwner } from './pack-tree.js';
import { byteLimiter, entryProblem, UnsafeArchiveError } from '../../src/util/safe-extract.js';

export interface ArtifactsArchiveOptions {
  /** Where the entries go in the assemble input (`artifacts`). */
  prefix: string;
  owner: PackOwner;
  /** Most bytes of archive read. */
  maxBytes: number;
  /** Most entries. */
  maxEntries?: number;
  signal?: AbortSignal;
}

/** Copies the tar `input` into the tar file `file`, checked and renamed entry by entry. */
export async function writeArtifactsArchive(
  input: Readable,
  file: string,
  options: ArtifactsArchiveOptions,
): Promise<{ entries: number; bytes: number }> {
  const maxEntries = options.maxEntries ?? 200_000;
  let entries = 0;
  const limiter = byteLimiter(options.maxBytes);
  const within = (name: string): string => {
    const rel = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
    return rel === '' || rel === '.' ? options.prefix : `${options.prefix}/${rel}`;
  };
  const reader = extract();
  const writer = pack();
  const signal = options.signal ? { signal: options.signal } : {};
  const reading = pipeline(input, limiter, reader, signal);
  const writing = pipeline(writer, createWriteStream(file, { mode: 0o600 }), signal);
  // Whichever side fails first, the other stops too.
  reading.catch((err: unknown) => writer.destroy(err as Error));
  writing.catch((err: unknown) => reader.destroy(err as Error));
  try {
    for await (const entry of reader) {
      entries += 1;
      const h = entry.header;
      const why =
        entries > maxEntries ? `the archive has more than ${maxEntries} entries` : entryProblem(h);
      if (why) throw new UnsafeArchiveError(why);
      const header: Partial<Header> & Pick<Header, 'name'> = {
        name: within(h.name),
        type: h.type,
        mode: cleanMode(h.type, h.mode),
        mtime: h.mtime,
        size: h.type === 'file' ? h.size : 0,
        uid: options.owner.uid,
        gid: options.owner.gid,
        ...(h.type === 'symlink' ? { linkname: h.linkname } : {}),
        ...(h.type === 'link' ? { linkname: within(h.linkname) } : {}),
      };
      await new Promise<void>((resolve, reject) => {
        const sink = writer.entry(header, (err) => (err ? reject(err) : resolve()));
        entry.pipe(sink);
      });
    }
    await reading;
    writer.finalize();
    await writing;
  } catch (err) {
    reader.destroy();
    writer.destroy();
    await Promise.allSettled([reading, writing]);
    throw err;
  }
  return { entries, bytes: limiter.count() };
}

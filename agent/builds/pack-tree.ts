/**
 * Tar streams of directory trees from a build's workspace (the S2I injection, a Docker build
 * context), made with tar-fs without ever following a symlink: a symlink in the source is
 * packed as a symlink, so a repository's `link -> /etc/shadow` or `link -> ../.git/config`
 * gives the builder a dangling link, never the node's file (B3). Reading files of the
 * source on the node (scripts, `.s2i/environment`, a Dockerfile) goes through `readInside`,
 * which refuses symlinks and paths outside the tree for the same reason.
 */
import { createReadStream } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack, type Headers, type PackOptions } from 'tar-fs';
import { extract, pack as tarPack, type Pack } from 'tar-stream';

export class UnsafePathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

export interface DirSource {
  /** The directory whose contents are packed. */
  dir: string;
  /** Where its contents go in the archive (`src`); '' for the archive's root. */
  prefix: string;
  /** Paths relative to `dir` (with '/') that are left out, with their subtrees. */
  ignore?: (relPath: string) => boolean;
  /** Only these top-level entries of `dir` (default: all). */
  entries?: string[];
}

export interface ArchiveSource {
  /** A tar file of the agent's own making (artifacts-archive.ts), copied entry by entry. */
  archive: string;
}

export type PackSource = DirSource | ArchiveSource;

export interface PackOwner {
  uid: number;
  gid: number;
}

/** Copies every entry of the tar file `file` into `into`, in order. */
async function spliceArchive(file: string, into: Pack): Promise<void> {
  const entries = extract();
  const reading = pipeline(createReadStream(file), entries);
  for await (const entry of entries) {
    await new Promise<void>((resolve, reject) => {
      const sink = into.entry(entry.header, (err) => (err ? reject(err) : resolve()));
      entry.pipe(sink);
    });
  }
  await reading;
}

/**
 * One tar stream of several trees and archives, in order; the trees' entries owned by `owner`.
 * Symlinks are never followed (tar-fs's lstat default).
 */
export function packTrees(sources: readonly PackSource[], owner?: PackOwner): Readable {
  if (sources.length === 0) throw new Error('nothing to pack');
  const into = tarPack();
  const step = (index: number): void => {
    const source = sources[index]!;
    const next = (): void => {
      if (index === sources.length - 1) into.finalize();
      else step(index + 1);
    };
    if ('archive' in source) {
      spliceArchive(source.archive, into).then(next, (err: unknown) => into.destroy(err as Error));
      return;
    }
    const options: PackOptions = {
      dereference: false,
      finalize: false,
      pack: into,
      ...(source.entries ? { entries: source.entries } : {}),
      ignore: (name: string) => {
        const rel = relative(source.dir, name).split(sep).join('/');
        return rel !== '' && (source.ignore?.(rel) ?? false);
      },
      map: (header: Headers) => {
        const name = header.name === '.' ? '' : header.name.replace(/^\.\//, '');
        header.name = source.prefix
          ? name
            ? `${source.prefix}/${name}`
            : source.prefix
          : name || '.';
        if (owner) {
          header.uid = owner.uid;
          header.gid = owner.gid;
        }
        header.mode = cleanMode(header.type, header.mode);
        return header;
      },
      finish: next,
    };
    pack(source.dir, options);
  };
  step(0);
  return into as unknown as Readable;
}

/**
 * No setuid/setgid/sticky bits; directories traversable by everyone (the workspace's own
 * directories are private to the agent, the image's users are not the agent).
 */
export function cleanMode(type: string | undefined, mode: number | undefined): number {
  const bits = (mode ?? 0o644) & 0o777;
  return type === 'directory' ? bits | 0o755 : bits;
}

/**
 * `root/rel` after checking that no component of `rel` is a symlink or `..` and that it exists
 * with the wanted type. UnsafePathError otherwise (undefined when it does not exist and
 * `optional`).
 */
export async function pathInside(
  root: string,
  rel: string,
  want: 'file' | 'dir',
  optional = false,
): Promise<string | undefined> {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..') || rel.startsWith('/')) {
    throw new UnsafePathError(`"${rel}" is not a path inside the source`);
  }
  let current = root;
  for (let i = 0; i < parts.length; i++) {
    current = join(current, parts[i]!);
    let st;
    try {
      st = await lstat(current);
    } catch {
      if (optional) return undefined;
      throw new UnsafePathError(`"${rel}" does not exist in the source`);
    }
    if (st.isSymbolicLink()) {
      throw new UnsafePathError(
        `"${parts.slice(0, i + 1).join('/')}" is a symbolic link; the build does not follow links in the source`,
      );
    }
    const isLast = i === parts.length - 1;
    if (!isLast && !st.isDirectory()) {
      if (optional) return undefined;
      throw new UnsafePathError(`"${rel}" does not exist in the source`);
    }
    if (isLast) {
      if (want === 'dir' && !st.isDirectory()) {
        throw new UnsafePathError(`"${rel}" is not a directory`);
      }
      if (want === 'file' && !st.isFile()) {
        throw new UnsafePathError(`"${rel}" is not a regular file`);
      }
    }
  }
  return current;
}

/** Reads a regular file inside `root` (no symlinks on the way, at most `maxBytes`). */
export async function readInside(
  root: string,
  rel: string,
  maxBytes = 1024 * 1024,
): Promise<Buffer | undefined> {
  const path = await pathInside(root, rel, 'file', true);
  if (!path) return undefined;
  const st = await lstat(path);
  if (st.size > maxBytes) {
    throw new UnsafePathError(`"${rel}" is larger than ${maxBytes} bytes`);
  }
  return readFile(path);
}

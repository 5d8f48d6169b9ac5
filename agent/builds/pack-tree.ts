/**
 * Tar streams of directory trees from a build's workspace (the S2I injection, a Docker build
 * context), made with tar-fs without ever following a symlink: a symlink in the source is
 * packed as a symlink, so a repository's `link -> /etc/shadow` or `link -> ../.git/config`
 * gives the builder a dangling link, never the node's file (B3). Reading files of the
 * source on the node (scripts, `.s2i/environment`, a Dockerfile) goes through `readInside`,
 * which refuses symlinks and paths outside the tree for the same reason.
 */
import { lstat, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pack, type Headers, type PackOptions } from 'tar-fs';

export class UnsafePathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

export interface PackSource {
  /** The directory whose contents are packed. */
  dir: string;
  /** Where its contents go in the archive (`src`); '' for the archive's root. */
  prefix: string;
  /** Paths relative to `dir` (with '/') that are left out, with their subtrees. */
  ignore?: (relPath: string) => boolean;
  /** Only these top-level entries of `dir` (default: all). */
  entries?: string[];
}

export interface PackOwner {
  uid: number;
  gid: number;
}

/**
 * One tar stream of several trees, in order; entries owned by `owner`. Symlinks are never
 * followed (tar-fs's lstat default).
 */
export function packTrees(sources: readonly PackSource[], owner?: PackOwner): Readable {
  const chain = (index: number, into?: ReturnType<typeof pack>): ReturnType<typeof pack> => {
    const source = sources[index]!;
    const last = index === sources.length - 1;
    const options: PackOptions = {
      dereference: false,
      finalize: last,
      ...(into ? { pack: into } : {}),
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
        // No setuid/setgid/sticky bits; directories traversable by everyone (the workspace's
        // own directories are private to the agent, the image's users are not the agent).
        header.mode =
          header.type === 'directory' ? (header.mode & 0o777) | 0o755 : header.mode & 0o777;
        return header;
      },
      ...(last ? {} : { finish: (p: ReturnType<typeof pack>) => void chain(index + 1, p) }),
    };
    return pack(source.dir, options);
  };
  if (sources.length === 0) throw new Error('nothing to pack');
  return chain(0) as unknown as Readable;
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

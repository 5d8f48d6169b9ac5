/**
 * Docker build contexts of the platform's image folders (`images/<name>/`): a deterministic tar
 * (sorted paths, zero times and owners, permission bits kept) whose SHA-256 is the folder's
 * content hash. An image built from a folder carries that hash as a label, so an unchanged
 * folder reuses the image and any change to a Dockerfile or script rebuilds it.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { createTar, type TarEntry } from '../docker/tar.js';

/** Label holding the content hash of the folder an image was built from. */
export const CONTENT_HASH_LABEL = 'io.slipway.image.content-hash';

async function walk(root: string, rel: string, prefix: string, out: TarEntry[]): Promise<void> {
  const names = (await readdir(join(root, rel))).sort();
  for (const name of names) {
    const relPath = rel ? posix.join(rel, name) : name;
    const abs = join(root, relPath);
    const path = prefix + relPath;
    const st = await lstat(abs);
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      out.push({ path: `${path}/`, type: 'dir', mode });
      await walk(root, relPath, prefix, out);
    } else if (st.isSymbolicLink()) {
      out.push({ path, type: 'symlink', linkname: await readlink(abs) });
    } else if (st.isFile()) {
      out.push({ path, type: 'file', mode, data: await readFile(abs) });
    }
  }
}

/**
 * A folder's files as tar entries in a stable order, their paths under `prefix` (e.g. `src/`
 * for an S2I source archive), owners and times zeroed.
 */
export async function directoryEntries(dir: string, prefix = ''): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  if (prefix) entries.push({ path: prefix.endsWith('/') ? prefix : `${prefix}/`, type: 'dir' });
  await walk(dir, '', prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix, entries);
  return entries;
}

export interface BuildContext {
  tar: Buffer;
  /** `sha256:<hex>` of the tar. */
  hash: string;
}

/** The folder as a build context, and its content hash. */
export async function directoryContext(dir: string): Promise<BuildContext> {
  const tar = createTar(await directoryEntries(dir));
  return { tar, hash: `sha256:${createHash('sha256').update(tar).digest('hex')}` };
}

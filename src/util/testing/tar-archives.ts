// Archives for tests of untrusted input: ordinary ones and the hostile kinds B1 names (`../`,
// absolute paths, a symlink and then a file through it, hard links out of the tree). Written
// entry by entry with tar-stream, so nothing normalises the hostile names on the way.
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

export type ArchiveEntry =
  | { name: string; type?: 'file'; data: string; mode?: number }
  | { name: string; type: 'directory'; mode?: number }
  | { name: string; type: 'symlink' | 'link'; linkname: string };

/** A tar (gzip-compressed unless `gzip: false`) of the entries, in order. */
export async function makeArchive(
  entries: readonly ArchiveEntry[],
  options: { gzip?: boolean } = {},
): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if ('data' in e) p.entry({ name: e.name, type: 'file', mode: e.mode ?? 0o644 }, e.data, cb);
      else if (e.type === 'directory')
        p.entry({ name: e.name, type: 'directory', mode: e.mode ?? 0o755 }, cb);
      else p.entry({ name: e.name, type: e.type, linkname: e.linkname }, cb);
    });
  }
  p.finalize();
  await done;
  const tar = Buffer.concat(chunks);
  return options.gzip === false ? tar : gzipSync(tar);
}

/**
 * The hostile archives of B1, keyed by what they try: each tries to create `sentinel` or to
 * change `victim` (an existing file), both absolute paths outside the extraction directory `dir`.
 */
export function hostileArchives(
  dir: string,
  sentinel: string,
  victim: string,
): Record<string, ArchiveEntry[]> {
  const outsideDir = sentinel.slice(0, sentinel.lastIndexOf('/'));
  const base = sentinel.slice(sentinel.lastIndexOf('/') + 1);
  const depth = dir.split('/').filter(Boolean).length;
  const up = '../'.repeat(depth + 2);
  const rel = (abs: string): string => `${up}${abs.replace(/^\//, '')}`;
  return {
    'a ../ path': [{ name: rel(sentinel), data: 'pwned' }],
    'a ../ inside a path': [{ name: `src/../../${base}`, data: 'pwned' }],
    'an absolute path': [{ name: sentinel, data: 'pwned' }],
    'a symlink to a directory outside, then a file through it': [
      { name: 'escape', type: 'symlink', linkname: outsideDir },
      { name: `escape/${base}`, data: 'pwned' },
    ],
    'a symlink climbing out, then a file through it': [
      { name: 'up', type: 'symlink', linkname: up.replace(/\/$/, '') },
      { name: `up${outsideDir}/${base}`, data: 'pwned' },
    ],
    'a symlink to a file outside, then a write to it': [
      { name: 'target', type: 'symlink', linkname: victim },
      { name: 'target', data: 'pwned' },
    ],
    'a relative symlink inside, then a file through it': [
      { name: 'sub', type: 'directory' },
      { name: 'inner', type: 'symlink', linkname: 'sub' },
      { name: 'inner/../../x', data: 'pwned' },
    ],
    'a hard link to a file outside, then a write to it': [
      { name: 'hard', type: 'link', linkname: victim },
      { name: 'hard', data: 'pwned' },
    ],
    'a hard link climbing out': [{ name: 'hard2', type: 'link', linkname: rel(victim) }],
  };
}

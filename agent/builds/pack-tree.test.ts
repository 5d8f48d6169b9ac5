import { mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packTrees, pathInside, readInside, UnsafePathError } from './pack-tree.js';
import { extractSafely } from '../../src/util/safe-extract.js';

let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'pack-tree-'));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('packTrees', () => {
  it('packs several trees under prefixes, leaving ignored paths out and links as links', async () => {
    const src = join(base, 'src');
    const up = join(base, 'upload');
    await mkdir(join(src, 'sub'), { recursive: true });
    await mkdir(join(up, 'scripts'), { recursive: true });
    await writeFile(join(src, 'a.txt'), 'a');
    await writeFile(join(src, 'sub', 'b.txt'), 'b');
    await writeFile(join(src, 'skip.log'), 'skip');
    await symlink('a.txt', join(src, 'link'));
    await writeFile(join(up, 'scripts', 'assemble'), '#!/bin/sh\n', { mode: 0o755 });
    const tar = packTrees(
      [
        { dir: up, prefix: '', entries: ['scripts'] },
        { dir: src, prefix: 'src', ignore: (rel) => rel.endsWith('.log') },
      ],
      { uid: 1001, gid: 0 },
    );
    const out = join(base, 'out');
    await mkdir(out);
    await extractSafely(tar, out, { gzip: false, maxBytes: 1 << 20 });
    expect(await readFile(join(out, 'src', 'a.txt'), 'utf8')).toBe('a');
    expect(await readFile(join(out, 'src', 'sub', 'b.txt'), 'utf8')).toBe('b');
    expect(await readFile(join(out, 'scripts', 'assemble'), 'utf8')).toBe('#!/bin/sh\n');
    await expect(readFile(join(out, 'src', 'skip.log'))).rejects.toThrow();
    expect(await readlink(join(out, 'src', 'link'))).toBe('a.txt');
  });

  it('never puts the content a symlink points to into the archive', async () => {
    const src = join(base, 'src');
    await mkdir(src);
    await writeFile(join(base, 'secret'), 'NODE-ONLY');
    await symlink(join(base, 'secret'), join(src, 'leak'));
    const chunks: Buffer[] = [];
    for await (const c of packTrees([{ dir: src, prefix: 'src' }])) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('latin1');
    expect(raw).not.toContain('NODE-ONLY');
    expect(raw).toContain(join(base, 'secret')); // the link's target, as a name
  });
});

describe('pathInside / readInside', () => {
  it('refuses links and climbing out, and reads plain files', async () => {
    await mkdir(join(base, 'dir'));
    await writeFile(join(base, 'dir', 'f'), 'content');
    await symlink('/etc', join(base, 'etc-link'));
    await symlink('f', join(base, 'dir', 'f-link'));
    expect((await readInside(base, 'dir/f'))?.toString()).toBe('content');
    expect(await readInside(base, 'dir/missing')).toBeUndefined();
    await expect(readInside(base, 'dir/f-link')).rejects.toBeInstanceOf(UnsafePathError);
    await expect(readInside(base, 'etc-link/passwd')).rejects.toBeInstanceOf(UnsafePathError);
    await expect(pathInside(base, '../x', 'dir')).rejects.toBeInstanceOf(UnsafePathError);
    await expect(pathInside(base, 'dir/f', 'dir')).rejects.toThrow(/not a directory/);
    expect(await readlink(join(base, 'etc-link'))).toBe('/etc');
  });
});

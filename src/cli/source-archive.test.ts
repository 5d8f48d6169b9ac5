import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archiveDirectory,
  collect,
  existingArchive,
  isGitMetadata,
  singleFile,
} from './source-archive.js';

/** Entry names of a tar (ustar names are the first 100 bytes of each 512-byte header). */
function tarNames(tar: Buffer): string[] {
  const names: string[] = [];
  let off = 0;
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const prefix = header.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(
      header.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim() || '0',
      8,
    );
    const type = String.fromCharCode(header[156]!);
    if (type !== 'x' && type !== 'g') names.push(prefix ? `${prefix}/${name}` : name);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

describe('binary build sources', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-archive-'));
    await mkdir(join(dir, 'app', '.git', 'objects'), { recursive: true });
    await writeFile(join(dir, 'app', '.git', 'config'), '[core]');
    await writeFile(join(dir, 'app', 'package.json'), '{}');
    await mkdir(join(dir, 'app', 'lib'));
    await writeFile(join(dir, 'app', 'lib', 'x.js'), 'x');
    await writeFile(join(dir, 'secret.txt'), 'outside');
    await symlink(join(dir, 'secret.txt'), join(dir, 'app', 'link'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('packs a directory without .git and without following symlinks', async () => {
    const src = await archiveDirectory(join(dir, 'app'));
    const tar = gunzipSync(await collect(src.body));
    const names = tarNames(tar);
    expect(names).toEqual(expect.arrayContaining(['package.json', 'lib/x.js', 'link']));
    expect(names.some((n) => n.includes('.git'))).toBe(false);
    expect(tar.includes(Buffer.from('outside'))).toBe(false);
    expect(src.asFile).toBeUndefined();
  });

  it('stops at the size limit with a clear error', async () => {
    const src = await archiveDirectory(join(dir, 'app'), 10);
    await expect(collect(src.body)).rejects.toThrow(/larger than/);
  });

  it('sends a single file as itself, named', async () => {
    const src = await singleFile(join(dir, 'app', 'package.json'));
    expect(src.asFile).toBe('package.json');
    expect((await collect(src.body)).toString()).toBe('{}');
    await expect(singleFile(join(dir, 'app'))).rejects.toThrow('--from-file');
  });

  it('compresses a plain tar archive and passes a gzip one as it is', async () => {
    const packed = await collect((await archiveDirectory(join(dir, 'app'))).body);
    await writeFile(join(dir, 'a.tar.gz'), packed);
    await writeFile(join(dir, 'a.tar'), gunzipSync(packed));
    expect(await collect((await existingArchive(join(dir, 'a.tar.gz'))).body)).toEqual(packed);
    const fromPlain = await collect((await existingArchive(join(dir, 'a.tar'))).body);
    expect(gunzipSync(fromPlain)).toEqual(gunzipSync(packed));
    await expect(existingArchive(join(dir, 'none'))).rejects.toThrow('--from-archive');
  });

  it('recognises .git at any depth only', () => {
    expect(isGitMetadata('/r', '/r/.git/config')).toBe(true);
    expect(isGitMetadata('/r', '/r/sub/.git')).toBe(true);
    expect(isGitMetadata('/r', '/r/.gitignore')).toBe(false);
  });
});

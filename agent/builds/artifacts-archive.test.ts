import { mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeArtifactsArchive } from './artifacts-archive.js';
import { packTrees } from './pack-tree.js';
import {
  ArchiveTooLargeError,
  extractSafely,
  UnsafeArchiveError,
} from '../../src/util/safe-extract.js';
import { hostileArchives, makeArchive } from '../../src/util/testing/tar-archives.js';

let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'artifacts-archive-'));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const owner = { uid: 1001, gid: 0 };

async function headersOf(tar: Readable): Promise<Header[]> {
  const out: Header[] = [];
  const reader = extract();
  tar.pipe(reader);
  for await (const entry of reader) {
    out.push(entry.header);
    entry.resume();
  }
  return out;
}

describe('writeArtifactsArchive', () => {
  it('keeps the entries under the prefix, owned by the assemble user, and packTrees splices them between trees', async () => {
    const input = await makeArchive(
      [
        { name: 'node_modules', type: 'directory' },
        { name: 'node_modules/ms/index.js', data: 'module.exports = 1;\n' },
        { name: 'node_modules/.bin', type: 'directory' },
        { name: 'node_modules/.bin/ms', type: 'symlink', linkname: '../ms/index.js' },
        { name: './node_modules/copy.js', type: 'link', linkname: 'node_modules/ms/index.js' },
        { name: 'node_modules/tool', data: '#!/bin/sh\n', mode: 0o4755 },
      ],
      { gzip: false },
    );
    const file = join(base, 'artifacts.tar');
    const result = await writeArtifactsArchive(Readable.from([input]), file, {
      prefix: 'artifacts',
      owner,
      maxBytes: 1 << 20,
    });
    expect(result.entries).toBe(6);
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const up = join(base, 'upload');
    const src = join(base, 'src');
    await mkdir(join(up, 'scripts'), { recursive: true });
    await mkdir(join(up, 'artifacts'), { recursive: true });
    await mkdir(src);
    await writeFile(join(up, 'scripts', 'assemble'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(join(src, 'server.js'), 'listen();\n');
    const sources = [
      { dir: up, prefix: '', entries: ['scripts', 'artifacts'] },
      { archive: file },
      { dir: src, prefix: 'src' },
    ];

    const headers = await headersOf(packTrees(sources, owner));
    expect(headers.map((h) => h.name)).toEqual([
      'scripts',
      'artifacts',
      'scripts/assemble',
      'artifacts/node_modules',
      'artifacts/node_modules/ms/index.js',
      'artifacts/node_modules/.bin',
      'artifacts/node_modules/.bin/ms',
      'artifacts/node_modules/copy.js',
      'artifacts/node_modules/tool',
      'src',
      'src/server.js',
    ]);
    for (const h of headers) expect([h.uid, h.gid]).toEqual([1001, 0]);
    const byName = new Map(headers.map((h) => [h.name, h]));
    expect(byName.get('artifacts/node_modules/copy.js')).toMatchObject({
      type: 'link',
      linkname: 'artifacts/node_modules/ms/index.js',
    });
    expect(byName.get('artifacts/node_modules/.bin/ms')).toMatchObject({
      type: 'symlink',
      linkname: '../ms/index.js',
    });
    // No setuid bit survives.
    expect(byName.get('artifacts/node_modules/tool')!.mode).toBe(0o755);

    // And it unpacks as one archive.
    const out = join(base, 'out');
    await mkdir(out);
    await extractSafely(packTrees(sources, owner), out, { gzip: false, maxBytes: 1 << 20 });
    expect(await readFile(join(out, 'artifacts', 'node_modules', 'copy.js'), 'utf8')).toBe(
      'module.exports = 1;\n',
    );
    expect(await readlink(join(out, 'artifacts', 'node_modules', '.bin', 'ms'))).toBe(
      '../ms/index.js',
    );
    expect(await readFile(join(out, 'src', 'server.js'), 'utf8')).toBe('listen();\n');
  });

  it.each(Object.entries(hostileArchives('/tmp/x/artifacts', '/tmp/sentinel', '/etc/passwd')))(
    'refuses %s',
    async (_what, entries) => {
      const input = await makeArchive(entries, { gzip: false });
      await expect(
        writeArtifactsArchive(Readable.from([input]), join(base, 'a.tar'), {
          prefix: 'artifacts',
          owner,
          maxBytes: 1 << 20,
        }),
      ).rejects.toBeInstanceOf(UnsafeArchiveError);
    },
  );

  it('refuses devices, and archives past their byte or entry limit', async () => {
    const many = await makeArchive(
      Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, data: 'x'.repeat(600) })),
      { gzip: false },
    );
    const write = (input: Buffer, limits: { maxBytes: number; maxEntries?: number }) =>
      writeArtifactsArchive(Readable.from([input]), join(base, 'a.tar'), {
        prefix: 'artifacts',
        owner,
        ...limits,
      });
    await expect(write(many, { maxBytes: 2048 })).rejects.toBeInstanceOf(ArchiveTooLargeError);
    await expect(write(many, { maxBytes: 1 << 20, maxEntries: 4 })).rejects.toThrow(
      'more than 4 entries',
    );
    await expect(
      write(Buffer.from('not a tar archive'.repeat(40)), { maxBytes: 1 << 20 }),
    ).rejects.toThrow();
  });
});

import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { directoryContext, directoryEntries } from './build-context.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-context-'));
  await mkdir(join(dir, 's2i', 'bin'), { recursive: true });
  await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\n');
  await writeFile(join(dir, 's2i', 'bin', 'run'), '#!/bin/sh\n');
  await chmod(join(dir, 's2i', 'bin', 'run'), 0o755);
  await symlink('run', join(dir, 's2i', 'bin', 'start'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('directoryEntries', () => {
  it('lists the folder in a stable order with modes, under an optional prefix', async () => {
    const entries = await directoryEntries(dir, 'src');
    expect(entries.map((e) => [e.path, e.type, e.mode])).toEqual([
      ['src/', 'dir', undefined],
      ['src/Dockerfile', 'file', 0o644],
      ['src/s2i/', 'dir', 0o755],
      ['src/s2i/bin/', 'dir', 0o755],
      ['src/s2i/bin/run', 'file', 0o755],
      ['src/s2i/bin/start', 'symlink', undefined],
    ]);
    expect(entries.find((e) => e.type === 'symlink')?.linkname).toBe('run');
  });
});

describe('directoryContext', () => {
  it('hashes the same content the same way, whenever it is read', async () => {
    const a = await directoryContext(dir);
    const b = await directoryContext(dir);
    expect(a.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b.hash).toBe(a.hash);
    expect(b.tar.equals(a.tar)).toBe(true);
  });

  it('changes the hash when a file, a mode or a name changes', async () => {
    const before = (await directoryContext(dir)).hash;
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nUSER 1001\n');
    const edited = (await directoryContext(dir)).hash;
    expect(edited).not.toBe(before);
    await chmod(join(dir, 's2i', 'bin', 'run'), 0o644);
    const chmodded = (await directoryContext(dir)).hash;
    expect(chmodded).not.toBe(edited);
    await writeFile(join(dir, 'extra'), '');
    expect((await directoryContext(dir)).hash).not.toBe(chmodded);
  });
});

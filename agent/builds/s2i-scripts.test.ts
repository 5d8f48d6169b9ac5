import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lookupScripts, scriptPath, type ScriptLookupInput } from './s2i-scripts.js';
import { BuildFailure } from './types.js';

let base: string;
let source: string;
let scripts: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 's2i-scripts-'));
  source = join(base, 'src');
  scripts = join(base, 'scripts');
  await mkdir(join(source, '.s2i', 'bin'), { recursive: true });
  await mkdir(scripts);
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

function input(
  overrides: Partial<ScriptLookupInput> = {},
): ScriptLookupInput & { downloads: string[]; probed: string[][] } {
  const downloads: string[] = [];
  const probed: string[][] = [];
  return {
    names: ['assemble', 'run'],
    sourceDir: source,
    imageLabels: { 'io.openshift.s2i.scripts-url': 'image:///usr/libexec/s2i' },
    scriptsDir: scripts,
    allowLocal: false,
    download: async (url) => {
      downloads.push(url);
      return url.endsWith('/assemble') ? Buffer.from('#!/bin/sh\necho downloaded\n') : undefined;
    },
    existInImage: async (paths) => {
      probed.push(paths);
      return new Set(paths.filter((p) => p.startsWith('/usr/libexec/s2i/')));
    },
    downloads,
    probed,
    ...overrides,
  };
}

describe('S2I script lookup', () => {
  it('takes the image label when nothing else has the scripts', async () => {
    const found = await lookupScripts(input());
    expect(found.assemble).toEqual({
      kind: 'image',
      path: '/usr/libexec/s2i/assemble',
      origin: "the builder image's scripts URL (image:///usr/libexec/s2i)",
    });
    expect(scriptPath(found.run!, 'run', '/tmp')).toBe('/usr/libexec/s2i/run');
  });

  it("prefers the source's .s2i/bin to the image, and the build's URL to both", async () => {
    await writeFile(join(source, '.s2i', 'bin', 'assemble'), '#!/bin/sh\necho from source\n');
    const fromSource = await lookupScripts(input());
    expect(fromSource.assemble).toEqual({ kind: 'injected', origin: "the source's .s2i/bin" });
    expect(scriptPath(fromSource.assemble!, 'assemble', '/opt/dest')).toBe(
      '/opt/dest/scripts/assemble',
    );
    expect(await readFile(join(scripts, 'assemble'), 'utf8')).toContain('from source');
    expect(fromSource.run?.kind).toBe('image');

    const fromUrl = await lookupScripts(input({ scriptsUrl: 'https://scripts.example.com/s2i/' }));
    expect(fromUrl.assemble?.origin).toBe(
      "the build's scripts URL (https://scripts.example.com/s2i/)",
    );
    expect(await readFile(join(scripts, 'assemble'), 'utf8')).toContain('downloaded');
    // run is not at the URL (404): the next place is looked at.
    expect(fromUrl.run?.kind).toBe('image');
  });

  it('falls back to the default image:///usr/libexec/s2i without a label', async () => {
    const found = await lookupScripts(input({ imageLabels: {} }));
    expect(found.assemble).toMatchObject({ kind: 'image', path: '/usr/libexec/s2i/assemble' });
  });

  it('leaves out what is found nowhere', async () => {
    const found = await lookupScripts(
      input({ imageLabels: { 'io.openshift.s2i.scripts-url': 'image:///elsewhere' } }),
    );
    expect(found).toEqual({});
  });

  it('refuses a script that is a symlink (it would read the node)', async () => {
    await symlink('/etc/shadow', join(source, '.s2i', 'bin', 'assemble'));
    await expect(lookupScripts(input())).rejects.toThrow(
      /cannot use \.s2i\/bin\/assemble: .*symbolic link/,
    );
  });

  it('refuses file:// unless local sources are allowed, and unknown schemes', async () => {
    await expect(lookupScripts(input({ scriptsUrl: 'file:///srv/scripts' }))).rejects.toThrow(
      /file:\/\/ URL, which this node does not allow/,
    );
    await expect(lookupScripts(input({ scriptsUrl: 'ftp://x/y' }))).rejects.toBeInstanceOf(
      BuildFailure,
    );
    await mkdir(join(base, 'local'));
    await writeFile(join(base, 'local', 'run'), '#!/bin/sh\n');
    const found = await lookupScripts(
      input({ scriptsUrl: `file://${join(base, 'local')}`, allowLocal: true }),
    );
    expect(found.run?.kind).toBe('injected');
    expect(found.assemble?.kind).toBe('image');
  });
});

import { mkdir, mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfigPath, readConfig, writeConfig } from './config.js';

describe('config file', () => {
  it('defaults to ~/.slipway/config, overridden by SLIPWAY_CONFIG', () => {
    expect(defaultConfigPath({ HOME: '/home/u' })).toBe('/home/u/.slipway/config');
    expect(defaultConfigPath({ HOME: '/home/u', SLIPWAY_CONFIG: '/tmp/c' })).toBe('/tmp/c');
  });

  it('reads a missing file as empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-config-'));
    expect(await readConfig(join(dir, 'nope'))).toEqual({});
  });

  it('writes atomically with mode 0600 in a 0700 directory, and reads it back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-config-'));
    const path = join(dir, '.slipway', 'config');
    await writeConfig(path, {
      server: 'http://127.0.0.1:8443',
      token: 't0k',
      user: 'admin',
      project: undefined,
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, '.slipway'))).mode & 0o777).toBe(0o700);
    expect(await readConfig(path)).toEqual({
      server: 'http://127.0.0.1:8443',
      token: 't0k',
      user: 'admin',
    });
    await writeConfig(path, { server: 'http://127.0.0.1:8443', project: 'demo' });
    expect(await readConfig(path)).toEqual({ server: 'http://127.0.0.1:8443', project: 'demo' });
    expect(await readdir(join(dir, '.slipway'))).toEqual(['config']);
  });

  it('tightens an existing file that was readable by others', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-config-'));
    const path = join(dir, 'config');
    await writeFile(path, 'server: x\n', { mode: 0o644 });
    await writeConfig(path, { server: 'x', token: 'secret' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('explains a broken file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-config-'));
    await mkdir(join(dir, 'd'));
    await writeFile(join(dir, 'bad'), 'server: [\n');
    await expect(readConfig(join(dir, 'bad'))).rejects.toThrow(/is not valid YAML/);
    await writeFile(join(dir, 'wrong'), 'server: 3\n');
    await expect(readConfig(join(dir, 'wrong'))).rejects.toThrow(
      /is invalid at server: expected a string/,
    );
  });
});

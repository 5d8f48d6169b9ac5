import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  configMapData,
  MAX_DATA_BYTES,
  parseEnvFile,
  readDataSources,
  secretData,
  type DataSources,
} from './data-sources.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slipway-data-sources-'));
  await writeFile(join(dir, 'app.properties'), 'color=blue\n');
  await writeFile(join(dir, 'logo.bin'), Buffer.from([0x89, 0x50, 0xff, 0x00]));
  await mkdir(join(dir, 'conf'));
  await writeFile(join(dir, 'conf', 'a.conf'), 'a');
  await writeFile(join(dir, 'conf', 'b.conf'), 'b');
  await writeFile(join(dir, 'conf', 'not a key'), 'skipped');
  await mkdir(join(dir, 'conf', 'sub'));
  await writeFile(join(dir, 'app.env'), '# settings\nMODE=prod\n\nURL=http://x/?a=b\r\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const none: DataSources = { literals: [], files: [], envFiles: [] };

describe('readDataSources', () => {
  it('reads literals, files (named or keyed), directories and env files in order', async () => {
    const entries = await readDataSources({
      literals: ['greeting=hello=world', 'empty='],
      files: [join(dir, 'app.properties'), `logo=${join(dir, 'logo.bin')}`, join(dir, 'conf')],
      envFiles: [join(dir, 'app.env')],
    });
    expect([...entries.keys()]).toEqual([
      'greeting',
      'empty',
      'app.properties',
      'logo',
      'a.conf',
      'b.conf',
      'MODE',
      'URL',
    ]);
    expect(entries.get('greeting')?.toString()).toBe('hello=world');
    expect(entries.get('URL')?.toString()).toBe('http://x/?a=b');
    // Text goes to data, anything else to binaryData; secrets are all base64.
    const cm = configMapData(entries);
    expect(cm.data?.['app.properties']).toBe('color=blue\n');
    expect(cm.binaryData).toEqual({
      logo: Buffer.from([0x89, 0x50, 0xff, 0x00]).toString('base64'),
    });
    expect(secretData(entries).empty).toBe('');
    expect(secretData(entries).MODE).toBe(Buffer.from('prod').toString('base64'));
  });

  it('refuses bad keys, duplicates, missing files and oversized data, never echoing a value', async () => {
    const refused = async (sources: Partial<DataSources>): Promise<string> => {
      const err = await readDataSources({ ...none, ...sources }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      return (err as Error).message;
    };
    expect(await refused({ literals: ['no-value'] })).toBe(
      '--from-literal "no-value": expected KEY=VALUE',
    );
    expect(await refused({ literals: ['bad key=s3cret'] })).toBe(
      `--from-literal: "bad key" is not a valid key: alphanumeric characters, '-', '_' or '.'`,
    );
    expect(await refused({ literals: ['k=s3cret', 'k=other'] })).toBe(
      '--from-literal: the key "k" is given more than once',
    );
    expect(
      await refused({ literals: ['app.properties=x'], files: [join(dir, 'app.properties')] }),
    ).toBe('--from-file: the key "app.properties" is given more than once');
    expect(await refused({ files: [join(dir, 'missing')] })).toBe(
      `--from-file ${join(dir, 'missing')}: ENOENT`,
    );
    expect(await refused({ files: [`k=${join(dir, 'conf')}`] })).toBe(
      `--from-file k=${join(dir, 'conf')}: a key cannot be given for a directory`,
    );
    expect(await refused({ literals: [`big=${'x'.repeat(MAX_DATA_BYTES)}`, 'one=1'] })).toBe(
      'the data is 1048577 bytes; at most 1048576 are allowed',
    );
    for (const message of [
      await refused({ literals: ['bad key=s3cret'] }),
      await refused({ literals: ['k=s3cret', 'k=other'] }),
    ]) {
      expect(message).not.toContain('s3cret');
    }
  });
});

describe('parseEnvFile', () => {
  it('takes KEY=VALUE lines and names the line that is not one', () => {
    expect(parseEnvFile('\uFEFFA=1\n  B=two = 2\n#C=3\n', 'f')).toEqual([
      ['A', '1'],
      ['B', 'two = 2'],
    ]);
    expect(() => parseEnvFile('B = 2\n', 'f')).toThrow(
      '--from-env-file f: line 1: "B " is not a valid environment variable name',
    );
    expect(() => parseEnvFile('A=1\nnonsense\n', 'f')).toThrow(
      '--from-env-file f: line 2 is not KEY=VALUE',
    );
    expect(() => parseEnvFile('1A=x\n', 'f')).toThrow(
      '--from-env-file f: line 1: "1A" is not a valid environment variable name',
    );
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkPackages,
  compareVersions,
  FLOORS,
  findInstalled,
  findLocked,
  floorViolation,
  parseVersion,
} from './check-deps.mjs';

const v = (text: string) => {
  const parsed = parseVersion(text);
  if (!parsed) throw new Error(`unparseable ${text}`);
  return parsed;
};

describe('compareVersions', () => {
  it.each([
    ['1.0.0', '1.0.0', 0],
    ['1.0.1', '1.0.0', 1],
    ['1.2.0', '1.10.0', -1],
    ['2.0.0', '10.0.0', -1],
    ['3.1.1-beta.1', '3.1.1', -1],
    ['3.1.1-alpha', '3.1.1-beta', -1],
    ['3.1.1-beta.2', '3.1.1-beta.10', -1],
    ['3.1.1-1', '3.1.1-alpha', -1],
    ['3.1.1-beta', '3.1.1-beta.1', -1],
    ['3.1.1+build.5', '3.1.1', 0],
  ])('%s vs %s', (a, b, sign) => {
    expect(Math.sign(compareVersions(v(a), v(b)))).toBe(sign);
    expect(Math.sign(compareVersions(v(b), v(a)))).toBe(-sign || 0);
  });

  it('rejects what is not a version', () => {
    expect(parseVersion('latest')).toBeNull();
    expect(parseVersion('1.2')).toBeNull();
  });
});

describe('floorViolation', () => {
  it.each([
    // tar-fs: 2.x from 2.1.4, 3.x from 3.1.1, newer majors fine, older majors not.
    ['tar-fs', '1.16.3', false],
    ['tar-fs', '2.1.3', false],
    ['tar-fs', '2.1.4', true],
    ['tar-fs', '2.1.5', true],
    ['tar-fs', '3.0.9', false],
    ['tar-fs', '3.1.0', false],
    ['tar-fs', '3.1.1-rc.1', false],
    ['tar-fs', '3.1.1', true],
    ['tar-fs', '3.1.3', true],
    ['tar-fs', '4.0.0', true],
    ['simple-git', '3.28.0', false],
    ['simple-git', '4.0.1', false],
    ['simple-git', '4.0.2', true],
    ['simple-git', '5.0.0', true],
    ['dockerode', '4.0.8', false],
    ['dockerode', '4.0.9', true],
    ['dockerode', '5.0.1', true],
    ['dockerode', '3.3.5', false],
  ] as const)('%s@%s ok=%s', (name, version, ok) => {
    expect(floorViolation(version, FLOORS[name]) === null).toBe(ok);
  });

  it('fails unparseable versions instead of passing them', () => {
    expect(floorViolation('not-a-version', FLOORS.dockerode)).toMatch(/unparseable/);
  });
});

describe('tree scanning', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const pkg = (path: string, name: string, version: string) => {
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'package.json'), JSON.stringify({ name, version }));
  };

  it('finds nested and scoped copies and reports the old one', () => {
    dir = mkdtempSync(join(tmpdir(), 'check-deps-'));
    const nm = join(dir, 'node_modules');
    pkg(join(nm, 'tar-fs'), 'tar-fs', '3.1.3');
    pkg(join(nm, 'dockerode'), 'dockerode', '4.0.9');
    pkg(join(nm, 'dockerode', 'node_modules', 'tar-fs'), 'tar-fs', '2.1.1');
    pkg(join(nm, '@scope', 'thing', 'node_modules', 'simple-git'), 'simple-git', '4.0.2');
    mkdirSync(join(nm, '.bin'));

    const found = findInstalled(dir);
    expect(found.map((p) => `${p.name}@${p.version}`).sort()).toEqual([
      'dockerode@4.0.9',
      'simple-git@4.0.2',
      'tar-fs@2.1.1',
      'tar-fs@3.1.3',
    ]);
    const violations = checkPackages(found, FLOORS);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ name: 'tar-fs', version: '2.1.1' });
  });

  it('reads every entry of a lockfile', () => {
    dir = mkdtempSync(join(tmpdir(), 'check-deps-'));
    const lockfile = join(dir, 'package-lock.json');
    writeFileSync(
      lockfile,
      JSON.stringify({
        lockfileVersion: 3,
        packages: {
          '': { name: 'x', version: '1.0.0' },
          'node_modules/dockerode': { version: '4.0.2' },
          'node_modules/a/node_modules/@s/simple-git': { version: '4.0.2' },
          'node_modules/linked': { link: true, resolved: '../linked' },
        },
      }),
    );
    const found = findLocked(lockfile);
    expect(found.map((p) => `${p.name}@${p.version}`)).toEqual([
      'dockerode@4.0.2',
      '@s/simple-git@4.0.2',
    ]);
    expect(checkPackages(found, FLOORS).map((p) => p.name)).toEqual(['dockerode']);
  });
});

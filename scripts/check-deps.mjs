#!/usr/bin/env node
// Dependency floor check: fails when any copy of a listed package, anywhere in the installed tree
// (nested copies included) or in package-lock.json, is older than its minimum safe version.
//
//   node scripts/check-deps.mjs [PROJECT_DIR]
//
// Floors are per major line: a version passes when it is at least the floor of its own major
// line, or when its major is newer than every listed line. Majors older than the oldest line, or
// without a floor of their own, fail.
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** @typedef {{ major: number, minor: number, patch: number, prerelease: string[] }} Version */
/** @typedef {{ name: string, version: string, where: string }} Found */
/** @typedef {Found & { reason: string }} Violation */

/** Minimum versions, one entry per allowed major line. */
export const FLOORS = Object.freeze({
  // tar-fs: path traversal / link following fixes (3.1.1; 2.x line fixed in 2.1.4).
  'tar-fs': ['2.1.4', '3.1.1'],
  'simple-git': ['4.0.2'],
  dockerode: ['4.0.9'],
});

/**
 * Parses `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`; returns null for anything else.
 * @param {string} text
 * @returns {Version | null}
 */
export function parseVersion(text) {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(text.trim());
  if (!m) return null;
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    prerelease: m[4] ? m[4].split('.') : [],
  };
}

/**
 * Semver precedence: negative when a < b, 0 when equal, positive when a > b.
 * @param {Version} a
 * @param {Version} b
 * @returns {number}
 */
export function compareVersions(a, b) {
  for (const key of /** @type {const} */ (['major', 'minor', 'patch'])) {
    if (a[key] !== b[key]) return a[key] - b[key];
  }
  // A release ranks above any of its prereleases.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return b.prerelease.length - a.prerelease.length;
  }
  const n = Math.max(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < n; i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) return Number(x) - Number(y);
    if (xn) return -1;
    if (yn) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Why `version` is below the floors, or null when it is acceptable.
 * @param {string} version
 * @param {readonly string[]} floors
 * @returns {string | null}
 */
export function floorViolation(version, floors) {
  const v = parseVersion(version);
  if (!v) return `unparseable version "${version}"`;
  const parsed = floors.map((f) => {
    const p = parseVersion(f);
    if (!p) throw new Error(`bad floor "${f}"`);
    return p;
  });
  const sameLine = parsed.find((f) => f.major === v.major);
  if (sameLine) {
    return compareVersions(v, sameLine) >= 0 ? null : `needs >= ${fmt(sameLine)}`;
  }
  const newest = Math.max(...parsed.map((f) => f.major));
  if (v.major > newest) return null;
  return `needs one of ${floors.map((f) => `>= ${f}`).join(', ')}`;
}

/** @param {Version} v */
function fmt(v) {
  return `${v.major}.${v.minor}.${v.patch}${v.prerelease.length ? `-${v.prerelease.join('.')}` : ''}`;
}

/**
 * Every installed package under `dir/node_modules`, nested copies included.
 * @param {string} dir
 * @returns {Found[]}
 */
export function findInstalled(dir) {
  /** @type {Found[]} */
  const found = [];
  /** @type {Set<string>} */
  const seen = new Set();

  /** @param {string} pkgDir */
  const visitPackage = (pkgDir) => {
    let real;
    try {
      real = realpathSync(pkgDir);
    } catch {
      return; // dangling link
    }
    if (seen.has(real)) return;
    seen.add(real);
    try {
      const pkg = /** @type {{ name?: unknown, version?: unknown }} */ (
        JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
      );
      if (typeof pkg.name === 'string' && typeof pkg.version === 'string') {
        found.push({ name: pkg.name, version: pkg.version, where: pkgDir });
      }
    } catch {
      // Not a package (no or broken package.json): nothing to check here.
    }
    visitModules(join(pkgDir, 'node_modules'));
  };

  /** @param {string} modulesDir */
  const visitModules = (modulesDir) => {
    let entries;
    try {
      entries = readdirSync(modulesDir);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.startsWith('.')) continue; // .bin, .package-lock.json, .cache
      const path = join(modulesDir, entry);
      if (entry.startsWith('@')) {
        let scoped;
        try {
          scoped = readdirSync(path);
        } catch {
          continue;
        }
        for (const name of scoped) visitPackage(join(path, name));
      } else if (isDirectory(path)) {
        visitPackage(path);
      }
    }
  };

  visitModules(join(dir, 'node_modules'));
  return found;
}

/** @param {string} path */
function isDirectory(path) {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Every package recorded in a package-lock.json (lockfileVersion 2 or 3).
 * @param {string} lockfile
 * @returns {Found[]}
 */
export function findLocked(lockfile) {
  const lock =
    /** @type {{ packages?: Record<string, { name?: string, version?: string, link?: boolean }> }} */ (
      JSON.parse(readFileSync(lockfile, 'utf8'))
    );
  /** @type {Found[]} */
  const found = [];
  for (const [key, entry] of Object.entries(lock.packages ?? {})) {
    if (key === '' || entry.link || typeof entry.version !== 'string') continue;
    const i = key.lastIndexOf('node_modules/');
    const name = entry.name ?? (i >= 0 ? key.slice(i + 'node_modules/'.length) : key);
    found.push({ name, version: entry.version, where: `package-lock.json: ${key}` });
  }
  return found;
}

/**
 * @param {readonly Found[]} packages
 * @param {Readonly<Record<string, readonly string[]>>} floors
 * @returns {Violation[]}
 */
export function checkPackages(packages, floors) {
  /** @type {Violation[]} */
  const violations = [];
  for (const p of packages) {
    const min = floors[p.name];
    if (!min) continue;
    const reason = floorViolation(p.version, min);
    if (reason) violations.push({ ...p, reason });
  }
  return violations;
}

/** @param {string} projectDir */
function main(projectDir) {
  const installed = findInstalled(projectDir);
  let locked = /** @type {Found[]} */ ([]);
  try {
    locked = findLocked(join(projectDir, 'package-lock.json'));
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'ENOENT') throw err;
  }
  if (installed.length === 0) {
    console.error('check-deps: no node_modules found; run `npm ci` first');
    return 1;
  }
  const violations = checkPackages([...installed, ...locked], FLOORS);
  if (violations.length > 0) {
    for (const v of violations) {
      console.error(`check-deps: ${v.name}@${v.version} ${v.reason} (${v.where})`);
    }
    return 1;
  }
  const summary = Object.keys(FLOORS)
    .map((name) => {
      const versions = [...new Set(installed.filter((p) => p.name === name).map((p) => p.version))];
      return `${name} ${versions.length ? versions.join('/') : '(absent)'}`;
    })
    .join(', ');
  console.log(`check-deps: ok (${summary})`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(resolve(process.argv[2] ?? '.'));
}

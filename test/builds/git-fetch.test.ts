// The node-side git fetch against a real git smart-HTTP server: branches, tags, commits, basic
// auth, and hostile inputs (B2: refused before git runs; B3: no hook runs, no submodule is
// fetched, nothing is read outside the checkout).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchGitSource, type GitFetchOptions } from '../../agent/builds/git-fetch.js';
import { BuildFailure } from '../../agent/builds/types.js';
import { startGitServer, type GitServer } from '../support/git-server.js';

const execFileAsync = promisify(execFile);

let server: GitServer;
let privateServer: GitServer;
let base: string;
let n = 0;

beforeAll(async () => {
  server = await startGitServer();
  privateServer = await startGitServer({ auth: { username: 'dev', password: 's3cr3t-Pa55word' } });
  base = await mkdtemp(join(tmpdir(), 'slipway-git-fetch-'));
});

afterAll(async () => {
  await server?.close();
  await privateServer?.close();
  await rm(base, { recursive: true, force: true });
});

async function fetchInto(
  uri: string,
  extra: Partial<GitFetchOptions> = {},
): Promise<{ dir: string; lines: string[]; revision: Awaited<ReturnType<typeof fetchGitSource>> }> {
  n += 1;
  const dir = join(base, `w${n}`, 'src');
  const scratch = join(base, `w${n}`, 'scratch');
  await mkdir(scratch, { recursive: true });
  const lines: string[] = [];
  const revision = await fetchGitSource({
    uri,
    dir,
    scratch,
    allowFile: false,
    timeoutMs: 30_000,
    maxBytes: 50 * 1024 * 1024,
    signal: new AbortController().signal,
    log: (l) => lines.push(l),
    ...extra,
  });
  return { dir, lines, revision };
}

async function failure(promise: Promise<unknown>): Promise<BuildFailure> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof BuildFailure) return err;
    throw err;
  }
  throw new Error('expected the fetch to fail');
}

describe('git source', () => {
  it('fetches the default branch shallowly and records the commit', async () => {
    const first = await server.createRepo('app', { 'index.html': 'v1\n' }, { message: 'First' });
    const second = await server.commit(
      'app',
      { 'index.html': 'v2\n' },
      {
        message: 'Second change\n\nwith a body',
        author: { name: 'Ada Lovelace', email: 'ada@example.com' },
      },
    );
    const { dir, lines, revision } = await fetchInto(server.repoUrl('app'));
    expect(await readFile(join(dir, 'index.html'), 'utf8')).toBe('v2\n');
    expect(revision).toMatchObject({
      commit: second,
      author: { name: 'Ada Lovelace', email: 'ada@example.com' },
      committer: { name: 'Test Committer', email: 'committer@example.com' },
      message: 'Second change\n\nwith a body',
      date: '2024-05-06T07:08:09+00:00',
    });
    // Shallow: the first commit is not there.
    const { stdout } = await execFileAsync('git', ['-C', dir, 'cat-file', '-t', first]).catch(
      (e: { stdout?: string }) => ({ stdout: e.stdout ?? 'missing' }),
    );
    expect(stdout).not.toContain('commit');
    expect(lines[0]).toBe(`Cloning "${server.repoUrl('app')}" ...`);
    expect(lines.join('\n')).toContain(`Commit:\t${second.slice(0, 7)} (Second change)`);
  });

  it('fetches a branch, a tag and a commit by id', async () => {
    const main1 = await server.createRepo('refs', { 'f.txt': 'main-1\n' });
    const tagged = await server.commit('refs', { 'f.txt': 'tagged\n' }, { tag: 'v1.0' });
    await server.commit('refs', { 'f.txt': 'main-3\n' });
    const dev = await server.commit('refs', { 'f.txt': 'dev\n' }, { branch: 'dev' });
    const byBranch = await fetchInto(server.repoUrl('refs'), { ref: 'dev' });
    expect(byBranch.revision.commit).toBe(dev);
    const byTag = await fetchInto(server.repoUrl('refs'), { ref: 'v1.0' });
    expect(byTag.revision.commit).toBe(tagged);
    expect(await readFile(join(byTag.dir, 'f.txt'), 'utf8')).toBe('tagged\n');
    const byCommit = await fetchInto(server.repoUrl('refs'), { ref: main1 });
    expect(byCommit.revision.commit).toBe(main1);
    expect(await readFile(join(byCommit.dir, 'f.txt'), 'utf8')).toBe('main-1\n');
  });

  it('uses basic-auth credentials without putting them in the URL or the log', async () => {
    await privateServer.createRepo('private', { 'secret.txt': 'private content\n' });
    const uri = privateServer.repoUrl('private');
    const err = await failure(fetchInto(uri));
    expect(err.reason).toBe('FetchSourceFailed');
    const { dir, lines } = await fetchInto(uri, {
      credentials: { basic: { username: 'dev', password: 's3cr3t-Pa55word' } },
    });
    expect(await readFile(join(dir, 'secret.txt'), 'utf8')).toBe('private content\n');
    expect(lines.join('\n')).not.toContain('s3cr3t');
    const config = await readFile(join(dir, '.git', 'config'), 'utf8');
    expect(config).not.toContain('s3cr3t');
    expect(config).toContain(`url = ${uri}`);
  });

  it('reports an unreachable or missing repository as FetchSourceFailed', async () => {
    const missing = await failure(fetchInto(`${server.url}/no-such-repo.git`));
    expect(missing.reason).toBe('FetchSourceFailed');
    expect(missing.message).toMatch(/failed to fetch ".*no-such-repo.git": .*(not found|404)/i);
    const refused = await failure(fetchInto('http://127.0.0.1:1/app.git'));
    expect(refused.reason).toBe('FetchSourceFailed');
    expect(refused.message).toMatch(/Failed to connect|Connection refused|Couldn't connect/i);
    const badRef = await failure(fetchInto(server.repoUrl('app'), { ref: 'no-such-branch' }));
    expect(badRef.message).toMatch(/no-such-branch/);
  });

  it('stops at the size limit', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
    await server.createRepo('big', { 'blob.bin': big.toString('latin1') });
    const err = await failure(fetchInto(server.repoUrl('big'), { maxBytes: 1024 * 1024 }));
    expect(err.reason).toBe('FetchSourceFailed');
    expect(err.message).toContain('larger than the limit of 1.0 MiB');
  });
});

describe('B2: hostile URIs and refs are refused before git runs', () => {
  const sentinel = (): string => join(base, 'b2-sentinel');

  it('a payload that would run (control)', async () => {
    // The same ext:: payload does run when git is allowed the ext transport: the sentinel is
    // a real witness.
    const dir = await mkdtemp(join(base, 'control-'));
    await execFileAsync(
      'git',
      ['-c', 'protocol.ext.allow=always', 'clone', `ext::sh -c touch% ${sentinel()}`, 'x'],
      { cwd: dir },
    ).catch(() => undefined);
    expect(existsSync(sentinel())).toBe(true);
    await rm(sentinel(), { force: true });
  });

  const fill = (template: string): string =>
    template.replaceAll('SENTINEL', sentinel()).replaceAll('REPO', server.repoUrl('app'));

  const uris = [
    'ext::sh -c touch% SENTINEL',
    '--upload-pack=touch SENTINEL',
    '-u touch SENTINEL REPO',
    '-c protocol.ext.allow=always',
    '--config=core.sshCommand=touch SENTINEL',
    'ssh://-oProxyCommand=touch%20SENTINEL/x',
    'fd::17',
    'file:///etc',
    '/etc',
  ];
  for (const uri of uris) {
    it(`refuses uri ${uri}`, async () => {
      n += 1;
      const dir = join(base, `b2-${n}`);
      const err = await failure(fetchInto(fill(uri), { dir }));
      expect(err.reason).toBe('FetchSourceFailed');
      expect(err.message).toMatch(/^refusing the git source: spec\.source\.git\.uri: /);
      expect(existsSync(dir)).toBe(false); // git never ran: not even `git init`
      expect(existsSync(sentinel())).toBe(false);
    });
  }

  const refs = [
    '--upload-pack=touch SENTINEL',
    '-ufoo',
    '--config=x',
    'main:refs/heads/x',
    'main..other',
    'ext::sh',
  ];
  for (const ref of refs) {
    it(`refuses ref ${ref}`, async () => {
      n += 1;
      const dir = join(base, `b2r-${n}`);
      const err = await failure(fetchInto(server.repoUrl('app'), { dir, ref: fill(ref) }));
      expect(err.message).toMatch(/^refusing the git source: spec\.source\.git\.ref: /);
      expect(existsSync(dir)).toBe(false);
      expect(existsSync(sentinel())).toBe(false);
    });
  }
});

describe('B3: hostile repositories', () => {
  it('runs no hook, even where the host git configuration would install one', async () => {
    // A host whose git would run a post-checkout hook from its global configuration's
    // template directory and hooksPath: plain git runs it (control), the build's fetch not.
    const home = await mkdtemp(join(base, 'home-'));
    const hooks = join(home, 'hooks');
    const template = join(home, 'template');
    await mkdir(join(template, 'hooks'), { recursive: true });
    await mkdir(hooks, { recursive: true });
    const sentinel = join(base, 'b3-hook-sentinel');
    const hook = `#!/bin/sh\ntouch ${sentinel}\n`;
    await writeFile(join(hooks, 'post-checkout'), hook, { mode: 0o755 });
    await writeFile(join(template, 'hooks', 'post-checkout'), hook, { mode: 0o755 });
    await writeFile(
      join(home, '.gitconfig'),
      `[init]\n\ttemplateDir = ${template}\n[core]\n\thooksPath = ${hooks}\n`,
    );
    await server.createRepo('hooked', { 'a.txt': 'a\n' });
    const controlDir = await mkdtemp(join(base, 'control-'));
    await execFileAsync('git', ['clone', '-q', server.repoUrl('hooked'), 'x'], {
      cwd: controlDir,
      env: { PATH: process.env.PATH, HOME: home },
    });
    expect(existsSync(sentinel)).toBe(true);
    await rm(sentinel);

    const saved = { HOME: process.env.HOME, GIT_TEMPLATE_DIR: process.env.GIT_TEMPLATE_DIR };
    process.env.HOME = home;
    process.env.GIT_TEMPLATE_DIR = template;
    try {
      const { dir } = await fetchInto(server.repoUrl('hooked'));
      expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('a\n');
      expect(await readdir(join(dir, '.git', 'hooks')).catch(() => [])).toEqual([]);
    } finally {
      process.env.HOME = saved.HOME;
      if (saved.GIT_TEMPLATE_DIR === undefined) delete process.env.GIT_TEMPLATE_DIR;
      else process.env.GIT_TEMPLATE_DIR = saved.GIT_TEMPLATE_DIR;
    }
    expect(existsSync(sentinel)).toBe(false);
  });

  it('does not fetch submodules', async () => {
    await server.createRepo('sub', { 'inner.txt': 'submodule content\n' });
    await server.createRepo('outer', { 'main.txt': 'outer\n' });
    await server.modify('outer', async (run) => {
      await run(
        '-c',
        'protocol.file.allow=always',
        'submodule',
        'add',
        '-q',
        server.repoUrl('sub'),
        'vendor/sub',
      );
      await run('commit', '-q', '-m', 'Add a submodule');
    });
    const before = server.requests.length;
    const { dir } = await fetchInto(server.repoUrl('outer'));
    expect(await readFile(join(dir, '.gitmodules'), 'utf8')).toContain('vendor/sub');
    expect(existsSync(join(dir, 'vendor', 'sub', 'inner.txt'))).toBe(false);
    const fetched = server.requests.slice(before);
    expect(fetched.some((p) => p.startsWith('/outer.git/'))).toBe(true);
    expect(fetched.filter((p) => p.startsWith('/sub.git'))).toEqual([]);
  });
});

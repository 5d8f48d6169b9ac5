// A git server for tests: `git http-backend` (git's own smart-HTTP CGI) behind a node http
// server on 127.0.0.1, with optional basic auth, serving repositories made from fixture
// directories with real commits. It records every request path, so a test can show what a
// client did (or did not) fetch.
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface GitServerOptions {
  /** Require `Authorization: Basic` with these credentials. */
  auth?: { username: string; password: string };
}

export interface CommitOptions {
  message?: string;
  author?: { name: string; email: string };
  /** ISO date for author and committer. */
  date?: string;
}

export interface GitServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Bare repositories live here (`NAME.git`). */
  root: string;
  /** Request paths (with query) in order. */
  requests: string[];
  /** `URL/NAME.git` */
  repoUrl(name: string): string;
  /** Creates `NAME.git` from a directory's files (one commit); returns the commit id. */
  createRepo(
    name: string,
    files: string | Record<string, string>,
    options?: CommitOptions,
  ): Promise<string>;
  /** Adds a commit to `NAME.git` on `branch` (default main) with these files changed. */
  commit(
    name: string,
    files: Record<string, string | { symlink: string }>,
    options?: CommitOptions & { branch?: string; tag?: string },
  ): Promise<string>;
  /** Runs git in a clone of `NAME.git` (for unusual set-ups, e.g. submodules), then pushes. */
  modify(
    name: string,
    script: (run: (...args: string[]) => Promise<string>, dir: string) => Promise<void>,
  ): Promise<string>;
  close(): Promise<void>;
}

const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: tmpdir(),
};

async function git(cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await execFileAsync(
    'git',
    ['-c', 'protocol.file.allow=always', '-c', 'init.defaultBranch=main', ...args],
    { cwd, env: { ...GIT_ENV, ...env }, maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout.trim();
}

function identity(options: CommitOptions = {}): Record<string, string> {
  const author = options.author ?? { name: 'Test Author', email: 'author@example.com' };
  const date = options.date ?? '2024-05-06T07:08:09Z';
  return {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: 'Test Committer',
    GIT_COMMITTER_EMAIL: 'committer@example.com',
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
  };
}

/** Runs `git http-backend` for one request. */
function serveCgi(
  root: string,
  req: IncomingMessage,
  res: ServerResponse,
  user: string | undefined,
): void {
  const url = new URL(req.url ?? '/', 'http://git');
  const child = spawn('git', ['http-backend'], {
    env: {
      ...GIT_ENV,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
      HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
      GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
      REMOTE_ADDR: req.socket.remoteAddress ?? '',
      ...(user ? { REMOTE_USER: user } : {}),
    },
  });
  req.pipe(child.stdin);
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    let end = head.indexOf('\r\n\r\n');
    let sep = 4;
    if (end === -1) {
      end = head.indexOf('\n\n');
      sep = 2;
    }
    if (end === -1) return;
    headersDone = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const k = line.slice(0, i).trim();
      const v = line.slice(i + 1).trim();
      if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
      else headers[k] = v;
    }
    res.writeHead(status, headers);
    res.write(head.subarray(end + sep));
  });
  child.stdout.on('end', () => {
    if (!headersDone) res.writeHead(500);
    res.end();
  });
  child.on('error', () => {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
  child.stderr.resume();
}

export async function startGitServer(options: GitServerOptions = {}): Promise<GitServer> {
  const root = await mkdtemp(join(tmpdir(), 'slipway-git-'));
  const work = join(root, '.work');
  await mkdir(work);
  const requests: string[] = [];
  const expected = options.auth
    ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`
    : undefined;
  const server = createServer((req, res) => {
    requests.push(req.url ?? '/');
    if (expected && req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' }).end('unauthorized\n');
      return;
    }
    serveCgi(root, req, res, options.auth?.username);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const bare = (name: string): string => join(root, `${name}.git`);

  const withClone = async (
    name: string,
    fn: (dir: string) => Promise<void>,
    branch = 'main',
  ): Promise<string> => {
    const dir = await mkdtemp(join(work, 'clone-'));
    try {
      await git(dir, ['clone', '-q', bare(name), '.']);
      const branches = await git(dir, ['branch', '-r']);
      if (branches.includes(`origin/${branch}`)) await git(dir, ['checkout', '-q', branch]);
      else await git(dir, ['checkout', '-q', '-b', branch]);
      await fn(dir);
      await git(dir, ['push', '-q', '--tags', 'origin', `HEAD:refs/heads/${branch}`]);
      return await git(dir, ['rev-parse', 'HEAD']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  const writeFiles = async (
    dir: string,
    files: Record<string, string | { symlink: string }>,
  ): Promise<void> => {
    const { symlink } = await import('node:fs/promises');
    for (const [path, content] of Object.entries(files)) {
      const target = join(dir, path);
      await mkdir(join(target, '..'), { recursive: true });
      await rm(target, { force: true });
      if (typeof content === 'string') {
        await writeFile(target, content, { mode: path.includes('/bin/') ? 0o755 : 0o644 });
      } else {
        await symlink(content.symlink, target);
      }
    }
  };

  const self: GitServer = {
    url,
    root,
    requests,
    repoUrl: (name) => `${url}/${name}.git`,
    async createRepo(name, files, commitOptions = {}) {
      const dir = await mkdtemp(join(work, 'init-'));
      try {
        if (typeof files === 'string')
          await cp(files, dir, { recursive: true, verbatimSymlinks: true });
        else await writeFiles(dir, files);
        await git(dir, ['init', '-q']);
        await git(dir, ['add', '-A']);
        await git(
          dir,
          ['commit', '-q', '-m', commitOptions.message ?? 'Initial commit'],
          identity(commitOptions),
        );
        await git(root, ['clone', '-q', '--bare', dir, bare(name)]);
        return await git(dir, ['rev-parse', 'HEAD']);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    async commit(name, files, commitOptions = {}) {
      return withClone(
        name,
        async (dir) => {
          await writeFiles(dir, files);
          await git(dir, ['add', '-A']);
          await git(
            dir,
            ['commit', '-q', '-m', commitOptions.message ?? 'Change'],
            identity(commitOptions),
          );
          if (commitOptions.tag) await git(dir, ['tag', commitOptions.tag]);
        },
        commitOptions.branch,
      );
    },
    async modify(name, script) {
      return withClone(name, (dir) => script((...args) => git(dir, args, identity()), dir));
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
  return self;
}

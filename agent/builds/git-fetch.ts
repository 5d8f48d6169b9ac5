/**
 * Fetches a build's git source on the node with simple-git, treating the repository as hostile:
 *
 * - the URI and ref are checked again (src/api/git-source.ts) before git runs, so nothing can be
 *   read as an option or a remote helper (B2); `file://` and local paths only when the agent is
 *   configured to allow them;
 * - one commit, shallow: `git init` with an empty template directory, then `git fetch --depth=1`
 *   of the ref (a branch, a tag or a commit; HEAD when none) and a detached checkout. No tags, no
 *   submodules (never fetched), hooks disabled (`core.hooksPath=/dev/null`), the host's system and
 *   global git configuration ignored, `protocol.allow` limited to http, https, ssh and git;
 * - no prompt (`GIT_TERMINAL_PROMPT=0`), a time limit and a size limit on what lands on disk;
 * - credentials only through the helper and environment of git-auth.ts.
 *
 * Failures are BuildFailure('FetchSourceFailed') with git's own words, credentials removed.
 */
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { checkGitRef, checkGitUri, redactCredentials } from '../../src/api/git-source.js';
import { prepareGitAuth, type GitCredentials } from './git-auth.js';
import { BuildFailure, type BuiltRevision } from './types.js';

export const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface GitFetchOptions {
  uri: string;
  ref?: string | undefined;
  /** Where the checkout goes (created, must be empty). */
  dir: string;
  /** A private directory for git's home, template and credential files. */
  scratch: string;
  credentials?: GitCredentials | undefined;
  allowFile: boolean;
  timeoutMs: number;
  /** Most bytes the checkout (with its .git) may take. */
  maxBytes: number;
  signal: AbortSignal;
  /** A line for the build log (already free of credentials). */
  log: (line: string) => void;
}

/** Settings on every git command: no hooks, no submodules, only network protocols. */
export function hardeningConfig(allowFile: boolean): string[] {
  return [
    'core.hooksPath=/dev/null',
    'core.fsmonitor=false',
    'protocol.allow=never',
    'protocol.http.allow=always',
    'protocol.https.allow=always',
    'protocol.ssh.allow=always',
    'protocol.git.allow=always',
    `protocol.file.allow=${allowFile ? 'always' : 'never'}`,
    'submodule.recurse=false',
    'fetch.recurseSubmodules=false',
    'advice.detachedHead=false',
    'init.defaultBranch=main',
    'gc.auto=0',
    'maintenance.auto=false',
  ];
}

/** Sum of the sizes under `dir` (symlinks not followed); stops counting past `limit`. */
export async function treeSize(dir: string, limit = Number.POSITIVE_INFINITY): Promise<number> {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0 && total <= limit) {
    const d = stack.pop()!;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      continue; // vanished meanwhile (git moves temporary packs)
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        stack.push(p);
        continue;
      }
      try {
        total += (await lstat(p)).size;
      } catch {
        // vanished meanwhile
      }
    }
  }
  return total;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`;
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${Math.ceil(n / 1024)} KiB`;
}

/**
 * ssh's own words for why it could not connect or log in: git's `fatal:` line after them only
 * says it "Could not read from remote repository".
 */
const SSH_CAUSE =
  /^(ssh: |Host key verification failed|Host key for .* has changed|No \S+ host key is known for|\S+: Permission denied \()/i;

/** git's message without its noise: `fatal:`/`error:` lines and ssh's cause, or the last line. */
export function gitErrorSummary(err: unknown): string {
  const text = redactCredentials((err as Error)?.message ?? String(err));
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const important = lines.filter((l) => /^(fatal|error|remote):/i.test(l) || SSH_CAUSE.test(l));
  const chosen = important.length > 0 ? important : lines.slice(-1);
  return chosen.join('; ').slice(0, 1000) || 'git failed';
}

function isCommitId(ref: string | undefined): boolean {
  return ref !== undefined && /^[0-9a-f]{7,64}$/i.test(ref);
}

/** Parses `git log -1` in the format fetchGitSource asks for. */
export function parseRevision(text: string): BuiltRevision {
  const [commit = '', an = '', ae = '', cn = '', ce = '', date = '', ...message] = text.split('\n');
  return {
    commit: commit.trim(),
    author: { name: an, email: ae },
    committer: { name: cn, email: ce },
    date: date.trim(),
    message: message.join('\n').trim(),
  };
}

/**
 * Refuses a URI or ref git could misread, before any git command runs. BuildFailure with the
 * checks' messages.
 */
export function checkGitInput(uri: string, ref: string | undefined, allowFile: boolean): void {
  const causes = [
    ...checkGitUri(uri, 'spec.source.git.uri', { allowFile }),
    ...(ref === undefined ? [] : checkGitRef(ref, 'spec.source.git.ref')),
  ];
  if (causes.length > 0) {
    throw new BuildFailure(
      'FetchSourceFailed',
      `refusing the git source: ${causes.map((c) => `${c.field}: ${c.message}`).join('; ')}`,
    );
  }
}

/** Clones the source as described above; returns the checked-out commit. */
export async function fetchGitSource(options: GitFetchOptions): Promise<BuiltRevision> {
  const { uri, ref, dir, scratch } = options;
  checkGitInput(uri, ref, options.allowFile);
  const shown = redactCredentials(uri);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const template = join(scratch, 'empty-template');
  const home = join(scratch, 'home');
  await mkdir(template, { recursive: true, mode: 0o700 });
  await mkdir(home, { recursive: true, mode: 0o700 });
  const auth = await prepareGitAuth(options.credentials, uri, scratch);

  const controller = new AbortController();
  let stopReason: string | undefined;
  const stop = (why: string): void => {
    stopReason ??= why;
    controller.abort();
  };
  const onAbort = (): void => stop('cancelled');
  options.signal.addEventListener('abort', onAbort, { once: true });
  if (options.signal.aborted) onAbort();
  const deadline = setTimeout(
    () => stop(`the clone did not finish within ${Math.round(options.timeoutMs / 1000)} seconds`),
    options.timeoutMs,
  );
  const sizeCheck = setInterval(() => {
    void treeSize(dir, options.maxBytes).then((size) => {
      if (size > options.maxBytes) {
        stop(`the source is larger than the limit of ${formatBytes(options.maxBytes)}`);
      }
    });
  }, 500);

  const env: Record<string, string> = {
    PATH: SAFE_PATH,
    HOME: home,
    LANG: 'C',
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ALLOW_PROTOCOL: `http:https:ssh:git${options.allowFile ? ':file' : ''}`,
    ...auth.env,
  };
  const git: SimpleGit = simpleGit({
    baseDir: dir,
    binary: 'git',
    maxConcurrentProcesses: 1,
    abort: controller.signal,
    config: [...hardeningConfig(options.allowFile), ...auth.config],
    allowEnvironment: Object.keys(env),
    unsafe: {
      allowUnsafeHooksPath: true,
      allowUnsafeProtocolOverride: true,
      allowUnsafeCredentialHelper: true,
      allowUnsafeSshCommand: true,
      allowUnsafeTemplateDir: true,
      allowUnsafeConfigPaths: true,
      allowUnsafeFsMonitor: true,
    },
  }).env(env);

  options.log(`Cloning "${shown}" ...`);
  try {
    // No -q: simple-git waits 50 ms more after a command that printed nothing.
    await git.raw(['init', `--template=${template}`]);
    await git.raw(['config', 'remote.origin.url', uri]);
    const fetchArgs = ['fetch', '--no-tags', '--no-recurse-submodules'];
    try {
      await git.raw([...fetchArgs, '--depth=1', 'origin', ref ?? 'HEAD']);
      await git.raw(['checkout', '--detach', 'FETCH_HEAD']);
    } catch (err) {
      // A commit the server will not hand out by id: fetch its branches and tags, then look.
      if (!isCommitId(ref) || controller.signal.aborted) throw err;
      options.log(`Commit ${ref} cannot be fetched alone; fetching the repository's history`);
      await git.raw([
        ...fetchArgs,
        'origin',
        '+refs/heads/*:refs/remotes/origin/*',
        '+refs/tags/*:refs/tags/*',
      ]);
      await git.raw(['checkout', '--detach', `${ref}^{commit}`]);
    }
    const size = await treeSize(dir, options.maxBytes);
    if (size > options.maxBytes) {
      stop(`the source is larger than the limit of ${formatBytes(options.maxBytes)}`);
    }
    if (stopReason) throw new Error(stopReason);
    const revision = parseRevision(
      await git.raw(['log', '-1', '--format=%H%n%an%n%ae%n%cn%n%ce%n%aI%n%B']),
    );
    const subject = revision.message.split('\n')[0] ?? '';
    options.log(`\tCommit:\t${revision.commit.slice(0, 7)} (${subject})`);
    options.log(`\tAuthor:\t${revision.author.name} <${revision.author.email}>`);
    options.log(`\tDate:\t${revision.date}`);
    return revision;
  } catch (err) {
    if (stopReason === 'cancelled') throw new BuildFailure('Cancelled', 'the build was cancelled');
    const why = stopReason ?? gitErrorSummary(err);
    throw new BuildFailure('FetchSourceFailed', `failed to fetch "${shown}": ${why}`);
  } finally {
    clearTimeout(deadline);
    clearInterval(sizeCheck);
    options.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * A look at a repository's files, for builder detection: a shallow clone into a temporary
 * directory on the client's machine (what `oc new-app` does), hooks off, no submodules,
 * removed afterwards. Only the file names at the top of the context directory are returned.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize } from 'node:path';
import { CliError } from '../errors.js';

export interface RepoListing {
  files: string[];
  /** The commit the files were read from. */
  commit: string;
}

const CLONE_TIMEOUT_MS = 120_000;

/** Values git could read as an option or a remote helper are refused before git runs. */
export function checkGitArgument(field: string, value: string): void {
  if (value.startsWith('-') || /^ext::/i.test(value) || /[\0\n\r]/.test(value))
    throw new CliError(`${field} "${value}" is not a repository location git may use`);
}

export function checkContextDir(contextDir: string): string {
  const clean = normalize(contextDir).replace(/\/+$/, '');
  if (isAbsolute(contextDir) || clean === '..' || clean.startsWith('../'))
    throw new CliError(`--context-dir "${contextDir}" must be a path inside the repository`);
  return clean === '.' ? '' : clean;
}

export async function listRepositoryFiles(
  uri: string,
  ref: string | undefined,
  contextDir = '',
): Promise<RepoListing> {
  checkGitArgument('repository', uri);
  if (ref !== undefined) checkGitArgument('ref', ref);
  const context = checkContextDir(contextDir);
  const dir = await mkdtemp(join(tmpdir(), 'slipway-detect-'));
  try {
    const env = gitEnvironment(process.env);
    // Loaded only when a repository is looked at: every other command starts without it.
    const { simpleGit } = await import('simple-git');
    const git = simpleGit({
      baseDir: dir,
      timeout: { block: CLONE_TIMEOUT_MS },
      // Our own safe values for settings simple-git guards (it refuses them from callers
      // unless allowed): no hooks at all, and no `ext::` remote helper.
      config: ['core.hooksPath=/dev/null', 'protocol.ext.allow=never'],
      unsafe: { allowUnsafeHooksPath: true, allowUnsafeProtocolOverride: true },
      allowEnvironment: Object.keys(env),
    }).env(env);
    const isCommit = ref !== undefined && /^[0-9a-f]{7,40}$/i.test(ref);
    const options = ['--depth', '1', '--no-tags'];
    if (ref !== undefined && !isCommit) options.push('--branch', ref);
    try {
      if (isCommit) {
        await git.clone(uri, 'repo', ['--no-checkout']);
        await git.cwd(join(dir, 'repo')).checkout(['--quiet', ref, '--']);
      } else {
        await git.clone(uri, 'repo', options);
      }
    } catch (err) {
      const message = err instanceof Error ? err.message.split('\n').find((l) => l.trim()) : '';
      throw new CliError(
        `cannot read the repository "${redactUrl(uri)}": ${redactUrl(message ?? '')}`,
      );
    }
    const repo = simpleGit({ baseDir: join(dir, 'repo') });
    const commit = (await repo.revparse(['HEAD'])).trim();
    const files = await readdir(join(dir, 'repo', context)).catch(() => {
      throw new CliError(`--context-dir "${contextDir}" does not exist in the repository`);
    });
    return { files, commit };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What git may see of the user's environment: enough to find itself, the user's SSH agent and
 * proxies; never an editor, pager or askpass (git must not prompt). */
export function gitEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const keep = ['PATH', 'HOME', 'SSH_AUTH_SOCK', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'];
  const out: Record<string, string> = { GIT_TERMINAL_PROMPT: '0', LANG: 'C' };
  for (const key of keep) {
    const value = env[key] ?? env[key.toLowerCase()];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** A URL with any password replaced, for messages. */
export function redactUrl(text: string): string {
  return text.replace(/(\w+:\/\/[^/\s:@]+):[^@/\s]+@/g, '$1:REDACTED@');
}

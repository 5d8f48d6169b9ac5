// A git server over SSH for tests: OpenSSH's sshd as a child process on 127.0.0.1, with its own
// configuration, host key and authorized_keys in a temporary directory (nothing of the host's
// /etc/ssh is read). The git user is the user the tests run as (root in CI); a client logs in
// only with a key this server authorized, and runs `git-upload-pack` on the bare repositories
// under `root` (absolute paths in the URL, `ssh://USER@127.0.0.1:PORT/ROOT/NAME.git`), made from
// fixture files with a real commit. Setting up fails (never skips) without sshd or ssh-keygen
// (Debian's openssh-server and openssh-client).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, constants, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const SSHD = '/usr/sbin/sshd';
const SSH_KEYGEN = '/usr/bin/ssh-keygen';
const MISSING = "install Debian's openssh-server (apt-get install openssh-server openssh-client)";

const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: tmpdir(),
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
  GIT_AUTHOR_DATE: '2024-05-06T07:08:09Z',
  GIT_COMMITTER_DATE: '2024-05-06T07:08:09Z',
};

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', ['-c', 'init.defaultBranch=main', ...args], {
    cwd,
    env: GIT_ENV,
  });
  return stdout.trim();
}

/** `ROOT/NAME.git`, a bare repository with one commit of `files` (a directory or a map). */
async function createBareRepo(
  root: string,
  name: string,
  files: string | Record<string, string>,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-sshrepo-'));
  try {
    if (typeof files === 'string') {
      await cp(files, dir, { recursive: true, verbatimSymlinks: true });
    } else {
      for (const [path, content] of Object.entries(files)) {
        await mkdir(join(dir, path, '..'), { recursive: true });
        await writeFile(join(dir, path), content);
      }
    }
    await git(dir, ['init', '-q']);
    await git(dir, ['add', '-A']);
    await git(dir, ['commit', '-q', '-m', 'Initial commit']);
    await git(root, ['clone', '-q', '--bare', dir, join(root, `${name}.git`)]);
    return await git(dir, ['rev-parse', 'HEAD']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface SshKeyPair {
  /** The OpenSSH private key file's text. */
  privateKey: string;
  /** `ssh-ed25519 AAAA... COMMENT` */
  publicKey: string;
}

export interface SshGitServer {
  port: number;
  user: string;
  /** Where the bare repositories are (`NAME.git`). */
  root: string;
  /** A `known_hosts` line for this server's host key (`[127.0.0.1]:PORT ssh-ed25519 ...`). */
  knownHosts: string;
  /** `ssh://USER@127.0.0.1:PORT/ROOT/NAME.git` */
  repoUrl(name: string): string;
  /** Creates `NAME.git` with one commit of these files; returns the commit id. */
  createRepo(name: string, files: string | Record<string, string>): Promise<string>;
  /** Lets this key log in. */
  authorize(publicKey: string): Promise<void>;
  /** What sshd wrote to stderr so far (its log, `-e`). */
  log(): string;
  close(): Promise<void>;
}

/** A new ed25519 key pair without passphrase (ssh-keygen in a temporary directory). */
export async function generateKeyPair(comment = 'slipway-test'): Promise<SshKeyPair> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-sshkey-'));
  try {
    const file = join(dir, 'id_ed25519');
    await execFileAsync(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
    return {
      privateKey: await readFile(file, 'utf8'),
      publicKey: (await readFile(`${file}.pub`, 'utf8')).trim(),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function assertInstalled(): Promise<void> {
  for (const binary of [SSHD, SSH_KEYGEN, '/usr/bin/ssh']) {
    try {
      await access(binary, constants.X_OK);
    } catch {
      throw new Error(`the SSH git server needs ${binary}: ${MISSING}`);
    }
  }
}

/** Waits for `Server listening on 127.0.0.1 port N`; rejects when sshd exits or is slow. */
function waitListening(
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      finish(new Error(`sshd did not listen within ${timeoutMs} ms: ${output()}`));
    }, timeoutMs);
    const onData = (): void => {
      if (/Server listening on 127\.0\.0\.1 port/.test(output())) finish();
    };
    const onExit = (code: number | null, signal: string | null): void => {
      finish(new Error(`sshd exited (${code ?? signal}) before listening: ${output()}`));
    };
    const onError = (err: Error): void => finish(new Error(`cannot run sshd: ${err.message}`));
    function finish(err?: Error): void {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (err) reject(err);
      else resolve();
    }
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
    onData();
  });
}

export async function startSshGitServer(): Promise<SshGitServer> {
  await assertInstalled();
  const user = userInfo().username;
  const base = await mkdtemp(join(tmpdir(), 'slipway-sshd-'));
  let child: ChildProcess | undefined;
  try {
    // sshd (as root) insists on its privilege separation directory; Debian's init script
    // creates it the same way.
    if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    const hostKey = join(base, 'ssh_host_ed25519_key');
    await execFileAsync(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'host', '-f', hostKey]);
    const authorizedKeys = join(base, 'authorized_keys');
    await writeFile(authorizedKeys, '', { mode: 0o600 });
    const root = join(base, 'repos');
    await mkdir(root);
    const port = await freePort();
    const config = join(base, 'sshd_config');
    await writeFile(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${join(base, 'sshd.pid')}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        `AllowUsers ${user}`,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'AllowTcpForwarding no',
        'AllowAgentForwarding no',
        'X11Forwarding no',
        'PermitTTY no',
        'PrintMotd no',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    let stderr = '';
    const output = (): string => stderr;
    const proc = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    await waitListening(proc, output, 10_000);
    const hostPublic = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/);

    return {
      port,
      user,
      root,
      knownHosts: `[127.0.0.1]:${port} ${hostPublic[0]} ${hostPublic[1]}\n`,
      repoUrl: (name) => `ssh://${user}@127.0.0.1:${port}${join(root, `${name}.git`)}`,
      createRepo: (name, files) => createBareRepo(root, name, files),
      async authorize(publicKey) {
        const current = await readFile(authorizedKeys, 'utf8');
        await writeFile(authorizedKeys, `${current}restrict ${publicKey.trim()}\n`);
      },
      log: output,
      async close() {
        await stopChild(proc);
        await rm(base, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (child) await stopChild(child);
    await rm(base, { recursive: true, force: true });
    throw err;
  }
}

/** SIGTERM to sshd (by its PID), SIGKILL when it does not go within 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

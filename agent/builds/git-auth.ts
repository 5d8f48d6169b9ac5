/**
 * A build's source secret as git credentials, without the secret ever reaching a URL, a command
 * line, the build log or an event:
 *
 * - basic auth (`kubernetes.io/basic-auth`, or any secret with `password`): a credential helper
 *   (an inline shell function in git's config) that answers only for the repository's own
 *   protocol and host, reading the values from environment variables of the git process; a
 *   `password` alone is a token (user name `token`, as tokens ignore it);
 * - SSH (`kubernetes.io/ssh-auth`, key `ssh-privatekey`): a key file (mode 0600) in the build's
 *   workspace and GIT_SSH_COMMAND with `StrictHostKeyChecking=accept-new`, or the secret's
 *   `known_hosts` with strict checking;
 * - `ca.crt`: the CA for https (`http.sslCAInfo`).
 *
 * `secretValues` lists what the build log must never show (redaction). Pure except `writeFiles`.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Secret } from '../../src/api/index.js';
import { BuildFailure } from './types.js';

export interface GitCredentials {
  /** Basic auth for http(s). */
  basic?: { username: string; password: string };
  /** A private key for ssh. */
  sshKey?: string;
  knownHosts?: string;
  caCert?: string;
}

function decode(secret: Secret, key: string): string | undefined {
  const b64 = secret.data?.[key];
  if (b64 === undefined) return undefined;
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** What the secret offers for git; BuildFailure when it offers nothing usable. */
export function credentialsFromSecret(secret: Secret): GitCredentials {
  const name = secret.metadata.name ?? '';
  const out: GitCredentials = {};
  const username = decode(secret, 'username');
  const password = decode(secret, 'password');
  const key = decode(secret, 'ssh-privatekey');
  const knownHosts = decode(secret, 'known_hosts');
  const ca = decode(secret, 'ca.crt');
  if (password !== undefined && password !== '') {
    out.basic = { username: username || 'token', password };
  }
  if (key !== undefined && key.trim() !== '') out.sshKey = key.endsWith('\n') ? key : `${key}\n`;
  if (knownHosts !== undefined && knownHosts.trim() !== '') out.knownHosts = knownHosts;
  if (ca !== undefined && ca.trim() !== '') out.caCert = ca;
  if (!out.basic && !out.sshKey && !out.caCert) {
    throw new BuildFailure(
      'FetchSourceFailed',
      `the source secret "${name}" has none of the keys a git source can use (password, ssh-privatekey, ca.crt)`,
    );
  }
  return out;
}

/** Every secret value (and its obvious encodings) that must never be shown. */
export function secretValues(creds: GitCredentials | undefined): string[] {
  if (!creds) return [];
  const values: string[] = [];
  if (creds.basic) {
    const { username, password } = creds.basic;
    values.push(password, encodeURIComponent(password));
    values.push(Buffer.from(`${username}:${password}`).toString('base64'));
  }
  if (creds.sshKey) {
    values.push(
      ...creds.sshKey
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.length >= 16 && !l.startsWith('-----')),
    );
  }
  return values.filter((v) => v.length >= 4);
}

/** The credential helper: answers `get` for exactly the configured protocol and host. */
export const CREDENTIAL_HELPER =
  '!f() { test "$1" = get || exit 0; p=; h=; ' +
  'while IFS= read -r l && test -n "$l"; do case "$l" in protocol=*) p="${l#protocol=}";; host=*) h="${l#host=}";; esac; done; ' +
  'test "$p" = "$SLIPWAY_GIT_PROTOCOL" && test "$h" = "$SLIPWAY_GIT_HOST" || exit 0; ' +
  `printf 'username=%s\\npassword=%s\\n' "$SLIPWAY_GIT_USERNAME" "$SLIPWAY_GIT_PASSWORD"; }; f`;

export interface GitAuthSetup {
  /** `-c` settings for every git command. */
  config: string[];
  /** Environment for the git processes. */
  env: Record<string, string>;
}

/** Single-quotes a value for the shell GIT_SSH_COMMAND is run with. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Writes the files the credentials need into `dir` (mode 0600) and returns the git settings.
 * `uri` is the repository (validated before): its protocol and host bound the helper.
 */
export async function prepareGitAuth(
  creds: GitCredentials | undefined,
  uri: string,
  dir: string,
): Promise<GitAuthSetup> {
  const config: string[] = ['credential.helper=', 'credential.interactive=false'];
  const env: Record<string, string> = {};
  const ssh = [
    'ssh',
    '-F',
    '/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'ConnectTimeout=30',
  ];
  const knownHostsFile = join(dir, 'known_hosts');
  if (creds?.knownHosts) {
    await writeFile(knownHostsFile, creds.knownHosts, { mode: 0o600 });
    ssh.push('-o', 'StrictHostKeyChecking=yes');
  } else {
    ssh.push('-o', 'StrictHostKeyChecking=accept-new');
  }
  ssh.push('-o', `UserKnownHostsFile=${shellQuote(knownHostsFile)}`);
  if (creds?.sshKey) {
    const keyFile = join(dir, 'ssh-key');
    await writeFile(keyFile, creds.sshKey, { mode: 0o600 });
    await chmod(keyFile, 0o600);
    ssh.push('-i', shellQuote(keyFile));
  } else {
    ssh.push('-o', 'PasswordAuthentication=no');
  }
  env.GIT_SSH_COMMAND = ssh.join(' ');
  if (creds?.basic) {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
    if (scheme === 'http' || scheme === 'https') {
      const url = new URL(uri);
      config.push(`credential.helper=${CREDENTIAL_HELPER}`, 'credential.useHttpPath=false');
      env.SLIPWAY_GIT_PROTOCOL = scheme;
      env.SLIPWAY_GIT_HOST = url.port ? `${url.hostname}:${url.port}` : url.hostname;
      env.SLIPWAY_GIT_USERNAME = creds.basic.username;
      env.SLIPWAY_GIT_PASSWORD = creds.basic.password;
    }
  }
  if (creds?.caCert) {
    const caFile = join(dir, 'ca.crt');
    await writeFile(caFile, creds.caCert, { mode: 0o600 });
    config.push(`http.sslCAInfo=${caFile}`);
  }
  return { config, env };
}

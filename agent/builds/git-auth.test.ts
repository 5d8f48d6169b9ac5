import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { Secret } from '../../src/api/index.js';
import {
  CREDENTIAL_HELPER,
  credentialsFromSecret,
  prepareGitAuth,
  secretValues,
} from './git-auth.js';
import { BuildFailure } from './types.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function secret(type: string, data: Record<string, string>): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's' },
    type,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

let dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs = [];
});

describe('credentialsFromSecret', () => {
  it('reads basic auth, a token alone, ssh keys, known hosts and a CA', () => {
    expect(
      credentialsFromSecret(
        secret('kubernetes.io/basic-auth', { username: 'u', password: 'p4ss' }),
      ),
    ).toEqual({
      basic: { username: 'u', password: 'p4ss' },
    });
    expect(
      credentialsFromSecret(secret('kubernetes.io/basic-auth', { password: 'tok3n' })).basic,
    ).toEqual({
      username: 'token',
      password: 'tok3n',
    });
    const ssh = credentialsFromSecret(
      secret('kubernetes.io/ssh-auth', {
        'ssh-privatekey': 'KEY',
        known_hosts: 'host ssh-ed25519 AAAA',
      }),
    );
    expect(ssh).toEqual({ sshKey: 'KEY\n', knownHosts: 'host ssh-ed25519 AAAA' });
    expect(credentialsFromSecret(secret('Opaque', { 'ca.crt': 'PEM' }))).toEqual({ caCert: 'PEM' });
  });

  it('refuses a secret with nothing git can use', () => {
    expect(() => credentialsFromSecret(secret('Opaque', { other: 'x' }))).toThrow(BuildFailure);
  });

  it('lists the values to redact, and their encodings', () => {
    const values = secretValues({ basic: { username: 'u', password: 'p@ss word' } });
    expect(values).toEqual(['p@ss word', 'p%40ss%20word', b64('u:p@ss word')]);
  });
});

describe('prepareGitAuth', () => {
  it('keeps the password out of the configuration and binds the helper to the host', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'git-auth-'));
    dirs.push(dir);
    const setup = await prepareGitAuth(
      { basic: { username: 'dev', password: 'hunter22' } },
      'https://git.example.com:8443/team/app.git',
      dir,
    );
    expect(setup.config.join('\n')).not.toContain('hunter22');
    expect(setup.config).toContain(`credential.helper=${CREDENTIAL_HELPER}`);
    expect(setup.env).toMatchObject({
      SLIPWAY_GIT_PROTOCOL: 'https',
      SLIPWAY_GIT_HOST: 'git.example.com:8443',
      SLIPWAY_GIT_USERNAME: 'dev',
      SLIPWAY_GIT_PASSWORD: 'hunter22',
    });
    expect(setup.env.GIT_SSH_COMMAND).toContain('StrictHostKeyChecking=accept-new');
  });

  it('answers git only for the configured protocol and host', async () => {
    const helper = CREDENTIAL_HELPER.slice(1); // drop git's leading '!'
    const run = async (input: string): Promise<string> => {
      // git runs "!cmd" as a shell command with the action appended.
      const child = promisify(execFile)('sh', ['-c', `${helper} get`], {
        env: {
          PATH: '/usr/bin:/bin',
          SLIPWAY_GIT_PROTOCOL: 'https',
          SLIPWAY_GIT_HOST: 'git.example.com',
          SLIPWAY_GIT_USERNAME: 'dev',
          SLIPWAY_GIT_PASSWORD: 'hunter22',
        },
      });
      child.child.stdin?.end(input);
      return (await child).stdout;
    };
    expect(await run('protocol=https\nhost=git.example.com\n\n')).toBe(
      'username=dev\npassword=hunter22\n',
    );
    expect(await run('protocol=https\nhost=evil.example.com\n\n')).toBe('');
    expect(await run('protocol=http\nhost=git.example.com\n\n')).toBe('');
  });

  it('writes an ssh key and known hosts with mode 0600 and checks host keys strictly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'git-auth-'));
    dirs.push(dir);
    const setup = await prepareGitAuth(
      { sshKey: 'PRIVATE\n', knownHosts: 'git.example.com ssh-ed25519 AAAA' },
      'git@git.example.com:team/app.git',
      dir,
    );
    expect((await stat(join(dir, 'ssh-key'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, 'ssh-key'), 'utf8')).toBe('PRIVATE\n');
    expect(setup.env.GIT_SSH_COMMAND).toContain(`-i '${join(dir, 'ssh-key')}'`);
    expect(setup.env.GIT_SSH_COMMAND).toContain('StrictHostKeyChecking=yes');
    expect(setup.env.GIT_SSH_COMMAND).not.toContain('PRIVATE');
  });
});

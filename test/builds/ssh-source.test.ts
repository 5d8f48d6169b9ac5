// A git source fetched over SSH with a `kubernetes.io/ssh-auth` source secret, on the real engine
// through a real master and agent: a real sshd (test/support/ssh-git-server.ts) that lets in only
// the key it authorized. X8: the private key is never in the build log, an event or the pod's
// status, also when the fetch fails; a wrong key and a wrong host key fail as FetchSourceFailed.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventKind, secretKind, type Event, type Secret } from '../../src/api/index.js';
import type { Cluster } from '../agent/cluster.js';
import { dockerClient } from '../support/docker.js';
import {
  generateKeyPair,
  startSshGitServer,
  type SshGitServer,
  type SshKeyPair,
} from '../support/ssh-git-server.js';
import { buildLogText, runBuildPod, startBuildEnv, type BuildEnv } from './support.js';

const docker = dockerClient();
const SITE = fileURLToPath(new URL('../fixtures/apps/static-hello/', import.meta.url));
let env: BuildEnv;
let cluster: Cluster;
let sshd: SshGitServer;
let key: SshKeyPair;
let wrongKey: SshKeyPair;
let commit: string;

beforeAll(async () => {
  sshd = await startSshGitServer();
  [key, wrongKey] = await Promise.all([generateKeyPair('authorized'), generateKeyPair('stranger')]);
  await sshd.authorize(key.publicKey);
  commit = await sshd.createRepo('site', SITE);
  env = await startBuildEnv(docker);
  cluster = env.cluster;
});

afterAll(async () => {
  await env?.close();
  await sshd?.close();
});

async function sshSecret(name: string, stringData: Record<string, string>): Promise<void> {
  await cluster.admin.create<Secret>(
    secretKind,
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: cluster.namespace },
      type: 'kubernetes.io/ssh-auth',
      stringData,
    },
    { namespace: cluster.namespace },
  );
}

/** The forms of a private key that must never be shown: the whole text and each body line. */
function keyForms(privateKey: string): string[] {
  const body = privateKey
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('-----'));
  return [privateKey.trim(), body.join(''), ...body];
}

/** The build log, the namespace's events and the pod (with its status), as one text. */
async function everythingShown(podName: string, pod: unknown): Promise<string> {
  const log = await buildLogText(cluster, podName);
  const events = await cluster.admin.list<Event>(eventKind, { namespace: cluster.namespace });
  return [log, JSON.stringify(events.items), JSON.stringify(pod)].join('\n');
}

describe('git sources over SSH', () => {
  it('fetches with the ssh-auth secret, builds and pushes, and shows the key nowhere', async () => {
    await sshSecret('git-ssh', { 'ssh-privatekey': key.privateKey });
    const uri = sshd.repoUrl('site');
    const output = `${env.registry.address}/${cluster.namespace}/ssh-site:latest`;
    const build = await runBuildPod(cluster, {
      name: 'ssh-1',
      git: { uri },
      sourceSecret: 'git-ssh',
      output,
    });
    const log = await buildLogText(cluster, 'ssh-1-build');
    expect(build.reason, `${log}\n${sshd.log()}`).toBe('Completed');
    expect(log).toContain(`Cloning "${uri}" ...`);
    expect(log).toContain(`Commit:\t${commit.slice(0, 7)} (Initial commit)`);
    expect(log).toContain('Push successful');
    expect(build.result.revision?.commit).toBe(commit);
    // sshd saw the authorized key log in (the fetch did go over SSH, with that key).
    expect(sshd.log()).toMatch(/Accepted publickey for \S+ from 127\.0\.0\.1/);

    const shown = await everythingShown('ssh-1-build', build.pod);
    for (const form of keyForms(key.privateKey)) expect(shown).not.toContain(form);
    const image = await docker.getImage(output).inspect();
    expect(JSON.stringify(image.Config)).not.toContain(key.privateKey.trim());
  });

  it('fails with FetchSourceFailed for a key the server does not know, without showing it', async () => {
    await sshSecret('git-ssh-wrong', { 'ssh-privatekey': wrongKey.privateKey });
    const uri = sshd.repoUrl('site');
    const build = await runBuildPod(cluster, {
      name: 'ssh-2',
      git: { uri },
      sourceSecret: 'git-ssh-wrong',
    });
    const log = await buildLogText(cluster, 'ssh-2-build');
    expect(build.reason, log).toBe('FetchSourceFailed');
    expect(build.exitCode).not.toBe(0);
    expect(build.result.message).toContain(`failed to fetch "${uri}"`);
    expect(build.result.message).toMatch(/Permission denied \(publickey/);
    expect(build.result.message).toContain('fatal: Could not read from remote repository');
    expect(log).toContain(`Cloning "${uri}" ...`);
    expect(log).toContain(`error: ${build.result.message}`);

    const shown = await everythingShown('ssh-2-build', build.pod);
    for (const form of keyForms(wrongKey.privateKey)) expect(shown).not.toContain(form);
  });

  it('fails with FetchSourceFailed when known_hosts holds another host key', async () => {
    // The right client key, but the server's host key is not the one the secret expects.
    const impostor = await generateKeyPair('impostor-host');
    const [type, blob] = impostor.publicKey.split(/\s+/);
    await sshSecret('git-ssh-pinned', {
      'ssh-privatekey': key.privateKey,
      known_hosts: `[127.0.0.1]:${sshd.port} ${type} ${blob}\n`,
    });
    const build = await runBuildPod(cluster, {
      name: 'ssh-3',
      git: { uri: sshd.repoUrl('site') },
      sourceSecret: 'git-ssh-pinned',
    });
    const log = await buildLogText(cluster, 'ssh-3-build');
    expect(build.reason, log).toBe('FetchSourceFailed');
    expect(build.result.message).toMatch(/Host key verification failed/);
    const shown = await everythingShown('ssh-3-build', build.pod);
    for (const form of keyForms(key.privateKey)) expect(shown).not.toContain(form);

    // The same secret with the server's real host key fetches.
    await sshSecret('git-ssh-known', {
      'ssh-privatekey': key.privateKey,
      known_hosts: sshd.knownHosts,
    });
    const pinned = await runBuildPod(cluster, {
      name: 'ssh-4',
      git: { uri: sshd.repoUrl('site') },
      sourceSecret: 'git-ssh-known',
    });
    expect(pinned.reason, await buildLogText(cluster, 'ssh-4-build')).toBe('Completed');
  });
});

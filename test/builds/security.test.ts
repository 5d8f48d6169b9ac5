// The security promises of builds on the real engine: X3 (no way to the node from a build, no
// Docker socket, no registry credentials), X8 (no password in the log, events or status), B1
// (hostile binary archives write nothing outside the workspace) and B3 (a hostile repository's
// symlinks never make the node read its own files into a build).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNetworkName } from '../../agent/builds/build-network.js';
import { parseBuildPod } from '../../agent/builds/build-pod.js';
import { runBuild } from '../../agent/builds/runner.js';
import { hostileArchives, makeArchive } from '../../src/util/testing/tar-archives.js';
import { BuildWorkspace } from '../../agent/builds/workspace.js';
import { BuildEngine } from '../../agent/docker/build-engine.js';
import { eventKind, secretKind, type Event, type Secret } from '../../src/api/index.js';
import { ApiError } from '../../src/api/errors.js';
import { silentLogger } from '../../src/util/logger.js';
import {
  containerStatus,
  createPod,
  getNode,
  podFor,
  sh,
  waitForPod,
  type Cluster,
} from '../agent/cluster.js';
import { dockerClient } from '../support/docker.js';
import { startGitServer, type GitServer } from '../support/git-server.js';
import { buildLogText, buildPod, runBuildPod, startBuildEnv, type BuildEnv } from './support.js';

const docker = dockerClient();
let env: BuildEnv;
let cluster: Cluster;
let git: GitServer;
let open: GitServer;
const PASSWORD = 'Sup3r-S3cret-Passw0rd!';

beforeAll(async () => {
  env = await startBuildEnv(docker);
  cluster = env.cluster;
  git = await startGitServer({ auth: { username: 'builder', password: PASSWORD } });
  await git.createRepo('private', { 'index.html': 'private site\n' });
  open = await startGitServer();
  await open.createRepo('plain', { 'index.html': 'plain site\n' });
});

afterAll(async () => {
  await git?.close();
  await open?.close();
  await env?.close();
});

describe('X8: credentials never show', () => {
  it('builds a private repository with a basic-auth secret and prints the password nowhere', async () => {
    await cluster.admin.create<Secret>(
      secretKind,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'git-auth', namespace: cluster.namespace },
        type: 'kubernetes.io/basic-auth',
        stringData: { username: 'builder', password: PASSWORD },
      },
      { namespace: cluster.namespace },
    );
    const build = await runBuildPod(cluster, {
      name: 'private-1',
      git: { uri: git.repoUrl('private') },
      sourceSecret: 'git-auth',
      output: `${env.registry.address}/${cluster.namespace}/private:latest`,
      // A build that prints its own environment: the secret is not in it either.
      env: [{ name: 'PROBE_HOSTS', value: '127.0.0.1:1' }],
    });
    const log = await buildLogText(cluster, 'private-1-build');
    expect(build.reason, log).toBe('Completed');
    expect(log).toContain('Push successful');
    const events = await cluster.admin.list<Event>(eventKind, { namespace: cluster.namespace });
    const everything = [log, JSON.stringify(events.items), JSON.stringify(build.pod)].join('\n');
    for (const form of [
      PASSWORD,
      encodeURIComponent(PASSWORD),
      Buffer.from(`builder:${PASSWORD}`).toString('base64'),
    ]) {
      expect(everything).not.toContain(form);
    }
    // The image does not carry it either.
    const image = await docker
      .getImage(`${env.registry.address}/${cluster.namespace}/private:latest`)
      .inspect();
    expect(JSON.stringify(image.Config)).not.toContain(PASSWORD);

    // Without the secret the repository cannot be fetched (the test server does check).
    const denied = await runBuildPod(cluster, {
      name: 'private-2',
      git: { uri: git.repoUrl('private') },
      output: `${env.registry.address}/${cluster.namespace}/private:latest`,
    });
    expect(denied.reason).toBe('FetchSourceFailed');
  });

  it('redacts a password that a build itself prints', async () => {
    await git.commit('private', { '.s2i/environment': `LEAKY=${PASSWORD}\n` });
    const build = await runBuildPod(cluster, {
      name: 'private-3',
      git: { uri: git.repoUrl('private') },
      sourceSecret: 'git-auth',
      env: [{ name: 'GREETING', value: `my password is ${PASSWORD}` }],
    });
    const log = await buildLogText(cluster, 'private-3-build');
    expect(build.reason, log).toBe('Completed');
    expect(log).toContain('---> GREETING=my password is *****');
    expect(log).not.toContain(PASSWORD);
  });
});

describe('X3: builds cannot reach the node', () => {
  it('has no route to the agent, the host or the Docker socket, and no registry credentials', async () => {
    const node = await getNode(cluster);
    const agentPort = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
    expect(agentPort).toBeGreaterThan(0);
    const nodeIP = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const hostIPs = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address)
      .filter((a) => !a.startsWith('172.') || a === nodeIP);
    // GATEWAY: the build network's gateway, as the build container sees it.
    const targets = [...new Set(['GATEWAY', nodeIP!, ...hostIPs])].map(
      (ip) => `${ip}:${agentPort}`,
    );

    // Control: an ordinary pod reaches the agent's port on the node.
    await createPod(
      cluster,
      podFor(cluster, 'x3-control', {
        restartPolicy: 'Never',
        containers: [
          sh(
            'probe',
            `echo | nc -w 2 ${nodeIP} ${agentPort} >/dev/null 2>&1 && echo reachable || echo unreachable`,
          ),
        ],
      }),
    );
    await waitForPod(
      cluster,
      'x3-control',
      (p) => containerStatus(p, 'probe')?.state.terminated !== undefined,
      30_000,
    );
    const control: Buffer[] = [];
    for await (const c of await cluster.admin.podLogs(cluster.namespace, 'x3-control'))
      control.push(Buffer.from(c));
    expect(Buffer.concat(control).toString().trim()).toBe('reachable');

    const build = await runBuildPod(cluster, {
      name: 'probe-1',
      git: { uri: open.repoUrl('plain') },
      env: [{ name: 'PROBE_HOSTS', value: targets.join(' ') }],
    });
    const log = await buildLogText(cluster, 'probe-1-build');
    expect(build.reason, log).toBe('Completed');
    for (const t of targets)
      expect(log).toMatch(
        new RegExp(
          `probe ${t.replaceAll('.', '\\.')} \\(\\d+\\.\\d+\\.\\d+\\.\\d+:\\d+\\) unreachable`,
        ),
      );
    expect(log).not.toMatch(/probe \S+ \(\S+\) reachable/);
    expect(log).toContain('docker.sock absent');
    expect(log).toContain('docker config absent');
    expect(log, log).toContain('no credential env');
    // The build ran on the agent's build network.
    const network = await docker.getNetwork(buildNetworkName(cluster.nodeName)).inspect();
    const gateway = (network.IPAM?.Config ?? [])[0]?.Gateway as string;
    expect(log).toContain(`probe GATEWAY:${agentPort} (${gateway}:${agentPort}) unreachable`);
  });
});

describe('B3: a hostile repository', () => {
  let outside: string;
  beforeAll(async () => {
    outside = await mkdtemp(join(tmpdir(), 'slipway-b3-'));
    await writeFile(join(outside, 'node-secret'), 'NODE-ONLY-CONTENT');
  });
  afterAll(async () => {
    await rm(outside, { recursive: true, force: true });
  });

  it('gives the builder symlinks as symlinks, never the node files they point to', async () => {
    await open.createRepo('links', {
      'index.html': 'links\n',
      leak: { symlink: join(outside, 'node-secret') },
      gitleak: { symlink: '.git/config' },
      'up/escape': { symlink: '../../../../../../../../etc/passwd' },
    } as never);
    const build = await runBuildPod(cluster, {
      name: 'links-1',
      git: { uri: open.repoUrl('links') },
      output: `${env.registry.address}/${cluster.namespace}/links:latest`,
    });
    const log = await buildLogText(cluster, 'links-1-build');
    expect(build.reason, log).toBe('Completed');
    expect(log).toContain(`leak is a link to ${join(outside, 'node-secret')}`);
    expect(log).toContain('leak unreadable');
    expect(log).not.toContain('NODE-ONLY-CONTENT');
    expect(log).not.toMatch(/www: .* \.git$/m); // .git never reaches the builder
  });

  it('refuses a context directory or S2I script that is a symlink', async () => {
    await open.createRepo('linkdirs', {
      'real/index.html': 'x\n',
      app: { symlink: outside },
      '.s2i/bin/assemble': { symlink: join(outside, 'node-secret') },
    } as never);
    const viaContext = await runBuildPod(cluster, {
      name: 'linkdir-1',
      git: { uri: open.repoUrl('linkdirs') },
      contextDir: 'app',
    });
    expect(viaContext.reason).toBe('FetchSourceFailed');
    expect(viaContext.result.message).toContain('"app" is a symbolic link');
    const viaScript = await runBuildPod(cluster, {
      name: 'linkdir-2',
      git: { uri: open.repoUrl('linkdirs') },
    });
    expect(viaScript.reason).toBe('GenericBuildFailed');
    expect(viaScript.result.message).toContain('cannot use .s2i/bin/assemble');
    const log = await buildLogText(cluster, 'linkdir-2-build');
    expect(log).not.toContain('NODE-ONLY-CONTENT');
  });
});

describe('B1: hostile binary input, through the build runner', () => {
  let base: string;
  let engine: BuildEngine;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'slipway-b1-'));
    await mkdir(join(base, 'outside'));
    engine = new BuildEngine({
      docker,
      logger: silentLogger(),
      nodeName: cluster.nodeName,
      extraLabels: cluster.labels,
    });
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  async function binaryBuild(name: string, archive: Buffer | undefined, asFile?: string) {
    const pod = buildPod(cluster, { name, binary: asFile ? { asFile } : {} });
    pod.metadata.uid = `b1-${name}`;
    const spec = parseBuildPod(pod);
    const workspace = new BuildWorkspace(join(base, 'builds'), spec.podUid);
    const outcome = await runBuild({
      spec,
      workspace,
      docker: engine,
      api: {
        secret: async () => undefined,
        configMap: async () => undefined,
        binarySource: async () => {
          if (!archive) throw new ApiError('NotFound', 'not uploaded');
          return (async function* () {
            yield archive;
          })();
        },
      },
      settings: {
        allowLocalSources: false,
        cloneTimeoutMs: 30_000,
        sourceLimitBytes: 1 << 20,
        pidsLimit: 256,
        defaultUid: 1000680000,
      },
      network: async () => ({
        name: 'none',
        id: 'none',
        bridge: 'none',
        gateway: undefined,
        subnet: undefined,
      }),
      events: { normal: () => undefined, warning: () => undefined },
      logger: silentLogger(),
      signal: new AbortController().signal,
    });
    return { outcome, workspace, log: await readFile(workspace.logPath, 'utf8') };
  }

  const names = Object.keys(hostileArchives('/x', '/o/s', '/o/v'));
  for (const name of names) {
    it(`refuses ${name}`, async () => {
      const sentinel = join(base, 'outside', 'sentinel');
      const victim = join(base, 'outside', 'victim');
      await writeFile(victim, 'original');
      const id = name.replace(/[^a-z]+/g, '-').replace(/^-|-$/g, '');
      const dir = join(base, 'builds', `b1-${id}`, 'work', 'source');
      const archive = await makeArchive(hostileArchives(dir, sentinel, victim)[name]!);
      const { outcome, log } = await binaryBuild(id, archive);
      expect(outcome.reason).toBe('FetchSourceFailed');
      expect(outcome.result.message).toMatch(/^cannot unpack the binary input: /);
      expect(log).toContain('error: cannot unpack the binary input');
      expect(existsSync(sentinel)).toBe(false);
      expect(await readFile(victim, 'utf8')).toBe('original');
    });
  }

  it('says when nothing was uploaded', async () => {
    const { outcome } = await binaryBuild('missing', undefined);
    expect(outcome.reason).toBe('FetchSourceFailed');
    expect(outcome.result.message).toBe('the binary input of build missing has not been uploaded');
  });

  it('refuses an archive beyond the source limit and one that is not a gzip tar', async () => {
    const big = await makeArchive([{ name: 'zeros', data: '\0'.repeat(2 << 20) }]);
    const tooBig = await binaryBuild('too-big', big);
    expect(tooBig.outcome.result.message).toContain('larger than the limit');
    const plain = await binaryBuild('plain', Buffer.from('not an archive at all'));
    expect(plain.outcome.result.message).toContain('not a valid gzip-compressed tar archive');
  });
});

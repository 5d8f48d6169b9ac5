// The agent's Node: registration with what the engine reports, heartbeats through /status, a
// cordon and an administrator's labels kept across restarts, re-registration after the Node is
// deleted, node events; and clear refusals when Docker does not answer or the token is wrong.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig as loadAgentConfig } from '../../agent/config.js';
import { startAgent } from '../../agent/main.js';
import { eventKind, isApiError, nodeKind, type Event, type Node } from '../../src/api/index.js';
import { clientVersion } from '../../src/cli/version.js';
import { silentLogger } from '../../src/util/logger.js';
import { slipway } from '../cli/support/slipway.js';
import { assertDockerAvailable, dockerClient } from '../support/docker.js';
import { assertAgentBuilt, eventually, getNode, startCluster, type Cluster } from './cluster.js';

const execFileAsync = promisify(execFile);

const docker = dockerClient();
let cluster: Cluster;

beforeAll(async () => {
  await assertDockerAvailable(docker);
  cluster = await startCluster(docker);
  await cluster.startAgent();
});

afterAll(async () => {
  await cluster?.close();
});

function condition(node: Node, type: string) {
  return node.status?.conditions?.find((c) => c.type === type);
}

describe('the Node', () => {
  it('is registered with what the engine reports, and Ready', async () => {
    const node = await getNode(cluster);
    const info = (await docker.info()) as {
      NCPU: number;
      MemTotal: number;
      ServerVersion: string;
      OperatingSystem: string;
      KernelVersion: string;
    };
    expect(node.metadata.labels).toMatchObject({
      'kubernetes.io/hostname': cluster.nodeName,
      'kubernetes.io/os': 'linux',
      'node-role.kubernetes.io/worker': '',
    });
    expect(node.metadata.labels?.['kubernetes.io/arch']).toMatch(
      /^(amd64|arm64|arm|386|ppc64le|s390x)$/,
    );
    expect(node.status?.capacity).toMatchObject({
      cpu: String(info.NCPU),
      memory: `${Math.floor(info.MemTotal / 1024)}Ki`,
      pods: '110',
    });
    const alloc = node.status!.allocatable!;
    expect(alloc.pods).toBe('110');
    expect(Number(alloc.cpu!.replace(/m$/, ''))).toBe(info.NCPU * 1000 - 100);
    expect(Number(alloc.memory!.replace(/Ki$/, ''))).toBeLessThan(info.MemTotal / 1024);
    // The default bridge's address on this host (the engine does not always record it).
    const bridge = (await docker.getNetwork('bridge').inspect()) as {
      Options?: Record<string, string>;
    };
    const bridgeName = bridge.Options?.['com.docker.network.bridge.name'] ?? 'docker0';
    const { stdout } = await execFileAsync('ip', ['-4', '-o', 'addr', 'show', 'dev', bridgeName]);
    const gateway = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(stdout)?.[1];
    expect(gateway).toBeDefined();
    expect(node.status?.addresses).toEqual([
      { type: 'InternalIP', address: gateway },
      { type: 'Hostname', address: cluster.nodeName },
    ]);
    expect(node.status?.nodeInfo).toMatchObject({
      kubeletVersion: `v${clientVersion()}`,
      containerRuntimeVersion: `docker://${info.ServerVersion}`,
      osImage: info.OperatingSystem,
      kernelVersion: info.KernelVersion,
      operatingSystem: 'linux',
    });
    expect(condition(node, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'KubeletReady',
      message: 'kubelet is posting ready status',
    });
    expect(condition(node, 'PIDPressure')).toMatchObject({ status: 'False' });
    for (const type of ['MemoryPressure', 'DiskPressure']) {
      expect(['True', 'False']).toContain(condition(node, type)?.status);
    }
  });

  it('heartbeats: lastHeartbeatTime moves, lastTransitionTime stays', async () => {
    const first = condition(await getNode(cluster), 'Ready')!;
    const later = await eventually(
      async () => {
        const c = condition(await getNode(cluster), 'Ready')!;
        return c.lastHeartbeatTime !== first.lastHeartbeatTime ? c : undefined;
      },
      5000,
      'a heartbeat',
    );
    expect(Date.parse(later.lastHeartbeatTime!)).toBeGreaterThan(
      Date.parse(first.lastHeartbeatTime!),
    );
    expect(later.lastTransitionTime).toBe(first.lastTransitionTime);
  });

  it("keeps a cordon and administrators' labels when the agent starts again", async () => {
    await cluster.admin.patch(nodeKind, cluster.nodeName, {
      metadata: { labels: { zone: 'a' } },
      spec: { unschedulable: true },
    });
    await cluster.stopAgent();
    await cluster.startAgent();
    const node = await getNode(cluster);
    expect(node.spec?.unschedulable).toBe(true);
    expect(node.metadata.labels).toMatchObject({
      zone: 'a',
      'kubernetes.io/hostname': cluster.nodeName,
    });
    await cluster.admin.patch(nodeKind, cluster.nodeName, { spec: { unschedulable: null } });
  });

  it('registers again when its Node is deleted', async () => {
    const uid = (await getNode(cluster)).metadata.uid;
    await cluster.admin.delete(nodeKind, cluster.nodeName);
    const again = await eventually(
      async () => {
        try {
          const n = await getNode(cluster);
          return n.metadata.uid !== uid && condition(n, 'Ready')?.status === 'True' ? n : undefined;
        } catch (err) {
          if (isApiError(err, 'NotFound')) return undefined;
          throw err;
        }
      },
      5000,
      'the Node to come back',
    );
    expect(again.metadata.labels?.['kubernetes.io/hostname']).toBe(cluster.nodeName);
  });

  it('records kubelet node events', async () => {
    const events = (
      await cluster.admin.list<Event>(eventKind, { namespace: 'default' })
    ).items.filter(
      (e) => e.involvedObject.kind === 'Node' && e.involvedObject.name === cluster.nodeName,
    );
    const said = events.map((e) => `${e.type} ${e.reason}: ${e.message}`);
    expect(said).toEqual(
      expect.arrayContaining([
        'Normal Starting: Starting slipway agent.',
        `Normal NodeReady: Node ${cluster.nodeName} status is now: NodeReady`,
      ]),
    );
  });
});

describe('refusals', () => {
  const config = (over: Record<string, string>) =>
    loadAgentConfig(
      {},
      {
        server: cluster.master.url,
        token: cluster.master.joinToken,
        nodeName: `${cluster.nodeName}-x`,
        logLevel: 'silent',
        ...over,
      },
    );

  it('will not start without a Docker engine, and says what to do', async () => {
    await expect(
      startAgent(config({ docker: 'unix:///nonexistent/docker.sock' }), silentLogger()),
    ).rejects.toThrow(
      /^the Docker engine at unix:\/\/\/nonexistent\/docker\.sock does not answer .*bash scripts\/setup-docker\.sh/,
    );
  });

  it('will not start with a token the master refuses', async () => {
    await expect(startAgent(config({ token: 'not-the-token' }), silentLogger())).rejects.toThrow(
      /refused the agent's token/,
    );
  });

  it('`slipway agent` exits 1 with the reason', async () => {
    assertAgentBuilt();
    const res = await slipway(
      [
        'agent',
        '--server',
        cluster.master.url,
        '--token',
        cluster.master.joinToken,
        '--docker',
        'unix:///nonexistent/docker.sock',
      ],
      { env: { HOME: '/nonexistent' }, timeoutMs: 20_000 },
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /^error: the Docker engine at unix:\/\/\/nonexistent\/docker\.sock does not answer \(.+\)\. Slipway runs pods on Docker: start it \(on Debian\/Ubuntu: bash scripts\/setup-docker\.sh\)\n$/,
    );
    const missing = await slipway(['agent'], { env: { HOME: '/nonexistent' } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /server: Required value: pass --server URL or set SLIPWAY_AGENT_SERVER/,
    );
  });
});

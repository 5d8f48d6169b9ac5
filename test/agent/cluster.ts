// A real master (127.0.0.1:0, temp data directory) and a real agent for the local Docker engine,
// with a node name and labels unique to the test run, so a run only ever sees and removes what it
// created. The agent runs in-process (startAgent) or as a `slipway agent` child process (to be
// killed with SIGKILL).
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { loadConfig as loadAgentConfig, type AgentOptions } from '../../agent/config.js';
import { DockerRuntime } from '../../agent/docker/runtime.js';
import { startAgent, type RunningAgent } from '../../agent/main.js';
import { removeServiceRules } from '../../agent/network/service-proxy.js';
import {
  eventKind,
  isApiError,
  nodeKind,
  podKind,
  type Container,
  type Event,
  type Node,
  type Pod,
  type PodSpec,
} from '../../src/api/index.js';
import { ApiClient } from '../../src/client/index.js';
import { silentLogger } from '../../src/util/logger.js';
import type { MasterOptions } from '../../master/config.js';
import type { RunningMaster } from '../../master/main.js';
import { ROOT, startSlipway } from '../cli/support/slipway.js';
import { afterAll, beforeAll } from 'vitest';
import {
  assertDockerAvailable,
  ensureImage,
  newTestRun,
  TEST_LABEL,
  TEST_RUN_LABEL,
} from '../support/docker.js';
import { startTestMaster } from '../support/master.js';
import { cleanupRun } from './support.js';

export { eventually } from './support.js';

/** Fast settings for tests: short heartbeat, back-off and resync. */
export const TEST_AGENT_OPTIONS: AgentOptions = {
  heartbeatInterval: 1000,
  backoffBase: 500,
  backoffMax: 4000,
  gcInterval: 2000,
  resyncInterval: 3000,
  logLevel: 'silent',
};

export interface Cluster {
  master: RunningMaster;
  admin: ApiClient;
  nodeName: string;
  runId: string;
  labels: Record<string, string>;
  /** The project the test's pods go in. */
  namespace: string;
  /** A runtime for this run's node, to look at (and exec in) what the agent created. */
  runtime: DockerRuntime;
  agent: RunningAgent | undefined;
  startAgent(options?: AgentOptions): Promise<RunningAgent>;
  stopAgent(): Promise<void>;
  /** `slipway agent ...` as a child process (needs `npm run build`). */
  spawnAgent(options?: Record<string, string>): Promise<ChildProcess>;
  close(): Promise<void>;
}

export type ClusterOptions = { master?: MasterOptions; agent?: AgentOptions; namespace?: string };

/**
 * The hooks most agent test files share: before the tests, check Docker and the pause image and
 * start a master plus an in-process agent; after them, close everything. `set` receives the
 * cluster once it runs.
 */
export function useClusterWithAgent(
  docker: Docker,
  set: (cluster: Cluster) => void,
  options: ClusterOptions = {},
): void {
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    await assertDockerAvailable(docker);
    await ensureImage('pause');
    cluster = await startCluster(docker, options);
    set(cluster);
    await cluster.startAgent();
  });
  afterAll(async () => {
    await cluster?.close();
  });
}

export async function startCluster(docker: Docker, options: ClusterOptions = {}): Promise<Cluster> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-agent-'));
  const master = await startTestMaster(dataDir, { controllers: false, ...options.master });
  const run = newTestRun();
  const nodeName = `test-${run.runId}`;
  const admin = new ApiClient({ server: master.url, token: master.adminToken });
  const namespace = options.namespace ?? `t-${run.runId.replace(/[^a-z0-9]/g, '')}`.slice(0, 40);
  await admin.createProjectRequest({ name: namespace });
  const children = new Set<ChildProcess>();
  const agentConfig = (extra: AgentOptions = {}) =>
    loadAgentConfig(
      {},
      {
        server: master.url,
        token: master.joinToken,
        nodeName,
        ...(process.env.DOCKER_HOST ? { docker: process.env.DOCKER_HOST } : {}),
        ...TEST_AGENT_OPTIONS,
        ...options.agent,
        ...extra,
        extraLabels: run.labels,
      },
    );
  const cluster: Cluster = {
    master,
    admin,
    nodeName,
    runId: run.runId,
    labels: run.labels,
    namespace,
    runtime: new DockerRuntime({ docker, logger: silentLogger(), nodeName }),
    agent: undefined,
    async startAgent(extra) {
      if (cluster.agent) throw new Error('the agent already runs');
      cluster.agent = await startAgent(agentConfig(extra), silentLogger());
      return cluster.agent;
    },
    async stopAgent() {
      const agent = cluster.agent;
      cluster.agent = undefined;
      await agent?.close();
    },
    async spawnAgent(env = {}) {
      assertAgentBuilt();
      const cfg = agentConfig();
      const child = startSlipway(['agent', '--server', master.url, '--name', nodeName], {
        env: {
          HOME: dataDir,
          SLIPWAY_AGENT_TOKEN: master.joinToken,
          SLIPWAY_AGENT_LABELS: `${TEST_LABEL}=1,${TEST_RUN_LABEL}=${run.runId}`,
          SLIPWAY_AGENT_HEARTBEAT_INTERVAL: `${cfg.heartbeatIntervalMs}ms`,
          SLIPWAY_AGENT_BACKOFF_BASE: `${cfg.backoff.baseMs}ms`,
          SLIPWAY_AGENT_BACKOFF_MAX: `${cfg.backoff.capMs}ms`,
          SLIPWAY_AGENT_GC_INTERVAL: `${cfg.gcIntervalMs}ms`,
          SLIPWAY_AGENT_RESYNC_INTERVAL: `${cfg.resyncIntervalMs}ms`,
          SLIPWAY_LOG_LEVEL: 'info',
          ...env,
        },
      });
      children.add(child);
      child.once('exit', () => children.delete(child));
      child.stdout?.resume();
      child.stderr?.resume();
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const onData = (chunk: Buffer): void => {
          out += chunk.toString();
          if (out.includes('"msg":"agent started"')) {
            child.stdout?.off('data', onData);
            resolve();
          }
        };
        child.stdout?.on('data', onData);
        child.once('exit', (code) =>
          reject(new Error(`slipway agent exited with ${code} before starting:\n${out}`)),
        );
        setTimeout(() => reject(new Error(`slipway agent did not start:\n${out}`)), 20_000);
      });
      return child;
    },
    async close() {
      await cluster.stopAgent();
      for (const child of children) child.kill('SIGKILL');
      // Agents keep their service rules when they stop (as kube-proxy): a test run removes its
      // own (best effort: test/agent/services.test.ts checks the removal itself).
      await removeServiceRules(nodeName).catch(() => false);
      await cleanupRun(docker, run.runId);
      await master.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** Fails when dist/ is older than the agent, command or shared sources the child runs. */
export function assertAgentBuilt(): void {
  const stale: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(join(ROOT, d), { withFileTypes: true })) {
      const rel = join(d, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        if (rel.split('/').includes('testing')) continue;
        const out = join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(join(ROOT, rel)).mtimeMs)
          stale.push(rel);
      }
    }
  };
  for (const dir of ['agent', 'cmd', 'src']) walk(dir);
  if (stale.length > 0) {
    throw new Error(
      `dist/ is missing or older than ${stale.slice(0, 3).join(', ')}; run "npm run build" first`,
    );
  }
}

/** A BusyBox container (the pause image has every applet) running a shell script. */
export function sh(name: string, script: string, extra: Partial<Container> = {}): Container {
  return {
    name,
    image: 'slipway/pause:1',
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', script],
    ...extra,
  };
}

/** A pod bound to the cluster's node (no scheduler needed), 1 s grace by default. */
export function podFor(
  cluster: Pick<Cluster, 'nodeName' | 'namespace'>,
  name: string,
  spec: Partial<PodSpec> & Pick<PodSpec, 'containers'>,
  bind = true,
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: cluster.namespace },
    spec: {
      terminationGracePeriodSeconds: 1,
      ...(bind ? { nodeName: cluster.nodeName } : {}),
      ...spec,
    },
  };
}

export async function createPod(cluster: Cluster, pod: Pod): Promise<Pod> {
  return cluster.admin.create<Pod>(podKind, pod, { namespace: cluster.namespace });
}

export async function getPod(cluster: Cluster, name: string): Promise<Pod | undefined> {
  try {
    return await cluster.admin.get<Pod>(podKind, name, { namespace: cluster.namespace });
  } catch (err) {
    if (isApiError(err, 'NotFound')) return undefined;
    throw err;
  }
}

/** Polls the pod until `ok` holds; fails after `timeoutMs` with what the pod last looked like. */
export async function waitForPod(
  cluster: Cluster,
  name: string,
  ok: (pod: Pod) => boolean,
  timeoutMs = 15_000,
  what = 'the pod',
): Promise<Pod> {
  const deadline = Date.now() + timeoutMs;
  let last: Pod | undefined;
  for (;;) {
    last = await getPod(cluster, name);
    if (last && ok(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last status: ${JSON.stringify(last?.status)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Records every revision of the pod `name` written from now on (a watch misses none, so states
 * that last only a moment are seen too) until stop().
 */
export async function recordPod(
  cluster: Cluster,
  name: string,
): Promise<{ revisions: Pod[]; stop(): Promise<void> }> {
  const list = await cluster.admin.list<Pod>(podKind, { namespace: cluster.namespace });
  const controller = new AbortController();
  const revisions: Pod[] = [];
  const done = (async () => {
    for await (const ev of cluster.admin.watch<Pod>(podKind, {
      namespace: cluster.namespace,
      resourceVersion: list.metadata.resourceVersion,
      signal: controller.signal,
    })) {
      if (ev.type !== 'BOOKMARK' && ev.object.metadata?.name === name) revisions.push(ev.object);
    }
  })().catch(() => undefined);
  return {
    revisions,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

export function containerStatus(
  pod: Pod,
  name: string,
): NonNullable<NonNullable<Pod['status']>['containerStatuses']>[number] | undefined {
  return pod.status?.containerStatuses?.find((s) => s.name === name);
}

export function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Events about the pod (by name and uid). */
export async function podEvents(cluster: Cluster, pod: Pod): Promise<Event[]> {
  const list = await cluster.admin.list<Event>(eventKind, { namespace: cluster.namespace });
  return list.items
    .filter(
      (e) =>
        e.involvedObject.name === pod.metadata.name &&
        (!pod.metadata.uid || e.involvedObject.uid === pod.metadata.uid),
    )
    .sort((a, b) => (a.firstTimestamp ?? '').localeCompare(b.firstTimestamp ?? ''));
}

export async function getNode(cluster: Cluster): Promise<Node> {
  return cluster.admin.get<Node>(nodeKind, cluster.nodeName);
}

/** The run's containers of one pod in Docker (all states). */
export async function podContainers(docker: Docker, uid: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`io.slipway.pod.uid=${uid}`] } });
}

export async function podVolumes(docker: Docker, uid: string): Promise<string[]> {
  const { Volumes } = await docker.listVolumes({
    filters: { label: [`io.slipway.pod.uid=${uid}`] },
  });
  return (Volumes ?? []).map((v) => v.Name);
}

// A master and a node agent's server in this process, talking over loopback HTTP as they would
// across hosts: the Node object (registered with the join token) tells the master where the
// agent listens. Pods are created through the API, bound to the node, and their containers run
// directly through the runtime (no reconciler), labelled for this run and removed by label.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../master/config.js';
import { startMaster, type RunningMaster } from '../../master/main.js';
import { joinTokenAuthenticator } from '../../agent/server/auth.js';
import {
  daemonEndpointsStatus,
  startAgentServer,
  type RunningAgentServer,
} from '../../agent/server/server.js';
import { planPod, type PodPlan } from '../../agent/pods/plan.js';
import { nodeKind, podKind, type Node, type Pod, type PodSpec } from '../../src/api/index.js';
import { ApiClient } from '../../src/client/index.js';
import { dockerClient } from '../support/docker.js';
import { cleanupRun, newRuntimeRun, type TestRun } from '../agent/support.js';

/** Everything both servers log, to check that no secret ever reaches a log. */
export class LogCapture {
  readonly lines: string[] = [];

  logger(): Logger {
    const lines = this.lines;
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    return pino({ level: 'debug' }, sink);
  }

  text(): string {
    return this.lines.join('');
  }
}

export interface LogsExecCluster {
  master: RunningMaster;
  agent: RunningAgentServer;
  run: TestRun;
  nodeName: string;
  namespace: string;
  admin: ApiClient;
  /** The node-join token's client, as an agent uses it. */
  join: ApiClient;
  logs: LogCapture;
  /** Environment for the CLI subprocess: a config logged in as admin in `namespace`. */
  env: Record<string, string>;
  /** The same with the join token. */
  joinEnv: Record<string, string>;
  close(): Promise<void>;
}

async function writeCliConfig(
  dir: string,
  name: string,
  config: Record<string, string>,
): Promise<Record<string, string>> {
  const home = join(dir, name);
  const path = join(home, '.slipway', 'config');
  await mkdir(join(home, '.slipway'), { recursive: true, mode: 0o700 });
  await writeFile(
    path,
    Object.entries(config)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}\n`)
      .join(''),
    { mode: 0o600 },
  );
  return { HOME: home, SLIPWAY_CONFIG: path };
}

export async function startLogsExecCluster(): Promise<LogsExecCluster> {
  const docker = dockerClient();
  const run = newRuntimeRun(docker);
  const nodeName = run.nodeName;
  const dir = await mkdtemp(join(tmpdir(), 'slipway-logs-exec-'));
  const logs = new LogCapture();
  const undo: (() => Promise<unknown>)[] = [
    () => rm(dir, { recursive: true, force: true }),
    () => cleanupRun(docker, run.runId),
  ];
  const close = async (): Promise<void> => {
    for (const step of undo.reverse()) await step().catch(() => undefined);
  };
  try {
    const master = await startMaster(
      loadConfig(
        {},
        {
          dataDir: join(dir, 'data'),
          listen: '127.0.0.1:0',
          storeUrl: 'memory://',
          compactionIntervalSeconds: 0,
          logLevel: 'debug',
          controllers: false,
        },
      ),
      logs.logger(),
    );
    undo.push(() => master.close());
    const agent = await startAgentServer({
      runtime: run.runtime,
      nodeName,
      listen: { host: '127.0.0.1', port: 0 },
      authenticate: joinTokenAuthenticator({ joinToken: master.joinToken, nodeName }),
      logger: logs.logger(),
    });
    undo.push(() => agent.close());

    const admin = new ApiClient({ server: master.url, token: master.adminToken });
    const join_ = new ApiClient({ server: master.url, token: master.joinToken });
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: nodeName },
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady' }],
        ...daemonEndpointsStatus(agent.port),
      },
    };
    await join_.create(nodeKind, node);

    const namespace = `logs-${run.runId.replace(/[^a-z0-9]/g, '')}`.slice(0, 40);
    await admin.createProjectRequest({ name: namespace });
    const env = await writeCliConfig(dir, 'admin', {
      server: master.url,
      token: master.adminToken,
      user: 'admin',
      project: namespace,
    });
    const joinEnv = await writeCliConfig(dir, 'node', {
      server: master.url,
      token: master.joinToken,
      user: 'system:node-bootstrap',
      project: namespace,
    });
    return {
      master,
      agent,
      run,
      nodeName,
      namespace,
      admin,
      join: join_,
      logs,
      env,
      joinEnv,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Creates a pod through the API, bound to the cluster's node unless `nodeName` says otherwise. */
export async function createPod(
  cluster: LogsExecCluster,
  name: string,
  spec: Partial<PodSpec> & Pick<PodSpec, 'containers'>,
  nodeName: string | null = cluster.nodeName,
): Promise<Pod> {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: cluster.namespace },
    spec: {
      terminationGracePeriodSeconds: 1,
      ...spec,
      ...(nodeName ? { nodeName } : {}),
    },
  };
  return cluster.admin.create(podKind, pod, { namespace: cluster.namespace });
}

/** The pod's plan as the agent would make it (the pod as the master stored it, with its uid). */
export function planFor(cluster: LogsExecCluster, pod: Pod): PodPlan {
  return planPod({ pod }, cluster.run.options);
}

/** Runs the sandbox and one instance (`attempt`) of every container; returns their IDs. */
export async function runContainers(
  cluster: LogsExecCluster,
  plan: PodPlan,
  attempt = 0,
  sandboxId?: string,
): Promise<{ sandboxId: string; ids: Record<string, string> }> {
  const runtime = cluster.run.runtime;
  const sandbox = sandboxId ?? (await runtime.runSandbox(plan, { attempt: 0 })).id;
  const ids: Record<string, string> = {};
  for (const r of plan.containers) {
    if (!r.plan) throw new Error(`container ${r.name}: ${r.error.message}`);
    const id = await runtime.createContainer(plan, r.plan, sandbox, {
      attempt,
      restartCount: attempt,
    });
    await runtime.startContainer(id);
    ids[r.name] = id;
  }
  return { sandboxId: sandbox, ids };
}

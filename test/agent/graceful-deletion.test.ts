// Graceful pod deletion through a real master and agent on the real engine: a DELETE marks a
// running pod Terminating (deletionTimestamp, deletionGracePeriodSeconds); the agent runs preStop,
// then SIGTERM, removes the containers and only then confirms, so the pod leaves the API after its
// containers. Grace 0 (`--force`) removes the object at once; the CLI waits for the rest; an agent
// that was down while a pod was Terminating finishes the job when it comes back; a node's token
// may only confirm.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isApiError, podKind, type Pod } from '../../src/api/index.js';
import { podDisplayStatus } from '../../src/api/kinds/pod.js';
import { CliHarness } from '../../src/cli/testing/harness.js';
import { ApiClient } from '../../src/client/index.js';
import { dockerClient } from '../support/docker.js';
import {
  containerStatus,
  createPod,
  eventually,
  getNode,
  getPod,
  podContainers,
  podEvents,
  podFor,
  sh,
  useClusterWithAgent,
  waitForPod,
  type Cluster,
} from './cluster.js';

const docker = dockerClient();
let cluster: Cluster;
useClusterWithAgent(docker, (c) => (cluster = c));

/**
 * An HTTP server on the host that containers call, recording which path arrived when; a
 * `/gate/NAME` request answers whether the test has opened that gate yet.
 */
let hits: { path: string; at: number }[] = [];
const gates = new Map<string, number>();
let server: Server;
let callHost: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '';
    if (path.startsWith('/gate/')) {
      res.end(gates.has(path.slice('/gate/'.length)) ? 'gate-is-open\n' : 'wait\n');
      return;
    }
    hits.push({ path, at: Date.now() });
    res.end('ok\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const node = await getNode(cluster);
  callHost = node.status!.addresses!.find((a) => a.type === 'InternalIP')!.address;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

/** A shell command calling the host's recorder with `path`. */
function call(path: string): string {
  const port = (server.address() as AddressInfo).port;
  return `printf "GET ${path} HTTP/1.0\\r\\n\\r\\n" | nc -w 2 ${callHost} ${port}`;
}

/** A shell loop that returns once the test opened gate `name`. */
function waitForGate(name: string): string {
  return `until ${call(`/gate/${name}`)} | grep -q gate-is-open; do sleep 0.2; done`;
}

/** Opens gate `name`; returns when. */
function open(name: string): number {
  const at = Date.now();
  gates.set(name, at);
  return at;
}

/**
 * A pod whose preStop hook calls /NAME/prestop and then waits for gate NAME (or a second), and
 * whose container calls /NAME/term on SIGTERM, takes a second, and exits 0.
 */
function hookedPod(name: string, grace: number, gated = false): Pod {
  const hook = `${call(`/${name}/prestop`)} >/dev/null; ${gated ? waitForGate(name) : 'sleep 1'}`;
  return podFor(cluster, name, {
    terminationGracePeriodSeconds: grace,
    containers: [
      sh(
        'app',
        `trap '${call(`/${name}/term`)} >/dev/null; sleep 1; exit 0' TERM; while :; do sleep 0.2 & wait $!; done`,
        { lifecycle: { preStop: { exec: { command: ['sh', '-c', hook] } } } },
      ),
    ],
  });
}

async function runningPod(pod: Pod): Promise<Pod> {
  const created = await createPod(cluster, pod);
  await waitForPod(cluster, pod.metadata.name!, (p) => p.status?.phase === 'Running');
  return created;
}

function pathsOf(name: string): string[] {
  return hits.filter((h) => h.path.startsWith(`/${name}/`)).map((h) => h.path);
}

async function cli(): Promise<CliHarness> {
  const harness = await CliHarness.create();
  const login = await harness.run([
    'login',
    cluster.master.url,
    '--token',
    cluster.master.adminToken,
  ]);
  expect(login.code, login.stderr).toBe(0);
  return harness;
}

describe('graceful pod deletion', () => {
  it('shows the pod Terminating until its containers are gone: preStop, then SIGTERM, then the confirmation', async () => {
    hits = [];
    const created = await runningPod(hookedPod('hooked', 20, true));
    const uid = created.metadata.uid!;

    // Every revision of the pod, and how many of its containers Docker still had when the
    // watch delivered its deletion.
    const list = await cluster.admin.list<Pod>(podKind, { namespace: cluster.namespace });
    const controller = new AbortController();
    const revisions: Pod[] = [];
    let containersAtDeletion: number | undefined;
    const watching = (async () => {
      for await (const ev of cluster.admin.watch<Pod>(podKind, {
        namespace: cluster.namespace,
        resourceVersion: list.metadata.resourceVersion,
        signal: controller.signal,
      })) {
        if (ev.object.metadata?.name !== 'hooked') continue;
        revisions.push(ev.object);
        if (ev.type === 'DELETED') {
          containersAtDeletion = (await podContainers(docker, uid)).length;
          return;
        }
      }
    })();

    const answer = (await cluster.admin.delete(podKind, 'hooked', {
      namespace: cluster.namespace,
    })) as Pod;
    const deletedAt = Date.now();
    expect(answer.metadata.deletionGracePeriodSeconds).toBe(20);
    const deadline = Date.parse(answer.metadata.deletionTimestamp!);
    expect(deadline).toBeGreaterThan(deletedAt + 18_000);
    expect(deadline).toBeLessThanOrEqual(deletedAt + 20_000);

    // Still there, Terminating, while the hook runs; the CLI says so as kubectl would.
    const terminating = (await getPod(cluster, 'hooked'))!;
    expect(terminating.metadata.deletionTimestamp).toBe(answer.metadata.deletionTimestamp);
    expect(podDisplayStatus(terminating)).toBe('Terminating');
    const harness = await cli();
    const table = await harness.run(['get', 'pods', 'hooked', '-n', cluster.namespace]);
    expect(table.stdout).toMatch(/\nhooked +\d\/1 +Terminating +0 +/);
    expect((await podContainers(docker, uid)).length).toBeGreaterThan(0);
    // The hook has been called and waits for the gate: no SIGTERM yet.
    await eventually(
      async () => (pathsOf('hooked').length > 0 ? true : undefined),
      10_000,
      'the preStop hook to run',
    );
    expect(pathsOf('hooked')).toEqual(['/hooked/prestop']);
    expect((await getPod(cluster, 'hooked'))?.metadata.deletionTimestamp).toBeDefined();
    const openedAt = open('hooked');

    await eventually(
      async () => ((await getPod(cluster, 'hooked')) === undefined ? true : undefined),
      20_000,
      'the pod to leave the API',
    );
    await watching;
    controller.abort();

    // Gone from the API only once nothing of it was left in Docker.
    expect(containersAtDeletion).toBe(0);
    expect(await podContainers(docker, uid)).toEqual([]);
    // preStop ran to its end (the gate) before SIGTERM.
    expect(pathsOf('hooked')).toEqual(['/hooked/prestop', '/hooked/term']);
    expect(hits.find((h) => h.path === '/hooked/term')!.at).toBeGreaterThanOrEqual(openedAt);
    // The watch saw MODIFIED (marked) before DELETED, and the last status before the
    // confirmation shows the container terminated by its TERM handler (exit 0).
    expect(revisions[0]!.metadata.deletionTimestamp).toBe(answer.metadata.deletionTimestamp);
    expect(revisions.at(-1)!.metadata.deletionTimestamp).toBeDefined();
    const last = revisions.at(-2)!;
    expect(containerStatus(last, 'app')?.state.terminated).toMatchObject({ exitCode: 0 });
    const events = await podEvents(cluster, created);
    expect(events.map((e) => e.reason)).toContain('Killing');
  });

  it('with grace 0 (--force) removes the object at once and the node then stops the containers', async () => {
    const forced = await runningPod(
      podFor(cluster, 'forced', { containers: [sh('app', 'exec sleep 3600')] }),
    );
    const harness = await cli();
    const r = await harness.run(['delete', 'pod', 'forced', '--force', '-n', cluster.namespace]);
    expect(r).toEqual({
      code: 0,
      stdout: 'pod "forced" force deleted\n',
      stderr:
        'Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n',
    });
    expect(await getPod(cluster, 'forced')).toBeUndefined();
    await eventually(
      async () =>
        (await podContainers(docker, forced.metadata.uid!)).length === 0 ? true : undefined,
      15_000,
      "the force-deleted pod's containers to be removed",
    );

    // The same through the query parameter of a plain DELETE.
    const query = await runningPod(
      podFor(cluster, 'by-query', { containers: [sh('app', 'exec sleep 3600')] }),
    );
    await cluster.admin.request('DELETE', `/api/v1/namespaces/${cluster.namespace}/pods/by-query`, {
      query: { gracePeriodSeconds: '0' },
    });
    expect(await getPod(cluster, 'by-query')).toBeUndefined();
    await eventually(
      async () =>
        (await podContainers(docker, query.metadata.uid!)).length === 0 ? true : undefined,
      15_000,
      "the by-query pod's containers to be removed",
    );
  });

  it('slipway delete waits until the pod is gone, unless --wait=false', async () => {
    hits = [];
    const harness = await cli();
    const waited = await runningPod(hookedPod('waited', 30));
    const r = await harness.run([
      'delete',
      'pod',
      'waited',
      '--grace-period=10',
      '-n',
      cluster.namespace,
    ]);
    expect(r).toEqual({ code: 0, stdout: 'pod "waited" deleted\n', stderr: '' });
    // Returned only once the node had stopped and removed it.
    expect(await getPod(cluster, 'waited')).toBeUndefined();
    expect(await podContainers(docker, waited.metadata.uid!)).toEqual([]);
    expect(pathsOf('waited')).toEqual(['/waited/prestop', '/waited/term']);

    const quick = await runningPod(hookedPod('quick', 30, true));
    const q = await harness.run([
      'delete',
      'pod',
      'quick',
      '--wait=false',
      '-n',
      cluster.namespace,
    ]);
    expect(q).toEqual({ code: 0, stdout: 'pod "quick" deleted\n', stderr: '' });
    // The hook waits for the gate: the pod is still there, Terminating.
    const still = await getPod(cluster, 'quick');
    expect(still?.metadata.deletionTimestamp).toBeDefined();
    expect(still?.metadata.deletionGracePeriodSeconds).toBe(30);
    open('quick');
    await eventually(
      async () => ((await getPod(cluster, 'quick')) === undefined ? true : undefined),
      20_000,
      'quick to be gone',
    );
    expect(await podContainers(docker, quick.metadata.uid!)).toEqual([]);
  });

  it('finishes a deletion that began while the agent was down, then confirms it', async () => {
    hits = [];
    const created = await runningPod(hookedPod('orphaned', 30));
    const uid = created.metadata.uid!;
    await cluster.stopAgent();
    try {
      await cluster.admin.delete(podKind, 'orphaned', { namespace: cluster.namespace });
      // Nobody stops it meanwhile: Terminating, containers running, no hook called.
      await new Promise((r) => setTimeout(r, 1500));
      expect((await getPod(cluster, 'orphaned'))?.metadata.deletionTimestamp).toBeDefined();
      expect((await podContainers(docker, uid)).filter((c) => c.State === 'running')).not.toEqual(
        [],
      );
      expect(pathsOf('orphaned')).toEqual([]);
    } finally {
      await cluster.startAgent();
    }
    await eventually(
      async () => ((await getPod(cluster, 'orphaned')) === undefined ? true : undefined),
      20_000,
      'the restarted agent to confirm the deletion',
    );
    expect(await podContainers(docker, uid)).toEqual([]);
    expect(pathsOf('orphaned')).toEqual(['/orphaned/prestop', '/orphaned/term']);
  });

  it("lets a node's token confirm a terminating pod's deletion, and nothing else", async () => {
    const node = new ApiClient({ server: cluster.master.url, token: cluster.master.joinToken });
    // Not bound to this run's node, so no agent interferes.
    const pod = await createPod(
      cluster,
      podFor(cluster, 'elsewhere', {
        nodeName: `${cluster.nodeName}-elsewhere`,
        containers: [sh('app', 'exec sleep 3600')],
      }),
    );
    const uid = pod.metadata.uid!;
    const refused = async (
      options: Parameters<ApiClient['delete']>[2],
      message: RegExp,
    ): Promise<void> => {
      const err = await node
        .delete(podKind, 'elsewhere', { namespace: cluster.namespace, ...options })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isApiError(err, 'Forbidden'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(message);
    };
    // A plain delete, a grace period, no uid: refused whatever the pod's state.
    await refused({}, /cannot delete resource "pods"/);
    await refused({ gracePeriodSeconds: 0 }, /may only confirm the deletion of a terminating pod/);
    // Confirming a pod nobody deleted.
    await refused(
      { gracePeriodSeconds: 0, preconditions: { uid } },
      /it is not terminating, so there is no deletion to confirm/,
    );
    expect(await getPod(cluster, 'elsewhere')).toBeDefined();

    await cluster.admin.delete(podKind, 'elsewhere', { namespace: cluster.namespace });
    await refused({ gracePeriodSeconds: 5, preconditions: { uid } }, /may only confirm/);
    const wrongUid = await node
      .delete(podKind, 'elsewhere', {
        namespace: cluster.namespace,
        gracePeriodSeconds: 0,
        preconditions: { uid: 'another' },
      })
      .catch((e: unknown) => e);
    expect(isApiError(wrongUid, 'Conflict')).toBe(true);
    await node.delete(podKind, 'elsewhere', {
      namespace: cluster.namespace,
      gracePeriodSeconds: 0,
      preconditions: { uid },
    });
    expect(await getPod(cluster, 'elsewhere')).toBeUndefined();
  });
});

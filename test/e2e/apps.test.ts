// The application walkthrough, as a user runs it from a fresh machine: `slipway up`,
// `new-project`, `new-app nodejs~REPO` (a git server on 127.0.0.1), the build and the first
// rollout, `expose svc`, the app answering through the router by its route host and through
// `port-forward`; `debug` running a command in an idle copy of the app; `scale` to 3 and every
// pod answering through the router; a killed container restarted and a deleted pod replaced; a
// readiness probe and 4 replicas; a new commit and the Generic webhook: a build, then a rolling
// rollout under constant load through the router with no failed request, the rollout's bounds
// (ready >= 3, total <= 5) sampled throughout (F9); `set env`; `rollout undo --to-revision`
// bringing back the first release's image and environment together; another project refused the
// host (X5); OpenShift YAML of a whole app (ImageStream, BuildConfig, DeploymentConfig, Service,
// Route, with API groups, empty statuses and nulls) applied unmodified and serving; and one app
// reaching another by its service's DNS name and ClusterIP from inside a pod.
import { readFile } from 'node:fs/promises';
import { request, Agent } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/index.js';
import { podKind } from '../../src/api/index.js';
import { routeKind, serviceKind } from '../../src/api/kinds/index.js';
import type { Route } from '../../src/api/kinds/route.js';
import type { Service } from '../../src/api/kinds/service.js';
import { dockerClient } from '../support/docker.js';
import { eventually } from '../agent/cluster.js';
import { startGitServer, type GitServer } from '../support/git-server.js';
import { collect, startPortForward, startSlipway } from '../cli/support/slipway.js';
import { getOnce } from '../support/http.js';
import { fixtureFiles } from './support/apps.js';
import { finishedBuild, startBuildStack, type BuildStack } from './support/build-stack.js';

const docker = dockerClient();
const NS = 'e2e-apps';
const OTHER_NS = 'e2e-apps-other';
const APP = 'web';
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

let stack: BuildStack;
let git: GitServer;
let routerUrl: URL;
let host: string;

interface Answer {
  status: number;
  body: string;
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 8 });

/** One GET through the router with the route's host, on a kept-alive connection. */
function viaRouter(path = '/', hostHeader = host, timeoutMs = 5000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, routerUrl),
      { agent: keepAlive, headers: { host: hostHeader }, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Asks until `predicate` holds for an answer through the router. */
async function routerAnswers(predicate: (a: Answer) => boolean, what: string): Promise<Answer> {
  return eventually(
    async () => {
      const a = await viaRouter().catch(() => undefined);
      return a && predicate(a) ? a : undefined;
    },
    120_000,
    what,
  );
}

/** The distinct pods that answer `n` requests through the router. */
async function answeringPods(n: number): Promise<Set<string>> {
  const pods = new Set<string>();
  for (let i = 0; i < n; i += 1) {
    const a = await viaRouter();
    expect(a.status).toBe(200);
    pods.add(/ on (\S+)$/m.exec(a.body)?.[1] ?? '?');
  }
  return pods;
}

function isReady(p: Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

async function appPods(): Promise<Pod[]> {
  const list = await stack.api.list<Pod>(podKind, {
    namespace: NS,
    labelSelector: `deploymentconfig=${APP}`,
  });
  return list.items;
}

/** Running, ready, not terminating pods of the app, by name. */
async function readyPods(): Promise<Pod[]> {
  return (await appPods()).filter((p) => isReady(p) && !p.metadata.deletionTimestamp);
}

async function waitRollout(revision: number, dc = APP): Promise<void> {
  // `rollout status --revision N` refuses while another revision is the latest, as kubectl's.
  await eventually(
    async () => {
      const config = await stack.get<{ status?: { latestVersion?: number } }>(['dc', dc, '-n', NS]);
      return (config.status?.latestVersion ?? 0) >= revision ? true : undefined;
    },
    240_000,
    `revision ${revision} of dc/${dc}`,
  );
  const out = await stack.ok(
    ['rollout', 'status', `dc/${dc}`, '-n', NS, '--revision', String(revision)],
    {
      timeoutMs: 300_000,
    },
  );
  expect(out).toContain(`replication controller "${dc}-${revision}" successfully rolled out`);
}

/**
 * Sends requests through the router from `workers` kept-alive clients until stopped; counts the
 * answers that were not 200 (and errors), and which bodies were seen.
 */
function startLoad(workers = 4): {
  stop(): Promise<{ ok: number; failed: string[]; bodies: Set<string> }>;
} {
  let running = true;
  let ok = 0;
  const failed: string[] = [];
  const bodies = new Set<string>();
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const a = await viaRouter('/', host, 10_000);
        if (a.status === 200) {
          ok += 1;
          bodies.add(a.body.replace(/ on \S+\n$/, ''));
        } else failed.push(`${a.status} ${a.body.slice(0, 80)}`);
      } catch (err) {
        failed.push((err as Error).message);
      }
      await sleep(10);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { ok, failed, bodies };
    },
  };
}

/** Samples the app's pods until stopped: the fewest ready and the most existing at any time. */
function startSampling(): {
  stop(): Promise<{ minReady: number; maxTotal: number; samples: number }>;
} {
  let running = true;
  let minReady = Infinity;
  let maxTotal = 0;
  let samples = 0;
  const loop = (async () => {
    while (running) {
      const pods = (await appPods()).filter(
        (p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
      );
      const live = pods.filter((p) => !p.metadata.deletionTimestamp);
      minReady = Math.min(minReady, live.filter(isReady).length);
      maxTotal = Math.max(maxTotal, live.length);
      samples += 1;
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { minReady, maxTotal, samples };
    },
  };
}

beforeAll(async () => {
  stack = await startBuildStack(docker, 'e2e-apps');
  routerUrl = new URL(stack.routerUrl);
  git = await startGitServer();
  await git.createRepo(APP, await fixtureFiles('node-web'));
  expect(await stack.ok(['new-project', NS])).toContain(`Now using project "${NS}"`);
}, 300_000);

afterAll(async () => {
  keepAlive.destroy();
  await git?.close();
  await stack?.close();
}, 120_000);

describe('the application walkthrough', () => {
  it('new-app builds and deploys the app; expose routes it through the router', async () => {
    const out = await stack.ok(['new-app', `nodejs~${git.repoUrl(APP)}`, '-n', NS]);
    expect(out).toContain('deploymentconfig.apps.openshift.io "web" created');
    expect(out).toContain('service "web" created');
    expect((await finishedBuild(stack, NS, `${APP}-1`)).status?.phase).toBe('Complete');
    await waitRollout(1);

    const pods = await stack.ok(['get', 'pods', '-n', NS]);
    expect(pods).toMatch(/^web-1-build\s+0\/1\s+Completed\s/m);
    expect(pods).toMatch(/^web-1-[a-z0-9]{5}\s+1\/1\s+Running\s/m);

    expect(await stack.ok(['expose', 'svc/web', '-n', NS])).toContain('web exposed');
    const routes = await stack.ok(['get', 'route', '-n', NS]);
    host = `${APP}-${NS}.apps.localhost`;
    expect(routes).toMatch(new RegExp(`^web\\s+${host.replaceAll('.', '\\.')}\\s`, 'm'));
    const answer = await routerAnswers((a) => a.status === 200, 'the app through the router');
    expect(answer.body).toMatch(/^Hello from node-web release one on web-1-[a-z0-9]{5}\n$/);
  }, 400_000);

  it('port-forward reaches the deployed pod from a local port', async () => {
    const forward = await startPortForward([`dc/${APP}`, ':8080', '-n', NS], stack.env);
    try {
      expect(forward.remote).toBe(8080);
      const answer = await getOnce(forward.local, { what: 'the port-forward' });
      expect(answer.code).toBe(200);
      expect(answer.body).toMatch(/^Hello from node-web release one on web-1-[a-z0-9]{5}\n$/);
    } finally {
      forward.child.kill('SIGINT');
    }
    expect((await forward.exited).code).toBe(0);
  }, 60_000);

  /** The running debug copy of the app, once there is one. */
  const runningDebugCopy = (what: string): Promise<Pod> =>
    eventually(
      async () => {
        const pods = await stack.api.list<Pod>(podKind, { namespace: NS });
        return pods.items.find(
          (p) => p.metadata.name?.startsWith(`${APP}-debug-`) && p.status?.phase === 'Running',
        );
      },
      60_000,
      what,
    );

  /** Resolves once pod `name` is gone. */
  const podGone = (name: string | undefined, what: string): Promise<true> =>
    eventually(
      async () => {
        const pods = await stack.api.list<Pod>(podKind, { namespace: NS });
        return pods.items.some((p) => p.metadata.name === name) ? undefined : true;
      },
      60_000,
      what,
    );

  it('debug runs a command in an idle copy of the app, apart from its service, then removes it', async () => {
    const child = startSlipway(
      ['debug', `dc/${APP}`, '-n', NS, '--', 'sh', '-c', 'echo debugging; sleep 2; exit 3'],
      { env: stack.env },
    );
    const exited = collect(child, { timeoutMs: 120_000 });
    const copy = await runningDebugCopy('the debug copy to run');
    // No labels: neither the service nor the replication controller counts it.
    expect(copy.metadata.labels ?? {}).toEqual({});
    expect(copy.spec?.containers[0]?.readinessProbe).toBeUndefined();
    const result = await exited;
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('debugging\n');
    expect(result.stderr).toContain(`Starting pod/${copy.metadata.name} ...`);
    expect(result.stderr).toContain('Removing debug pod ...');
    await podGone(copy.metadata.name, 'the debug copy to be gone');

    // Interrupted (Ctrl-C without a terminal), the session ends and the copy still goes.
    const waiting = startSlipway(['debug', `dc/${APP}`, '-n', NS, '--', 'sleep', '600'], {
      env: stack.env,
    });
    // Far less than the command's 600 s: only the interrupt can end it in time.
    const interrupted = collect(waiting, { timeoutMs: 90_000 });
    const second = await runningDebugCopy('the second debug copy to run');
    await sleep(500);
    waiting.kill('SIGINT');
    const ended = await interrupted;
    expect(ended.stderr).toContain('Removing debug pod ...');
    await podGone(second.metadata.name, 'the interrupted copy to be gone');
  }, 240_000);

  it('scales to 3, and all three pods answer through the router', async () => {
    await stack.ok(['scale', `dc/${APP}`, '--replicas=3', '-n', NS]);
    await eventually(
      async () => ((await readyPods()).length === 3 ? true : undefined),
      120_000,
      '3 ready pods',
    );
    const names = new Set((await readyPods()).map((p) => p.metadata.name));
    await eventually(
      async () => {
        const seen = await answeringPods(12);
        return [...names].every((n) => seen.has(n!)) ? true : undefined;
      },
      30_000,
      'every pod to answer through the router',
    );
  }, 200_000);

  it('restarts a killed container and replaces a deleted pod', async () => {
    const [victim, doomed] = await readyPods();
    const containers = await docker.listContainers({
      filters: { label: [`io.slipway.pod.uid=${victim!.metadata.uid}`] },
    });
    const app = containers.find((c) => c.Labels['io.slipway.container.name'] === APP);
    expect(app, 'the app container of the pod').toBeDefined();
    await docker.getContainer(app!.Id).kill({ signal: 'SIGKILL' });
    await eventually(
      async () => {
        const p = await stack.api.get<Pod>(podKind, victim!.metadata.name!, { namespace: NS });
        const restarts = p.status?.containerStatuses?.[0]?.restartCount ?? 0;
        return restarts >= 1 && isReady(p) ? true : undefined;
      },
      90_000,
      'the killed container to be restarted',
    );

    await stack.ok(['delete', 'pod', doomed!.metadata.name!, '-n', NS]);
    await eventually(
      async () => {
        const ready = await readyPods();
        return ready.length === 3 && ready.every((p) => p.metadata.name !== doomed!.metadata.name)
          ? true
          : undefined;
      },
      120_000,
      'the deleted pod to be replaced',
    );
  }, 300_000);

  it('rolls out a new commit from the Generic webhook with no failed request (F9)', async () => {
    // A readiness probe and 4 replicas: a configuration change, so revision 2.
    const patch = JSON.stringify([
      { op: 'replace', path: '/spec/replicas', value: 4 },
      {
        op: 'add',
        path: '/spec/template/spec/containers/0/readinessProbe',
        value: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
      },
    ]);
    await stack.ok(['patch', `dc/${APP}`, '-n', NS, '--type', 'json', '-p', patch]);
    await waitRollout(2);

    // A new release, and the webhook a git host would call.
    const server = (await fixtureFiles('node-web'))['server.js']!;
    await git.commit(APP, { 'server.js': server.replace("'one'", "'two'") }, { message: 'Two' });
    const bc = await stack.get<{
      spec: { triggers: { type: string; generic?: { secret?: string } }[] };
    }>(['bc', APP, '-n', NS]);
    const secret = bc.spec.triggers.find((t) => t.type === 'Generic')?.generic?.secret;
    expect(secret).toBeTruthy();

    const load = startLoad();
    const sampling = startSampling();
    const hook = await fetch(
      `${stack.server}/apis/build.openshift.io/v1/namespaces/${NS}/buildconfigs/${APP}/webhooks/${secret}/generic`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
    );
    expect(hook.status).toBeLessThan(300);
    expect((await finishedBuild(stack, NS, `${APP}-2`)).status?.phase).toBe('Complete');
    await waitRollout(3);
    // The rollout is complete: every answer now comes from release two.
    await routerAnswers((a) => a.body.includes('release two'), 'release two');
    const bounds = await sampling.stop();
    const traffic = await load.stop();

    expect(traffic.failed, `failed requests during the rollout`).toEqual([]);
    expect(traffic.ok).toBeGreaterThan(50);
    expect(traffic.bodies).toEqual(
      new Set(['Hello from node-web release one', 'Hello from node-web release two']),
    );
    expect(bounds.samples).toBeGreaterThan(10);
    expect(bounds.minReady).toBeGreaterThanOrEqual(3);
    expect(bounds.maxTotal).toBeLessThanOrEqual(5);
    expect(await answeringPods(8)).toSatisfy((s: Set<string>) =>
      [...s].every((n) => n.startsWith(`${APP}-3-`)),
    );
  }, 600_000);

  it('rollout undo brings back an earlier release: its image and its environment together', async () => {
    await stack.ok(['set', 'env', `dc/${APP}`, 'GREETING=Howdy', '-n', NS]);
    await waitRollout(4);
    await routerAnswers((a) => a.body.startsWith('Howdy from node-web release two'), 'Howdy, two');

    const history = await stack.ok(['rollout', 'history', `dc/${APP}`, '-n', NS]);
    expect(history).toMatch(/^REVISION\s+STATUS\s+CAUSE/m);
    expect(history).toMatch(/^4\s+Complete\s/m);

    await stack.ok(['rollout', 'undo', `dc/${APP}`, '--to-revision=2', '-n', NS]);
    await waitRollout(5);
    const seen = new Set<string>();
    for (let i = 0; i < 8; i += 1) seen.add((await viaRouter()).body.replace(/ on \S+\n$/, ''));
    expect(seen).toEqual(new Set(['Hello from node-web release one']));
  }, 400_000);

  it('another project cannot take the host (X5)', async () => {
    await stack.ok(['new-project', OTHER_NS]);
    await stack.ok(['create', '-n', OTHER_NS, '-f', '-'], {
      stdin: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'thief' },
        spec: { ports: [{ port: 8080 }], selector: { app: 'thief' } },
      }),
    });
    await stack.ok(['expose', 'svc/thief', '--hostname', host, '-n', OTHER_NS]);
    const route = await eventually(
      async () => {
        const r = await stack.api.get<Route>(routeKind, 'thief', { namespace: OTHER_NS });
        const admitted = r.status?.ingress?.[0]?.conditions?.find((c) => c.type === 'Admitted');
        return admitted ? r : undefined;
      },
      30_000,
      'the second route to be judged',
    );
    const admitted = route.status!.ingress![0]!.conditions!.find((c) => c.type === 'Admitted')!;
    expect(admitted).toMatchObject({ status: 'False', reason: 'HostAlreadyClaimed' });
    expect((await viaRouter()).body).toMatch(/^Hello from node-web release one/);
  }, 120_000);

  it('serves an app applied from OpenShift YAML as users write it (groups, status, nulls)', async () => {
    const ns = 'e2e-apps-yaml';
    await git.createRepo('hello', await fixtureFiles('node-web'));
    await stack.ok(['new-project', ns]);
    const yaml = await readFile(join(FIXTURES, 'openshift', 'hello-app.yaml'), 'utf8');
    // Only the repository moves: to the local git server.
    const manifest = yaml.replace('https://git.example/hello.git', git.repoUrl('hello'));
    expect(manifest).not.toBe(yaml);
    const applied = await stack.ok(['apply', '-n', ns, '-f', '-'], { stdin: manifest });
    for (const line of [
      'imagestream.image.openshift.io/hello created',
      'buildconfig.build.openshift.io/hello created',
      'deploymentconfig.apps.openshift.io/hello created',
      'service/hello created',
      'route.route.openshift.io/hello created',
    ]) {
      expect(applied).toContain(line);
    }
    expect((await finishedBuild(stack, ns, 'hello-1')).status?.phase).toBe('Complete');
    const rolled = await stack.ok(['rollout', 'status', 'dc/hello', '-n', ns], {
      timeoutMs: 300_000,
    });
    expect(rolled).toContain('replication controller "hello-1" successfully rolled out');
    const route = await stack.api.get<Route>(routeKind, 'hello', { namespace: ns });
    expect(route.spec.host).toBe(`hello-${ns}.apps.localhost`);
    const answer = await eventually(
      async () => {
        const a = await viaRouter('/', route.spec.host).catch(() => undefined);
        return a?.status === 200 ? a : undefined;
      },
      60_000,
      'the applied app through the router',
    );
    expect(answer.body).toMatch(/^Bonjour from node-web release one on hello-1-[a-z0-9]{5}\n$/);
  }, 400_000);

  it('a pod reaches another app by its service DNS name and by its ClusterIP', async () => {
    // A second app from the same image, in the same project.
    await stack.ok([
      'new-app',
      `${APP}:latest`,
      '--name',
      'backend',
      '-e',
      'GREETING=Backend',
      '--port',
      '8080',
      '-n',
      NS,
    ]);
    await waitRollout(1, 'backend');
    const svc = await stack.api.get<Service>(serviceKind, 'backend', { namespace: NS });
    const [client] = await readyPods();
    const fetchArgs = (url: string): string[] => [
      'exec',
      '-n',
      NS,
      client!.metadata.name!,
      '--',
      'node',
      '-e',
      `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => process.stdout.write(t))`,
    ];
    const fetchFrom = async (url: string): Promise<string> => stack.ok(fetchArgs(url));
    // A ready pod reaches the Endpoints, then each node's service rules, a moment after the
    // rollout ends (kube-proxy's lag too): until then the ClusterIP refuses connections.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const first = await stack.run(fetchArgs(`http://${svc.spec.clusterIP}:8080/`));
      if (first.code === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const url of [
      `http://backend.${NS}.svc.cluster.local:8080/`,
      `http://backend.${NS}:8080/`,
      'http://backend:8080/',
      `http://${svc.spec.clusterIP}:8080/`,
    ]) {
      expect(await fetchFrom(url), url).toMatch(/^Backend from node-web release two on backend-1-/);
    }
  }, 300_000);
});

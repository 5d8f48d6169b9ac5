/**
 * Pod start-up latency: create -> Running (as a watch sees it) through the whole platform (API,
 * scheduler, agent, Docker), against raw `docker run -d` of the same image, measured in the same
 * run on the same engine. Prints p50/p99 of both and the ratios.
 *
 *   npm run bench:pod-startup            # 30 pods
 *   PODS=100 npm run bench:pod-startup
 *
 * Needs a built checkout (`npm run build`) and a Docker engine. Runs its own server on a temporary
 * data directory and removes every container it made (by label) before it exits.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const PODS = Number(process.env.PODS ?? 30);
const IMAGE = 'slipway/pause:1';
const RUN_ID = `bench-${process.pid}-${Date.now().toString(36)}`;
const NODE_NAME = `bench-${process.pid}`;

/** Agents keep their service rules when they stop; this run's node is gone for good. */
async function removeNodeRules(nodeName: string): Promise<void> {
  const module = join(ROOT, 'dist', 'agent', 'network', 'service-proxy.js');
  const { removeServiceRules } = (await import(pathToFileURL(module).href)) as {
    removeServiceRules: (node: string) => Promise<boolean>;
  };
  await removeServiceRules(nodeName).catch(() => false);
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

function summary(samples: number[]): { p50: number; p99: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean };
}

async function docker(...args: string[]): Promise<string> {
  return (await run('docker', args, { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();
}

async function removeByLabel(label: string): Promise<void> {
  const ids = (await docker('ps', '-aq', '--filter', `label=${label}`)).split('\n').filter(Boolean);
  if (ids.length > 0) await docker('rm', '-f', ...ids);
}

/** Raw Docker: the time `docker run -d` takes until it returns (the container is running). */
async function baseline(): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < PODS; i += 1) {
    const started = performance.now();
    await docker('run', '-d', '--label', `slipway.bench=${RUN_ID}`, IMAGE);
    samples.push(performance.now() - started);
  }
  await removeByLabel(`slipway.bench=${RUN_ID}`);
  return samples;
}

interface Server {
  child: ChildProcess;
  url: string;
  token: string;
  dataDir: string;
}

async function startServer(): Promise<Server> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-bench-'));
  const child = spawn(
    NODE,
    [
      join(ROOT, 'bin', 'slipway.js'),
      'server',
      '--no-router',
      '--data-dir',
      dataDir,
      '--listen',
      '127.0.0.1:0',
      '--log-level',
      'warn',
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        SLIPWAY_AGENT_NODE_NAME: NODE_NAME,
        SLIPWAY_AGENT_LABELS: `slipway.bench=${RUN_ID}`,
      },
    },
  );
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    try {
      const ep = JSON.parse(await readFile(join(dataDir, 'endpoint.json'), 'utf8')) as {
        pid: number;
        url: string;
      };
      const tokens = JSON.parse(await readFile(join(dataDir, 'tokens.json'), 'utf8')) as {
        tokens: { user: string; token: string }[];
      };
      const token = tokens.tokens.find((t) => t.user === 'admin')?.token;
      if (ep.pid === child.pid && token && (await fetch(`${ep.url}/healthz`)).ok)
        return { child, url: ep.url, token, dataDir };
    } catch {
      // not ready yet
    }
    await sleep(100);
  }
  throw new Error('the server did not become ready');
}

async function api(server: Server, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

interface PodLike {
  metadata: { name: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

async function waitForNodeReady(server: Server): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const node = (await api(server, 'GET', `/api/v1/nodes/${NODE_NAME}`).catch(() => undefined)) as
      { status?: { conditions?: { type: string; status: string }[] } } | undefined;
    if (node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return;
    await sleep(100);
  }
  throw new Error(`node ${NODE_NAME} did not become Ready`);
}

/** Slipway: create a pod, then wait until a watch sees it Running. One pod at a time. */
async function slipway(server: Server): Promise<number[]> {
  const ns = 'bench';
  await api(server, 'POST', '/apis/project.openshift.io/v1/projectrequests', {
    apiVersion: 'project.openshift.io/v1',
    kind: 'ProjectRequest',
    metadata: { name: ns },
  });
  const controller = new AbortController();
  const running = new Map<string, () => void>();
  const list = (await api(server, 'GET', `/api/v1/namespaces/${ns}/pods`)) as {
    metadata: { resourceVersion: string };
  };
  const res = await fetch(
    `${server.url}/api/v1/namespaces/${ns}/pods?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
    { headers: { authorization: `Bearer ${server.token}` }, signal: controller.signal },
  );
  const watching = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (!line.trim()) continue;
        const ev = JSON.parse(line) as { object: PodLike };
        if (ev.object.status?.phase === 'Running') running.get(ev.object.metadata.name)?.();
      }
    }
  })().catch(() => undefined);

  const samples: number[] = [];
  for (let i = 0; i < PODS; i += 1) {
    const name = `p-${i}`;
    const seen = new Promise<void>((resolve) => running.set(name, resolve));
    const started = performance.now();
    await api(server, 'POST', `/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { containers: [{ name: 'main', image: IMAGE, imagePullPolicy: 'IfNotPresent' }] },
    });
    await Promise.race([
      seen,
      sleep(60_000).then(() => {
        throw new Error(`pod ${name} did not reach Running within 60 s`);
      }),
    ]);
    samples.push(performance.now() - started);
  }
  controller.abort();
  await watching;
  await api(server, 'DELETE', `/apis/project.openshift.io/v1/projects/${ns}`);
  return samples;
}

function fmt(ms: number): string {
  return `${ms.toFixed(0).padStart(6)} ms`;
}

async function main(): Promise<void> {
  await run('bash', [join(ROOT, 'scripts', 'pause-image.sh'), IMAGE]);
  const server = await startServer();
  try {
    await waitForNodeReady(server);
    // Warm both paths once so neither pays first-use costs in the samples.
    await docker('run', '-d', '--label', `slipway.bench=${RUN_ID}`, IMAGE);
    await removeByLabel(`slipway.bench=${RUN_ID}`);
    const raw = summary(await baseline());
    const platform = summary(await slipway(server));
    console.log(`pod start-up, ${PODS} pods, image ${IMAGE}, one at a time`);
    console.log(`                      p50        p99       mean`);
    console.log(`docker run -d    ${fmt(raw.p50)}  ${fmt(raw.p99)}  ${fmt(raw.mean)}`);
    console.log(
      `slipway pod      ${fmt(platform.p50)}  ${fmt(platform.p99)}  ${fmt(platform.mean)}`,
    );
    console.log(
      `ratio (slipway / docker run): p50 ${(platform.p50 / raw.p50).toFixed(2)}x, p99 ${(platform.p99 / raw.p99).toFixed(2)}x`,
    );
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.once('exit', resolve));
    await removeByLabel(`slipway.bench=${RUN_ID}`);
    await removeNodeRules(NODE_NAME);
    await rm(server.dataDir, { recursive: true, force: true });
  }
}

await main();

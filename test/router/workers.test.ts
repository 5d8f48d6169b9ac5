// The built `slipway router` command with several worker processes: traffic is shared, metrics
// are added up on the primary's stats port, a killed worker is replaced while the others keep
// serving (clients reconnect), and SIGTERM drains and stops everything. Without --workers it
// runs one worker per CPU.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestMaster } from '../api/helpers.js';
import { startTestMaster } from '../api/helpers.js';
import { ApiClient } from '../../src/client/index.js';
import { createProject, createRoute, expose, send, startBackend, type Backend } from './support.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = join(ROOT, 'node_modules', '.bin', 'node');

let t: TestMaster;
let echo: Backend;
let router: ChildProcess | undefined;
let httpPort: number;
let statsPort: number;

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Worker pids: the primary's child processes. */
function workerPids(primary: number): number[] {
  const out: number[] = [];
  for (const entry of readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').split(
    ' ',
  )) {
    if (entry.trim()) out.push(Number(entry));
  }
  return out;
}

function startRouterCommand(http: number, stats: number, extra: string[] = []): ChildProcess {
  return spawn(
    NODE,
    [
      join(ROOT, 'bin', 'slipway.js'),
      'router',
      '--server',
      t.url,
      '--token',
      t.master.adminToken,
      '--listen',
      `127.0.0.1:${http}`,
      '--stats-listen',
      `127.0.0.1:${stats}`,
      ...extra,
      '--no-require-admission',
      '--allow-loopback-endpoints',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

function metric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(name)) sum += Number(line.split(' ').at(-1));
  return sum;
}

beforeAll(async () => {
  const built = join(ROOT, 'dist', 'router', 'workers.js');
  if (
    !existsSync(built) ||
    statSync(built).mtimeMs < statSync(join(ROOT, 'router', 'workers.ts')).mtimeMs
  ) {
    throw new Error('dist/ is missing or older than router/; run "npm run build" first');
  }
  t = await startTestMaster();
  const api = new ApiClient({ server: t.url, token: t.master.adminToken });
  await createProject(t.admin, 'many');
  echo = await startBackend('echo');
  await expose(api, 'many', 'echo', [echo]);
  await createRoute(api, 'many', 'echo', { host: 'many.example.com' });
  httpPort = await freePort();
  statsPort = await freePort();
  router = startRouterCommand(httpPort, statsPort, ['--workers', '2']);
  await until(
    async () =>
      (await send(`http://127.0.0.1:${statsPort}`, { path: '/healthz/ready' })).status === 200,
    'both workers ready',
  );
});

afterAll(async () => {
  if (router && router.exitCode === null) {
    router.kill('SIGKILL');
    for (const pid of workerPids(router.pid!)) process.kill(pid, 'SIGKILL');
  }
  await echo?.close();
  await t?.close();
});

describe('slipway router --workers 2', () => {
  it('serves from two processes and adds their metrics up', async () => {
    expect(workerPids(router!.pid!)).toHaveLength(2);
    const total = 40;
    for (let i = 0; i < total; i++) {
      // A new connection each time: the primary hands them to the workers in turn.
      const r = await send(`http://127.0.0.1:${httpPort}`, { host: 'many.example.com' });
      expect(r.status).toBe(200);
    }
    const text = (await send(`http://127.0.0.1:${statsPort}`, { path: '/metrics' })).body;
    expect(
      metric(text, 'slipway_router_requests_total{namespace="many",route="echo",code="200"}'),
    ).toBe(total);
  });

  it('replaces a killed worker while the other keeps serving', async () => {
    const [victim] = workerPids(router!.pid!);
    process.kill(victim!, 'SIGKILL');
    // Connections the dead worker had queued are reset (clients reconnect); once it is gone,
    // its socket is gone with it and every new connection reaches the live worker.
    await until(async () => !workerPids(router!.pid!).includes(victim!), 'the worker to be reaped');
    for (let i = 0; i < 20; i++) {
      const r = await send(`http://127.0.0.1:${httpPort}`, { host: 'many.example.com' });
      expect(r.status).toBe(200);
    }
    await until(async () => {
      const pids = workerPids(router!.pid!);
      const ready = await send(`http://127.0.0.1:${statsPort}`, { path: '/healthz/ready' });
      return pids.length === 2 && !pids.includes(victim!) && ready.status === 200;
    }, 'a replacement worker');
    for (let i = 0; i < 20; i++) {
      const r = await send(`http://127.0.0.1:${httpPort}`, { host: 'many.example.com' });
      expect(r.status).toBe(200);
    }
  });

  it('drains and stops on SIGTERM', async () => {
    const pids = workerPids(router!.pid!);
    router!.kill('SIGTERM');
    const [code] = (await once(router!, 'exit')) as [number | null];
    expect(code).toBe(0);
    for (const pid of pids) expect(existsSync(`/proc/${pid}`)).toBe(false);
  });
});

describe('slipway router without --workers', () => {
  it('runs one worker per CPU and serves', async () => {
    const http = await freePort();
    const stats = await freePort();
    const child = startRouterCommand(http, stats);
    try {
      await until(
        async () =>
          (await send(`http://127.0.0.1:${stats}`, { path: '/healthz/ready' })).status === 200,
        'the router ready',
      );
      const cpus = availableParallelism();
      // One CPU: the router serves from its own process, without workers.
      expect(workerPids(child.pid!)).toHaveLength(cpus > 1 ? cpus : 0);
      const r = await send(`http://127.0.0.1:${http}`, { host: 'many.example.com' });
      expect(r.status).toBe(200);
    } finally {
      const pids = child.exitCode === null ? workerPids(child.pid!) : [];
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
      for (const pid of pids) expect(existsSync(`/proc/${pid}`)).toBe(false);
    }
  });
});

// F12: `kill -9` the master while clients write; every acknowledged write is there after a
// restart, and a project deletion (a multi-object change) is all-or-nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateTokens } from '../../master/auth/tokens.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const BIN = join(ROOT, 'bin', 'slipway.js');

let dataDir: string;
const children: ChildProcess[] = [];

interface Server {
  child: ChildProcess;
  url: string;
  token: string;
}

async function startServer(): Promise<Server> {
  const child = spawn(
    NODE,
    [
      BIN,
      'server',
      '--data-dir',
      dataDir,
      '--listen',
      '127.0.0.1:0',
      '--log-level',
      'warn',
      '--no-router',
      // Only the store is under test; an agent would leave its node's service rules behind.
      '--no-agent',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited: ${stderr}`);
    try {
      const ep = JSON.parse(await readFile(join(dataDir, 'endpoint.json'), 'utf8')) as {
        pid: number;
        url: string;
      };
      if (ep.pid === child.pid) {
        const res = await fetch(`${ep.url}/healthz`);
        if (res.ok) {
          const { adminToken } = await loadOrCreateTokens(dataDir);
          return { child, url: ep.url, token: adminToken };
        }
      }
    } catch {
      // not ready yet
    }
    await sleep(50);
  }
  throw new Error(`server not ready: ${stderr}`);
}

function kill9(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.child.once('exit', () => resolve());
    server.child.kill('SIGKILL');
  });
}

async function call(
  server: Server,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'slipway-kill-'));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('kill -9 of the master', () => {
  it('loses no acknowledged write', async () => {
    let server = await startServer();
    expect(
      (
        await call(server, 'POST', '/apis/project.openshift.io/v1/projectrequests', {
          apiVersion: 'project.openshift.io/v1',
          kind: 'ProjectRequest',
          metadata: { name: 'crash' },
        })
      ).status,
    ).toBe(201);

    const acked = new Map<string, string>();
    let stop = false;
    const writer = async (id: number): Promise<void> => {
      for (let i = 0; !stop && i < 2000; i += 1) {
        const name = `cm-${id}-${i}`;
        try {
          const res = await call(server, 'POST', '/api/v1/namespaces/crash/configmaps', {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name },
            data: { value: String(i) },
          });
          if (res.status === 201) {
            const obj = (await res.json()) as { metadata: { resourceVersion: string } };
            acked.set(name, obj.metadata.resourceVersion);
          }
        } catch {
          return; // the server is gone
        }
      }
    };
    const writers = [0, 1, 2, 3].map((id) => writer(id));
    while (acked.size < 200) await sleep(5);
    await kill9(server);
    stop = true;
    await Promise.all(writers);

    server = await startServer();
    const res = await call(server, 'GET', '/api/v1/namespaces/crash/configmaps');
    const list = (await res.json()) as {
      items: { metadata: { name: string; resourceVersion: string } }[];
    };
    const stored = new Map(list.items.map((i) => [i.metadata.name, i.metadata.resourceVersion]));
    expect(acked.size).toBeGreaterThanOrEqual(200);
    for (const [name, rv] of acked) expect(stored.get(name), name).toBe(rv);

    // An acknowledged project deletion is complete after kill -9 and restart: no object of the
    // project is left behind (deletion is one store transaction, or resumed at start-up).
    const del = await call(server, 'DELETE', '/apis/project.openshift.io/v1/projects/crash');
    expect(del.status).toBeLessThan(300);
    await kill9(server);
    server = await startServer();
    const deadline = Date.now() + 10_000;
    let remaining = -1;
    while (Date.now() < deadline) {
      const project = await call(server, 'GET', '/apis/project.openshift.io/v1/projects/crash');
      const items = (
        (await (await call(server, 'GET', '/api/v1/namespaces/crash/configmaps')).json()) as {
          items?: unknown[];
        }
      ).items;
      remaining = items?.length ?? 0;
      if (project.status === 404 && remaining === 0) break;
      await sleep(50);
    }
    expect(remaining).toBe(0);
    expect((await call(server, 'GET', '/apis/project.openshift.io/v1/projects/crash')).status).toBe(
      404,
    );
    await kill9(server);
  });
});

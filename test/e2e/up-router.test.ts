// End to end as a user runs it: `slipway up` runs the router beside the master and the agent;
// a pod exposed as a service, the service exposed as a route, and the route's default host
// answers through the router (with a Host header, and with curl, which resolves *.localhost to
// loopback as browsers do). The stats port answers /healthz; `--no-router` runs none.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../agent/cluster.js';
import { slipway } from '../cli/support/slipway.js';
import { dockerClient } from '../support/docker.js';
import { startUpRun, type UpRun } from './support/up-run.js';

const docker = dockerClient();
let up: UpRun;
let nodeName: string;
let home: string;
let env: Record<string, string>;

/** Every listener on a free port, as tests must. */
const ANY_PORTS = [
  '--listen',
  '127.0.0.1:0',
  '--registry',
  '127.0.0.1:0',
  '--router-http',
  '127.0.0.1:0',
  '--router-https',
  '127.0.0.1:0',
  '--router-stats',
  '127.0.0.1:0',
];

interface EndpointFile {
  url: string;
  router?: { http: string; https?: string; stats?: string };
}

beforeAll(async () => {
  up = await startUpRun(docker, 'e2e-router');
  ({ nodeName, home, env } = up);
});

afterAll(async () => {
  await up?.close();
});

async function ok(args: string[]): Promise<string> {
  const res = await slipway(args, { env, timeoutMs: 60_000 });
  if (res.code !== 0) throw new Error(`slipway ${args.join(' ')} failed: ${res.stderr}`);
  return res.stdout;
}

async function endpoint(): Promise<EndpointFile> {
  return JSON.parse(
    await readFile(join(home, '.slipway', 'data', 'endpoint.json'), 'utf8'),
  ) as EndpointFile;
}

/** GET through the router with a Host header; status and body. */
function get(base: string, host: string, path = '/'): Promise<{ status: number; body: string }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host }, timeout: 5_000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('slipway up runs the router', () => {
  it('serves an exposed pod at its route host, and --no-router runs none', async () => {
    const up = await ok(['up', ...ANY_PORTS]);
    const ep = await endpoint();
    expect(ep.router).toBeDefined();
    const router = ep.router!;
    for (const url of [router.http, router.https, router.stats])
      expect(url).toMatch(/^https?:\/\/127\.0\.0\.1:[1-9]\d*$/);
    const httpPort = new URL(router.http).port;
    expect(up).toContain(
      `  router       ${router.http} (HTTPS ${router.https}, stats ${router.stats})\n`,
    );
    expect(up).toContain(
      `               routes answer at http://NAME-PROJECT.apps.localhost:${httpPort}/\n`,
    );
    const health = await fetch(`${router.stats}/healthz`);
    expect(health.status).toBe(200);

    await eventually(
      async () => ((await ok(['get', 'nodes'])).includes(nodeName) ? true : undefined),
      10_000,
      'the node to register',
    );
    await ok(['new-project', 'e2e']);
    const manifest = join(home, 'hello.yaml');
    await writeFile(
      manifest,
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  name: hello',
        '  labels: {app: hello}',
        'spec:',
        '  terminationGracePeriodSeconds: 1',
        '  containers:',
        '  - name: app',
        '    image: slipway/pause:1',
        '    command: ["sh", "-c", "mkdir -p /tmp/w; echo hello through the router > /tmp/w/index.html; exec httpd -f -p 8080 -h /tmp/w"]',
        '    ports: [{containerPort: 8080}]',
        '    readinessProbe:',
        '      httpGet: {port: 8080}',
        '      periodSeconds: 1',
        '',
      ].join('\n'),
    );
    await ok(['apply', '-f', manifest]);
    expect(await ok(['expose', 'pod/hello'])).toBe('service/hello exposed\n');
    expect(await ok(['expose', 'svc/hello'])).toBe('route.route.openshift.io/hello exposed\n');
    const host = 'hello-e2e.apps.localhost';
    expect(await ok(['get', 'routes'])).toMatch(
      new RegExp(`^hello\\s+${host.replace(/\./g, '\\.')}\\s+hello\\s+8080\\s+None$`, 'm'),
    );

    const answer = await eventually(
      async () => {
        const res = await get(router.http, host);
        return res.status === 200 ? res : undefined;
      },
      30_000,
      'the route to answer through the router',
    );
    expect(answer.body).toBe('hello through the router\n');
    // As the README tells users: curl resolves *.localhost to this machine.
    const { stdout } = await promisify(execFile)('curl', [
      '-sS',
      '--max-time',
      '5',
      `http://${host}:${httpPort}/`,
    ]);
    expect(stdout).toBe('hello through the router\n');
    const unknown = await get(router.http, 'nobody-e2e.apps.localhost');
    expect(unknown.status).toBe(503);
    expect(unknown.body).toContain('Application is not available');

    // `down` stops the router with the server; `up --no-router` starts none.
    expect(await ok(['down'])).toMatch(/^Slipway stopped/);
    await expect(fetch(`${router.stats}/healthz`)).rejects.toThrow();
    const again = await ok(['up', ...ANY_PORTS, '--no-router']);
    expect(again).toContain('  router       none (--no-router: routes are not served)\n');
    expect((await endpoint()).router).toBeUndefined();
  });
});

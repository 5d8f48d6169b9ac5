// `slipway logs`, `exec` and `rsh` through the built CLI, a real master and a node agent's server
// reached over HTTP like a remote host, with containers on the real engine.
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { nodeKind, podKind, serviceKind, type Node, type Pod } from '../../src/api/index.js';
import { signAgentCredential } from '../../src/client/agent-credential.js';
import { EXEC_PROTOCOLS } from '../../src/client/exec-protocol.js';
import { ApiError } from '../../src/api/errors.js';
import { eventually, sh } from '../agent/support.js';
import { makeArchive } from '../../src/util/testing/tar-archives.js';
import { assertDockerAvailable, dockerClient, ensureImage } from '../support/docker.js';
import {
  assertBuilt,
  collect,
  slipway,
  startPortForward,
  startSlipway,
  type Result,
} from '../cli/support/slipway.js';
import { getOnce } from '../support/http.js';
import {
  createPod,
  planFor,
  runContainers,
  startLogsExecCluster,
  type LogsExecCluster,
} from './support.js';

let cluster: LogsExecCluster;

const run = (args: string[], stdin?: string, env = cluster.env): Promise<Result> =>
  slipway(args, { env, ...(stdin === undefined ? {} : { stdin }) });

/** A non-zero exit with exactly one line on stderr and no stack trace; returns that line. */
async function fails(args: string[], env = cluster.env): Promise<string> {
  const r = await run(args, undefined, env);
  expect(r.code, `slipway ${args.join(' ')}: ${r.stderr}`).not.toBe(0);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines, `stderr of slipway ${args.join(' ')}`).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

/** Polls `slipway ARGS` until it exits 0 with exactly `stdout`. */
async function eventuallyPrints(args: string[], stdout: string): Promise<void> {
  let last: Result | undefined;
  try {
    await eventually(
      async () => {
        last = await run(args);
        return last.code === 0 && last.stdout === stdout ? true : undefined;
      },
      15_000,
      `slipway ${args.join(' ')} to print ${JSON.stringify(stdout)}`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}`, { cause: err });
  }
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A GET to the agent's server with the given Authorization header; status and body. */
const agentGet = (path: string, authorization?: string) =>
  getOnce(cluster.agent.port, {
    path,
    headers: authorization ? { Authorization: authorization } : {},
    timeoutMs: 10_000,
    what: 'the agent',
  });

const soloScript = 'echo one; echo two; echo three; exec sleep 3600';
// Counts its lives in the pod's emptyDir: the first exits 1, the second stays up.
const restarterScript =
  'n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; echo "life $n"; ' +
  'if [ $n -ge 2 ]; then exec sleep 3600; fi; exit 1';

let soloUid = '';
let webSandbox = '';
let local = '';
let sentinel = '';
const hostileScript =
  `mkdir -p /tmp/bin && printf '#!/bin/sh\\necho "$EVIL" | base64 -d\\n' > /tmp/bin/tar && ` +
  'chmod 755 /tmp/bin/tar && exec sleep 3600';
const webScript =
  'mkdir -p /tmp/www && echo hello from the pod > /tmp/www/index.html && ' +
  'exec httpd -f -p 127.0.0.1:8080 -h /tmp/www';

beforeAll(async () => {
  assertBuilt();
  await assertDockerAvailable(dockerClient());
  await ensureImage('pause');
  cluster = await startLogsExecCluster();
  local = await mkdtemp(join(tmpdir(), 'slipway-cp-test-'));
  sentinel = join(local, 'outside', 'sentinel');
  await mkdir(dirname(sentinel));

  const solo = await createPod(cluster, 'solo', { containers: [sh('main', soloScript)] });
  soloUid = solo.metadata.uid!;
  await runContainers(cluster, planFor(cluster, solo));

  const multi = await createPod(cluster, 'multi', {
    containers: [
      sh('app', 'echo app-line; exec sleep 3600'),
      sh('ticker', 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'),
    ],
  });
  await runContainers(cluster, planFor(cluster, multi));

  const restarter = await createPod(cluster, 'restarter', {
    volumes: [{ name: 'data', emptyDir: {} }],
    containers: [
      sh('once', restarterScript, { volumeMounts: [{ name: 'data', mountPath: '/data' }] }),
    ],
  });
  const plan = planFor(cluster, restarter);
  const first = await runContainers(cluster, plan, 0);
  await eventually(
    async () => {
      const info = await cluster.run.runtime.inspect(first.ids.once!);
      return info.state === 'exited' ? true : undefined;
    },
    10_000,
    'the first life of "restarter" to end',
  );
  await runContainers(cluster, plan, 1, first.sandboxId);

  await createPod(cluster, 'pending', { containers: [sh('main', 'sleep 1')] }, null);

  // A container whose `tar` sends a hostile archive, as a compromised container could.
  const evil = await makeArchive(
    [
      { name: 'data/ok.txt', data: 'fine' },
      { name: `${'../'.repeat(16)}${sentinel.replace(/^\//, '')}`, data: 'pwned' },
      { name: 'data/out', type: 'symlink', linkname: dirname(sentinel) },
      { name: 'data/out/second', data: 'pwned' },
    ],
    { gzip: false },
  );
  const hostile = await createPod(cluster, 'hostile', {
    containers: [
      sh('main', hostileScript, {
        env: [
          { name: 'EVIL', value: evil.toString('base64') },
          { name: 'PATH', value: '/tmp/bin:/bin' },
        ],
      }),
    ],
  });
  await runContainers(cluster, planFor(cluster, hostile));

  // A web server on the pod's loopback only: port-forward reaches it as the kubelet does.
  const web = await createPod(cluster, 'web', {
    containers: [
      sh('web', webScript, { ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }),
      sh('silent', 'exec nc -ll -p 8082 -e sleep 600'),
    ],
  });
  webSandbox = (await runContainers(cluster, planFor(cluster, web))).sandboxId;
  await cluster.admin.update(
    podKind,
    { ...web, metadata: { ...web.metadata, labels: { app: 'web' } } },
    { namespace: cluster.namespace },
  );
  const stored = await cluster.admin.get<Pod>(podKind, 'web', { namespace: cluster.namespace });
  await cluster.join.updateStatus(
    podKind,
    { ...stored, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
    { namespace: cluster.namespace },
  );
  await cluster.admin.create(
    serviceKind,
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'main', port: 80, targetPort: 'http' }] },
    },
    { namespace: cluster.namespace },
  );
}, 180_000);

afterAll(async () => {
  if (local) await rm(local, { recursive: true, force: true });
  await cluster?.close();
  const left = await dockerClient().listContainers({
    all: true,
    filters: { label: [`slipway.test.run=${cluster?.run.runId ?? 'none'}`] },
  });
  expect(left).toHaveLength(0);
});

describe('slipway logs', () => {
  it('prints the log of a pod with one container, by name or pod/NAME', async () => {
    await eventuallyPrints(['logs', 'solo'], 'one\ntwo\nthree\n');
    const r = await run(['logs', 'pod/solo']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'one\ntwo\nthree\n', '']);
  });

  it('keeps only the last lines with --tail and prefixes timestamps', async () => {
    await eventuallyPrints(['logs', 'solo', '--tail', '2'], 'two\nthree\n');
    const r = await run(['logs', 'solo', '--timestamps', '--tail=1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z three\n$/);
  });

  it('asks which container when the pod has several, and takes -c', async () => {
    expect(await fails(['logs', 'multi'])).toBe(
      'Error from server (BadRequest): a container name must be specified for pod multi, choose one of: [app ticker]',
    );
    await eventuallyPrints(['logs', 'multi', '-c', 'app'], 'app-line\n');
    expect(await fails(['logs', 'multi', '-c', 'nope'])).toBe(
      'Error from server (BadRequest): container nope is not valid for pod multi',
    );
  });

  it('follows a log as lines are written, until interrupted', async () => {
    const child = startSlipway(['logs', '-f', 'multi', '-c', 'ticker', '--tail', '1'], {
      env: cluster.env,
    });
    const exited = collect(child, { timeoutMs: 30_000 });
    const seen: { line: string; at: number }[] = [];
    let buffer = '';
    const threeLines = new Promise<void>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        buffer += d.toString('utf8');
        const parts = buffer.split('\n');
        buffer = parts.pop() ?? '';
        for (const line of parts) seen.push({ line, at: Date.now() });
        if (seen.length >= 4) resolve();
      });
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      threeLines,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`only ${JSON.stringify(seen)} arrived within 15 s`)),
          15_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    child.kill('SIGINT');
    const result = await exited;
    expect(result.stderr).toBe('');
    const numbers = seen.map((s) => Number(/^tick (\d+)$/.exec(s.line)?.[1]));
    expect(numbers.every((n) => Number.isInteger(n))).toBe(true);
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]).toBe(numbers[0]! + i);
    // Streamed, not collected: the lines arrived spread over time as the container wrote them.
    expect(seen[3]!.at - seen[0]!.at).toBeGreaterThanOrEqual(300);
  });

  it('shows the previous instance of a restarted container with --previous', async () => {
    await eventuallyPrints(['logs', 'restarter'], 'life 2\n');
    expect((await run(['logs', 'restarter', '--previous'])).stdout).toBe('life 1\n');
    expect((await run(['logs', 'restarter', '-p'])).code).toBe(0);
    expect(await fails(['logs', 'solo', '--previous'])).toBe(
      'Error from server (BadRequest): previous terminated container "main" in pod "solo" not found',
    );
  });

  it('says what is wrong with a missing, unscheduled or unreachable pod', async () => {
    expect(await fails(['logs', 'nosuch'])).toBe(
      'Error from server (NotFound): pods "nosuch" not found',
    );
    expect(await fails(['logs', 'pending'])).toBe(
      'Error from server (BadRequest): container "main" in pod "pending" is waiting to start: ContainerCreating',
    );
    const port = await closedPort();
    const ghost: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'ghost' },
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: port } },
      },
    };
    await cluster.join.create(nodeKind, ghost);
    await createPod(cluster, 'haunted', { containers: [sh('main', 'sleep 1')] }, 'ghost');
    expect(await fails(['logs', 'haunted'])).toBe(
      `Error from server (ServiceUnavailable): unable to reach the agent of node "ghost" at 127.0.0.1:${port}: connection refused`,
    );
    expect(await fails(['exec', 'haunted', '--', 'true'])).toBe(
      `Error from server (ServiceUnavailable): unable to reach the agent of node "ghost" at 127.0.0.1:${port}: connection refused`,
    );
  });
});

describe('slipway exec and rsh', () => {
  it("returns the command's exit code", async () => {
    const r = await run(['exec', 'solo', '--', 'sh', '-c', 'exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('command terminated with exit code 3\n');
  });

  it('keeps stdout and stderr apart', async () => {
    const r = await run(['exec', 'solo', '--', 'sh', '-c', 'echo out; echo err >&2']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'out\n', 'err\n']);
  });

  it('passes stdin with -i, and ends it when the input ends', async () => {
    const input = 'hello\nworld\n'.repeat(1000);
    const r = await slipway(['exec', '-i', 'solo', '--', 'cat'], {
      env: cluster.env,
      stdin: input,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(input);
  });

  it('ends when the command exits, even while stdin keeps coming', async () => {
    const child = startSlipway(['exec', '-i', 'solo', '--', 'head', '-n', '2'], {
      env: cluster.env,
    });
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const chunk = 'y\n'.repeat(8192);
    const feed = setInterval(() => {
      if (child.stdin!.writable) child.stdin!.write(chunk);
    }, 5);
    child.stdin!.on('error', () => undefined);
    const started = Date.now();
    try {
      const [code] = (await Promise.race([
        once(child, 'exit'),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('exec did not end with its command')), 15_000),
        ),
      ])) as [number];
      expect(code).toBe(0);
    } finally {
      clearInterval(feed);
      child.kill('SIGKILL');
    }
    expect(stdout).toBe('y\ny\n');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('rsh runs /bin/sh on stdin (no terminal when stdin is not one)', async () => {
    const r = await run(['rsh', 'solo'], 'echo "shell $0"; exit 5\n');
    expect(r.stdout).toBe('shell /bin/sh\n');
    expect(r.code).toBe(5);
    const cmd = await run(['rsh', '-c', 'app', 'multi', 'cat', '/proc/1/cmdline']);
    expect([cmd.code, cmd.stdout]).toEqual([0, 'sleep\u00003600\u0000']);
  });

  it('warns that -t needs a terminal and runs without one', async () => {
    const r = await run(['exec', '-t', 'solo', '--', 'echo', 'hi']);
    expect([r.code, r.stdout]).toEqual([0, 'hi\n']);
    expect(r.stderr).toBe(
      'Unable to use a TTY - input is not a terminal or the right kind of file\n',
    );
  });

  it('runs in a terminal that follows resizes (client API)', async () => {
    let out = '';
    const conn = await cluster.admin.execInPod(
      cluster.namespace,
      'solo',
      { command: ['sh'], stdin: true, tty: true },
      { stdout: (d) => (out += d.toString()), stderr: () => undefined },
    );
    expect(conn.protocol).toBe('v5.channel.k8s.io');
    conn.resize({ width: 100, height: 40 });
    await eventually(
      async () => {
        await conn.writeStdin('stty size\n');
        return out.includes('40 100') ? true : undefined;
      },
      10_000,
      'stty to see the new size',
    );
    await conn.writeStdin('exit 7\n');
    expect(await conn.done).toEqual({ kind: 'exit', exitCode: 7 });
  });

  it('runs in a pod a service selects, and says when it selects none', async () => {
    expect(await run(['exec', 'svc/web', '-c', 'web', '--', 'echo', 'via the service'])).toEqual({
      code: 0,
      stdout: 'via the service\n',
      stderr: '',
    });
    await cluster.admin.create(
      serviceKind,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'nobody' },
        spec: { selector: { app: 'nobody' }, ports: [{ port: 80 }] },
      },
      { namespace: cluster.namespace },
    );
    expect(await fails(['logs', 'svc/nobody'])).toBe('error: no pods found for service/nobody');
  });

  it('asks which container when the pod has several', async () => {
    expect(await fails(['exec', 'multi', '--', 'true'])).toBe(
      'Error from server (BadRequest): a container name must be specified for pod multi, choose one of: [app ticker]',
    );
    expect(await fails(['exec', 'nosuch', '--', 'true'])).toBe(
      'Error from server (NotFound): pods "nosuch" not found',
    );
  });
});

describe('slipway cp', () => {
  it('copies a tree into a container and back, keeping contents and modes', async () => {
    const tree = join(local, 'tree');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'a.txt'), 'alpha\n');
    await writeFile(join(tree, 'sub', 'b.txt'), 'beta\n');
    await writeFile(join(tree, 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
    expect((await run(['cp', tree, 'solo:/tmp/copied'])).code).toBe(0);
    expect(
      (
        await run([
          'exec',
          'solo',
          '--',
          'sh',
          '-c',
          'cat /tmp/copied/a.txt /tmp/copied/sub/b.txt && /tmp/copied/run.sh',
        ])
      ).stdout,
    ).toBe('alpha\nbeta\nran\n');

    // Back, under a new name; then one file into an existing directory.
    const back = join(local, 'back');
    expect((await run(['cp', `${cluster.namespace}/solo:/tmp/copied`, back])).code).toBe(0);
    expect(await readFile(join(back, 'sub', 'b.txt'), 'utf8')).toBe('beta\n');
    expect((await stat(join(back, 'run.sh'))).mode & 0o777).toBe(0o755);
    const into = join(local, 'into');
    await mkdir(into);
    expect((await run(['cp', 'solo:/tmp/copied/a.txt', into])).code).toBe(0);
    expect(await readFile(join(into, 'a.txt'), 'utf8')).toBe('alpha\n');

    // One file to a new name in the container, and into a directory with a trailing slash.
    expect((await run(['cp', join(tree, 'a.txt'), 'solo:/tmp/renamed.txt'])).code).toBe(0);
    expect((await run(['cp', join(tree, 'sub', 'b.txt'), 'solo:/tmp/copied/'])).code).toBe(0);
    expect(
      (await run(['exec', 'solo', '--', 'cat', '/tmp/renamed.txt', '/tmp/copied/b.txt'])).stdout,
    ).toBe('alpha\nbeta\n');
  });

  it("refuses a container's hostile archive and writes nothing anywhere", async () => {
    const out = join(local, 'from-hostile');
    expect(await fails(['cp', 'hostile:/data', out])).toMatch(
      /^error: refusing what the container sent: .*; nothing was copied$/,
    );
    await expect(stat(sentinel)).rejects.toThrow();
    await expect(stat(join(dirname(sentinel), 'second'))).rejects.toThrow();
    await expect(stat(out)).rejects.toThrow();
    // No staging directory is left beside the target.
    expect((await readdir(local)).filter((n) => n.startsWith('.slipway-cp-'))).toEqual([]);
  });

  it('says what went wrong: a missing path, two local paths', async () => {
    expect(await fails(['cp', 'solo:/no/such', join(local, 'x')])).toMatch(
      /^error: cannot copy \/no\/such \(tar exited with 1\): .*No such file or directory/,
    );
    expect(await fails(['cp', local, join(local, 'y')])).toBe(
      'error: one of source and destination must be a container path ([NS/]POD:PATH) and the other a local path',
    );
  });
});

/** `slipway port-forward ARGS` in this cluster's project. */
const startForward = (args: string[], env = cluster.env) => startPortForward(args, env);

/** GET / on a local port, one connection that closes after the answer. */
const localGet = (port: number) => getOnce(port, { what: 'the port-forward' });

/** How many port-forward connections run in the pod's infra container. */
async function forwarders(): Promise<number> {
  const r = await cluster.run.runtime.execInContainer(webSandbox, ['ps', '-o', 'args'], {
    timeoutMs: 10_000,
  });
  return r.stdout.split('\n').filter((l) => l.startsWith('nc 127.0.0.1')).length;
}

describe('slipway port-forward', () => {
  it("reaches a server on the pod's loopback, connection after connection, until interrupted", async () => {
    const fwd = await startForward(['web', ':8080']);
    expect(fwd.remote).toBe(8080);
    const answers = await Promise.all([localGet(fwd.local), localGet(fwd.local)]);
    expect(answers).toEqual([
      { code: 200, body: 'hello from the pod\n' },
      { code: 200, body: 'hello from the pod\n' },
    ]);
    expect((await localGet(fwd.local)).body).toBe('hello from the pod\n');
    fwd.child.kill('SIGINT');
    const result = await fwd.exited;
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`Handling connection for ${fwd.local}\n`);
  });

  it('ends its connections inside the pod when it stops, even ones the server keeps open', async () => {
    // The server on 8082 never answers nor hangs up: only the agent can end the connection.
    const fwd = await startForward(['web', ':8082']);
    const open = connect(fwd.local, '127.0.0.1');
    open.on('error', () => undefined);
    await once(open, 'connect');
    open.write('hello?');
    await eventually(
      async () => ((await forwarders()) === 1 ? true : undefined),
      10_000,
      'the connection to reach the pod',
    );
    fwd.child.kill('SIGINT');
    expect((await fwd.exited).code).toBe(0);
    await eventually(
      async () => ((await forwarders()) === 0 ? true : undefined),
      10_000,
      'no port-forward connection left in the pod',
    );
    expect(open.destroyed || open.readableEnded).toBe(true);
    open.destroy();
  });

  it("translates a service's port to the pod's target port", async () => {
    const fwd = await startForward(['svc/web', ':80']);
    expect(fwd.remote).toBe(8080);
    expect(await localGet(fwd.local)).toEqual({ code: 200, body: 'hello from the pod\n' });
    fwd.child.kill('SIGINT');
    expect((await fwd.exited).code).toBe(0);
    expect(await fails(['port-forward', 'svc/web', '8080'])).toBe(
      'error: Service web does not have a service port 8080',
    );
  });

  it('says why a connection failed and keeps serving the others', async () => {
    const fwd = await startForward(['web', ':9090']);
    let stderr = '';
    fwd.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    await expect(localGet(fwd.local)).rejects.toThrow();
    const expected = `an error occurred forwarding ${fwd.local} -> 9090: error forwarding port 9090 to pod ${cluster.namespace}/web: failed to connect to localhost:9090 inside the pod: Connection refused`;
    await eventually(
      async () => (stderr.includes(expected) ? true : undefined),
      10_000,
      `stderr to say ${expected}; it says ${stderr}`,
    );
    await expect(localGet(fwd.local)).rejects.toThrow();
    expect(fwd.child.exitCode).toBeNull();
    fwd.child.kill('SIGINT');
    expect((await fwd.exited).code).toBe(0);
  });

  it('refuses a pod that is not running, and what is not a port', async () => {
    expect(await fails(['port-forward', 'pending', '8080'])).toBe(
      'error: unable to forward port because pod is not running. Current status=Pending',
    );
    expect(await fails(['port-forward', 'web', '8080:http:x'])).toMatch(
      /^error: invalid port specification "8080:http:x"/,
    );
  });
});

describe('who may', () => {
  it('refuses logs, exec and port-forward to the node-join token (403)', async () => {
    expect(await fails(['logs', 'solo'], cluster.joinEnv)).toBe(
      `Error from server (Forbidden): pods/log "solo" is forbidden: User "system:node-bootstrap" cannot get resource "pods/log" in project "${cluster.namespace}"`,
    );
    expect(await fails(['exec', 'solo', '--', 'true'], cluster.joinEnv)).toBe(
      `Error from server (Forbidden): pods/exec "solo" is forbidden: User "system:node-bootstrap" cannot create resource "pods/exec" in project "${cluster.namespace}"`,
    );
    await expect(cluster.join.podLogs(cluster.namespace, 'solo')).rejects.toSatisfy(
      (err) => err instanceof ApiError && err.code === 403,
    );
    await expect(cluster.join.portForward(cluster.namespace, 'web', 8080)).rejects.toThrow(
      `pods/portforward "web" is forbidden: User "system:node-bootstrap" cannot create resource "pods/portforward" in project "${cluster.namespace}"`,
    );
  });

  it('the agent refuses requests without the master credential (401)', async () => {
    const ns = cluster.namespace;
    const path = `/containerLogs/${ns}/solo/main`;
    const sign = (target: string, overrides: { joinToken?: string; container?: string } = {}) =>
      `Bearer ${signAgentCredential(overrides.joinToken ?? cluster.master.joinToken, {
        node: cluster.nodeName,
        namespace: ns,
        pod: 'solo',
        uid: soloUid,
        container: overrides.container ?? 'main',
        verb: 'logs',
        target,
      })}`;

    expect((await agentGet(path)).code).toBe(401);
    expect((await agentGet(path, `Bearer ${cluster.master.adminToken}`)).code).toBe(401);
    expect((await agentGet(path, `Bearer ${cluster.master.joinToken}`)).code).toBe(401);
    expect((await agentGet(path, sign(path, { joinToken: 'x'.repeat(43) }))).code).toBe(401);
    // Signed for another request target: refused.
    expect((await agentGet(`${path}?tailLines=1`, sign(path))).code).toBe(401);
    // A good credential works once; its replay is refused.
    const good = sign(path);
    const first = await agentGet(path, good);
    expect([first.code, first.body]).toEqual([200, 'one\ntwo\nthree\n']);
    const replay = await agentGet(path, good);
    expect(replay.code).toBe(401);
    expect(JSON.parse(replay.body)).toMatchObject({
      kind: 'Status',
      code: 401,
      reason: 'Unauthorized',
    });

    // exec: the WebSocket handshake is refused before any upgrade.
    const code = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(
        `ws://127.0.0.1:${cluster.agent.port}/exec/${ns}/solo/main?command=id&stdout=true`,
        [...EXEC_PROTOCOLS],
      );
      ws.on('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      ws.on('open', () => {
        ws.terminate();
        reject(new Error('the agent accepted an exec without a credential'));
      });
      ws.on('error', () => undefined);
    });
    expect(code).toBe(401);
  });

  it('never writes a token or credential to the logs', () => {
    const text = cluster.logs.text();
    expect(text).toContain('refused a request without a valid credential');
    for (const secret of [cluster.master.adminToken, cluster.master.joinToken]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/Bearer|v1\.[A-Za-z0-9_-]{20,}\./);
  });

  it('lists the subresources in discovery', async () => {
    const list = await cluster.admin.request<{ resources: { name: string; verbs: string[] }[] }>(
      'GET',
      '/api/v1',
    );
    const byName = Object.fromEntries(list.resources.map((r) => [r.name, r.verbs]));
    expect(byName['pods/log']).toEqual(['get']);
    expect(byName['pods/exec']).toEqual(['create', 'get']);
    expect(byName['pods/portforward']).toEqual(['create', 'get']);
    expect(
      (await cluster.admin.get(podKind, 'solo', { namespace: cluster.namespace })).metadata.uid,
    ).toBe(soloUid);
  });
});

describe('shutdown', () => {
  it('ends open exec and log streams when the agent stops', async () => {
    const ns = cluster.namespace;
    const conn = await cluster.admin.execInPod(
      ns,
      'solo',
      { command: ['sleep', '60'], stdin: false, tty: false },
      { stdout: () => undefined, stderr: () => undefined },
    );
    const logs = await cluster.admin.podLogs(ns, 'multi', {
      container: 'ticker',
      follow: true,
      tailLines: 1,
    });
    let lines = 0;
    const reading = (async () => {
      for await (const chunk of logs) lines += Buffer.from(chunk).toString().split('\n').length - 1;
    })().then(
      () => 'ended',
      () => 'broken',
    );
    await eventually(async () => (lines > 0 ? true : undefined), 10_000, 'a first log line');
    const started = Date.now();
    await cluster.agent.close();
    expect(await conn.done).toEqual({
      kind: 'error',
      message: 'the exec stream ended without a result (the node agent is shutting down)',
      reason: undefined,
    });
    expect(['ended', 'broken']).toContain(await reading);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

// A pod on the real engine through DockerRuntime: sandbox + containers sharing localhost, an
// emptyDir shared between containers, ConfigMap/Secret files present and read-only, env vars,
// idempotent re-runs (adoption), exec exit codes and removal of everything the pod owned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRuntimeError } from '../../agent/docker/errors.js';
import type { ConfigMap, Secret } from '../../src/api/index.js';
import { assertDockerAvailable, dockerClient, ensureImage } from '../support/docker.js';
import {
  cleanupRun,
  containerPlan,
  eventually,
  makePod,
  newRuntimeRun,
  plan,
  runPod,
  sh,
} from './support.js';

const docker = dockerClient();
const run = newRuntimeRun(docker);
const { runtime } = run;

const configMap: ConfigMap = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'web-config', namespace: 'test' },
  data: { 'index.html': 'hello from a configmap\n', MODE: 'production' },
};
const secret: Secret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'db', namespace: 'test' },
  data: { password: Buffer.from('s3cret-pw').toString('base64') },
};

beforeAll(async () => {
  await assertDockerAvailable(docker);
  await ensureImage('pause');
});

afterAll(async () => {
  await cleanupRun(docker, run.runId);
});

describe('a two-container pod', () => {
  const pod = makePod('web', {
    volumes: [
      { name: 'shared', emptyDir: {} },
      { name: 'config', configMap: { name: 'web-config' } },
      { name: 'creds', secret: { secretName: 'db' } },
    ],
    containers: [
      sh('server', 'echo served-by-server > /www/index.html; exec httpd -f -p 8080 -h /www', {
        volumeMounts: [{ name: 'shared', mountPath: '/www' }],
        ports: [{ containerPort: 8080 }],
      }),
      sh('client', 'echo client-was-here > /shared/client.txt; exec sleep 3600', {
        env: [
          { name: 'GREETING', value: 'hi' },
          { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'web-config', key: 'MODE' } } },
          { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'MSG', value: '$(GREETING) from $(POD_NAME)' },
        ],
        volumeMounts: [
          { name: 'shared', mountPath: '/shared' },
          { name: 'config', mountPath: '/etc/web' },
          { name: 'creds', mountPath: '/var/run/secrets/db' },
        ],
      }),
    ],
  });
  const p = plan(run, pod, { configMaps: { 'web-config': configMap }, secrets: { db: secret } });
  let sandbox: { id: string; ip: string };
  let ids: Record<string, string>;

  const exec = (name: string, script: string) =>
    runtime.execInContainer(ids[name]!, ['sh', '-c', script], { timeoutMs: 5000 });

  beforeAll(async () => {
    ({ sandbox, ids } = await runPod(run, p));
  });

  it('gives the pod an IP on the bridge and the pod name as hostname', async () => {
    expect(sandbox.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const r = await exec('client', 'hostname');
    expect(r.stdout.trim()).toBe('web');
  });

  it('lets containers talk over localhost', async () => {
    const r = await eventually(
      async () => {
        const out = await exec('client', 'wget -qO- http://127.0.0.1:8080/index.html');
        return out.exitCode === 0 ? out : undefined;
      },
      5000,
      'httpd on localhost',
    );
    expect(r.stdout).toBe('served-by-server\n');
  });

  it('shares an emptyDir between containers, writable by the pod UID', async () => {
    const r = await exec('server', 'cat /www/client.txt; id -u; stat -c %a /www');
    expect(r.stdout.split('\n')).toEqual(['client-was-here', '1000680000', '777', '']);
  });

  it('mounts ConfigMap and Secret files read-only with the right modes and owner', async () => {
    const r = await exec(
      'client',
      'cat /etc/web/index.html; cat /var/run/secrets/db/password; echo; stat -c "%a %u" /etc/web/index.html /var/run/secrets/db/password',
    );
    expect(r.stdout).toBe('hello from a configmap\ns3cret-pw\n644 1000680000\n640 1000680000\n');
    const write = await exec('client', 'echo x > /etc/web/index.html');
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    const writeSecret = await exec('client', 'touch /var/run/secrets/db/new');
    expect(writeSecret.exitCode).not.toBe(0);
  });

  it('keeps secret data off the disk (tmpfs-backed volume)', async () => {
    const r = await exec('client', "grep ' /var/run/secrets/db ' /proc/mounts");
    expect(r.stdout).toMatch(/^tmpfs /);
  });

  it('passes env vars, resolved and expanded', async () => {
    const r = await exec('client', 'echo "$GREETING|$MODE|$DB_PASSWORD|$POD_NAME|$MSG"');
    expect(r.stdout).toBe('hi|production|s3cret-pw|web|hi from web\n');
  });

  it('propagates exec exit codes and separates stdout from stderr', async () => {
    expect((await exec('client', 'exit 3')).exitCode).toBe(3);
    const r = await exec('client', 'echo out; echo err >&2; exit 0');
    expect(r).toEqual({ exitCode: 0, stdout: 'out\n', stderr: 'err\n', truncated: false });
  });

  it('times out a hanging exec', async () => {
    const started = Date.now();
    await expect(
      runtime.execInContainer(ids.client!, ['sleep', '30'], { timeoutMs: 300 }),
    ).rejects.toSatisfy((err) => isRuntimeError(err, 'Timeout'));
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('runs an interactive exec with stdin and reports its exit code', async () => {
    const session = await runtime.exec(
      ids.client!,
      ['sh', '-c', 'read line; echo "got:$line"; echo warn >&2; exit 4'],
      {
        tty: false,
        stdin: true,
      },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    session.stdout.on('data', (c: Buffer) => out.push(c));
    session.stderr.on('data', (c: Buffer) => err.push(c));
    session.stdin!.write('ping\n');
    expect(await session.exitCode).toBe(4);
    expect(Buffer.concat(out).toString()).toBe('got:ping\n');
    expect(Buffer.concat(err).toString()).toBe('warn\n');
  });

  it('runs a TTY exec that can be resized', async () => {
    const session = await runtime.exec(ids.client!, ['sh'], { tty: true, stdin: true });
    await session.resize({ cols: 100, rows: 40 });
    const out: Buffer[] = [];
    session.stdout.on('data', (c: Buffer) => out.push(c));
    session.stdin!.write('stty size; exit 7\n');
    expect(await session.exitCode).toBe(7);
    expect(Buffer.concat(out).toString()).toContain('40 100');
  });

  it('is idempotent: running the same instances again adopts them', async () => {
    const again = await runtime.runSandbox(p, { attempt: 0 });
    expect(again.id).toBe(sandbox.id);
    const id = await runtime.createContainer(p, containerPlan(p, 'client'), sandbox.id, {
      attempt: 0,
    });
    expect(id).toBe(ids.client);
  });

  it('reports the pod in listPods with its containers and volumes', async () => {
    const pods = await runtime.listPods();
    const mine = pods.find((x) => x.uid === pod.metadata.uid);
    expect(mine).toBeDefined();
    expect(mine!.sandboxes.map((s) => [s.id, s.state, s.ip])).toEqual([
      [sandbox.id, 'running', sandbox.ip],
    ]);
    expect(mine!.containers.map((c) => [c.containerName, c.id, c.state, c.hash])).toEqual([
      ['client', ids.client, 'running', containerPlan(p, 'client').hash],
      ['server', ids.server, 'running', containerPlan(p, 'server').hash],
    ]);
    expect(mine!.volumes).toEqual(p.volumes.map((v) => v.dockerName).sort());
  });

  it('removes the pod: containers and volumes gone, idempotently', async () => {
    const result = await runtime.removePod(pod.metadata.uid!);
    expect(result.containers).toHaveLength(3);
    expect(result.volumes).toHaveLength(3);
    expect((await runtime.listPods()).find((x) => x.uid === pod.metadata.uid)).toBeUndefined();
    expect(await runtime.removePod(pod.metadata.uid!)).toEqual({ containers: [], volumes: [] });
  });
});

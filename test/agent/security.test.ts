// X1 and X2 on the real engine: what Docker actually applied to a pod's containers, and that a
// fork bomb and a memory hog stay inside their limits while the engine keeps answering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRuntimeError } from '../../agent/docker/errors.js';
import { PodPlanError } from '../../agent/pods/plan.js';
import { assertDockerAvailable, dockerClient, ensureImage } from '../support/docker.js';
import {
  cleanupRun,
  containerPlan,
  eventually,
  FORK_BOMB_SCRIPT,
  makePod,
  MEMORY_HOG_SCRIPT,
  newRuntimeRun,
  plan,
  runPod,
  sh,
  watchPids,
} from './support.js';

const docker = dockerClient();
const run = newRuntimeRun(docker, { pidsLimit: 64 });
const { runtime } = run;

beforeAll(async () => {
  await assertDockerAvailable(docker);
  await ensureImage('pause');
});

afterAll(async () => {
  await cleanupRun(docker, run.runId);
});

describe('X1: every pod container is locked down', () => {
  const pod = makePod('locked', {
    volumes: [{ name: 'data', emptyDir: {} }],
    containers: [
      sh('app', 'exec sleep 3600', {
        resources: { limits: { memory: '64Mi', cpu: '500m' } },
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
        securityContext: { readOnlyRootFilesystem: true },
      }),
    ],
  });
  let ids: Record<string, string>;
  let sandboxId: string;

  beforeAll(async () => {
    const started = await runPod(run, plan(run, pod));
    ids = started.ids;
    sandboxId = started.sandbox.id;
  });

  it('shows the restrictions in HostConfig', async () => {
    const info = await docker.getContainer(ids.app!).inspect();
    const hc = info.HostConfig;
    expect(hc.CapDrop).toEqual(['ALL']);
    expect(hc.CapAdd ?? []).toEqual([]);
    expect(hc.SecurityOpt).toContain('no-new-privileges');
    expect(hc.PidsLimit).toBe(64);
    expect(hc.Memory).toBe(64 * 1024 * 1024);
    expect(hc.NanoCpus).toBe(500_000_000);
    expect(hc.Privileged).toBe(false);
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(hc.NetworkMode).toBe(`container:${sandboxId}`);
    expect(hc.IpcMode).toBe(`container:${sandboxId}`);
    expect(hc.PidMode ?? '').toBe('');
    expect((hc as { UTSMode?: string }).UTSMode ?? '').toBe('');
    expect((hc as { UsernsMode?: string }).UsernsMode ?? '').toBe('');
    expect(hc.Binds ?? []).toEqual([]);
    expect((hc as { Devices?: unknown[] }).Devices ?? []).toEqual([]);
    expect(info.Mounts.map((m) => m.Type)).toEqual(['volume']);
    expect(JSON.stringify(info)).not.toContain('docker.sock');
    expect(info.Config.User).toMatch(/^[1-9]\d*:\d+$/);
  });

  it('locks down the sandbox the same way (it runs as nobody)', async () => {
    const hc = (await docker.getContainer(sandboxId).inspect()).HostConfig;
    expect(hc).toMatchObject({
      CapDrop: ['ALL'],
      Privileged: false,
      NetworkMode: 'bridge',
      IpcMode: 'shareable',
    });
    expect(hc.SecurityOpt).toContain('no-new-privileges');
    expect(hc.PidsLimit).toBeGreaterThan(0);
    expect(hc.Binds ?? []).toEqual([]);
    expect((await docker.getContainer(sandboxId).inspect()).Config.User).toBe('65534:65534');
  });

  it('runs the process without root, capabilities or a way to gain privileges', async () => {
    const r = await runtime.execInContainer(
      ids.app!,
      [
        'sh',
        '-c',
        'id -u; grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status; touch /x 2>&1; touch /data/ok && echo data-ok',
      ],
      { timeoutMs: 5000 },
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('1000680000');
    expect(r.stdout).toMatch(/CapEff:\s+0{16}/);
    expect(r.stdout).toMatch(/CapBnd:\s+0{16}/);
    expect(r.stdout).toMatch(/NoNewPrivs:\s+1/);
    expect(r.stdout).toMatch(/Read-only file system/);
    expect(r.stdout).toContain('data-ok');
  });

  it('refuses privileged pods before anything reaches Docker', () => {
    const bad = makePod('bad', {
      containers: [sh('c', 'true', { securityContext: { privileged: true } })],
    });
    expect(() => plan(run, bad)).toThrow(PodPlanError);
    expect(() => plan(run, bad)).toThrow(
      'spec.containers[0].securityContext.privileged: Forbidden: privileged containers are not allowed by the restricted policy',
    );
  });

  it('refuses a tampered plan at the runtime (defence in depth), creating nothing', async () => {
    const p = plan(run, makePod('tampered', { containers: [sh('c', 'sleep 1')] }));
    const c = containerPlan(p, 'c');
    const tampered = {
      ...c,
      create: {
        ...c.create,
        HostConfig: {
          ...c.create.HostConfig,
          Binds: ['/var/run/docker.sock:/var/run/docker.sock'],
        },
      },
    };
    const sandbox = await runtime.runSandbox(p, { attempt: 0 });
    try {
      await expect(
        runtime.createContainer(p, tampered, sandbox.id, { attempt: 0 }),
      ).rejects.toSatisfy(
        (err) =>
          isRuntimeError(err, 'Unsafe') && /HostConfig\.Binds must be empty/.test(err.message),
      );
      // Nor may a container join another pod's sandbox.
      await expect(runtime.createContainer(p, c, sandboxId, { attempt: 0 })).rejects.toSatisfy(
        (err) => isRuntimeError(err, 'Conflict'),
      );
      const left = await docker.listContainers({
        all: true,
        filters: { label: [`io.slipway.pod.uid=${p.pod.uid}`] },
      });
      expect(left.map((x) => x.Id)).toEqual([sandbox.id]);
    } finally {
      await runtime.removePod(p.pod.uid, { graceSeconds: 0 });
    }
  });
});

describe('X2: resource abuse stays inside the container', () => {
  it('contains a fork bomb at the pids limit and the engine keeps answering', async () => {
    const bystander = makePod('bystander', { containers: [sh('idle', 'exec sleep 3600')] });
    const bomb = makePod('bomb', {
      terminationGracePeriodSeconds: 0,
      containers: [
        // Memory enough for 64 shells: only the pids limit may stop the bomb.
        sh('bomb', FORK_BOMB_SCRIPT, {
          resources: { limits: { cpu: '500m', memory: '256Mi' } },
        }),
      ],
    });
    const idle = await runPod(run, plan(run, bystander));
    const started = await runPod(run, plan(run, bomb));
    const id = started.ids.bomb!;
    try {
      const { samples, last } = await watchPids(docker, id, 2500);
      expect(Math.max(...samples)).toBeLessThanOrEqual(64);
      // The bomb really went off: it pressed against the limit (the count fluctuates as forks
      // fail and children exit, so allow some slack below 64) and the kernel refused forks.
      expect(Math.max(...samples)).toBeGreaterThanOrEqual(48);
      expect(last.max).toBe(64);
      expect(last.refused).toBeGreaterThan(0);

      const t0 = Date.now();
      await docker.ping();
      const r = await runtime.execInContainer(idle.ids.idle!, ['sh', '-c', 'echo alive'], {
        timeoutMs: 5000,
      });
      expect(r.stdout).toBe('alive\n');
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      await runtime.removePod(bomb.metadata.uid!, { graceSeconds: 0 });
      await runtime.removePod(bystander.metadata.uid!, { graceSeconds: 0 });
    }
    expect(await docker.listContainers({ all: true, filters: { id: [id] } })).toEqual([]);
  });

  it('ends a memory hog OOMKilled with exit code 137', async () => {
    const hog = makePod('hog', {
      terminationGracePeriodSeconds: 0,
      containers: [sh('hog', MEMORY_HOG_SCRIPT, { resources: { limits: { memory: '32Mi' } } })],
    });
    const { ids } = await runPod(run, plan(run, hog));
    try {
      const info = await eventually(
        async () => {
          const i = await runtime.inspect(ids.hog!);
          return i.running ? undefined : i;
        },
        15_000,
        'the hog to be killed',
      );
      expect(info.oomKilled).toBe(true);
      expect(info.exitCode).toBe(137);
      expect(info.state).toBe('exited');
      await docker.ping();
    } finally {
      await runtime.removePod(hog.metadata.uid!, { graceSeconds: 0 });
    }
  });
});

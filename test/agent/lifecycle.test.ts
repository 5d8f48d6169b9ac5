// Container lifecycle on the real engine: stop ordering (SIGTERM or the configured signal, then
// SIGKILL after the grace period), logs (follow, tail, timestamps, TTY), events, garbage
// collection, and listPods/removePod/GC never touching containers the agent does not own.
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogLine, RuntimeEvent } from '../../agent/docker/runtime.js';
import { DockerRuntime } from '../../agent/docker/runtime.js';
import { LABELS, MANAGED_BY } from '../../agent/docker/labels.js';
import { silentLogger } from '../../src/util/logger.js';
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

beforeAll(async () => {
  await assertDockerAvailable(docker);
  await ensureImage('pause');
});

afterAll(async () => {
  await cleanupRun(docker, run.runId);
});

/** Reads LogLine objects from a log stream until `count` arrived. */
async function take(stream: Readable, count: number): Promise<{ line: LogLine; at: number }[]> {
  const got: { line: LogLine; at: number }[] = [];
  for await (const line of stream) {
    got.push({ line: line as LogLine, at: Date.now() });
    if (got.length >= count) break;
  }
  return got;
}

async function readAll(stream: Readable): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const l of stream) lines.push(l as LogLine);
  return lines;
}

describe('stopping containers', () => {
  const loop = 'while :; do sleep 0.2 & wait $!; done';
  const pod = makePod('stopper', {
    terminationGracePeriodSeconds: 2,
    volumes: [{ name: 'log', emptyDir: {} }],
    containers: [
      sh(
        'graceful',
        `trap 'echo TERM >> /log/graceful; exit 0' TERM; echo started >> /log/graceful; ${loop}`,
        {
          volumeMounts: [{ name: 'log', mountPath: '/log' }],
        },
      ),
      sh(
        'stubborn',
        `trap 'echo TERM >> /log/stubborn' TERM; echo started >> /log/stubborn; ${loop}`,
        {
          volumeMounts: [{ name: 'log', mountPath: '/log' }],
        },
      ),
      sh('deaf', `trap '' TERM; echo started >> /log/deaf; ${loop}`, {
        volumeMounts: [{ name: 'log', mountPath: '/log' }],
      }),
      sh(
        'custom',
        `trap 'echo USR1 >> /log/custom; exit 0' USR1; echo started >> /log/custom; ${loop}`,
        {
          volumeMounts: [{ name: 'log', mountPath: '/log' }],
          lifecycle: { stopSignal: 'SIGUSR1' },
        },
      ),
      sh('reader', 'exec sleep 3600', { volumeMounts: [{ name: 'log', mountPath: '/log' }] }),
    ],
  });
  const p = plan(run, pod);
  let ids: Record<string, string>;

  const logOf = async (name: string): Promise<string> =>
    (await runtime.execInContainer(ids.reader!, ['cat', `/log/${name}`], { timeoutMs: 5000 }))
      .stdout;

  beforeAll(async () => {
    ({ ids } = await runPod(run, p));
    for (const name of ['graceful', 'stubborn', 'deaf', 'custom']) {
      await eventually(
        async () => ((await logOf(name)).includes('started') ? true : undefined),
        5000,
        `${name} to start`,
      );
    }
  });

  afterAll(async () => {
    await runtime.removePod(pod.metadata.uid!, { graceSeconds: 0 });
  });

  async function timedStop(name: string, grace: number, signal?: string): Promise<number> {
    const t0 = Date.now();
    await runtime.stopContainer(ids[name]!, grace, signal);
    return Date.now() - t0;
  }

  it('sends SIGTERM first; a container that handles it exits at once with its own code', async () => {
    const ms = await timedStop('graceful', 5);
    expect(ms).toBeLessThan(1500);
    expect(await logOf('graceful')).toBe('started\nTERM\n');
    const info = await runtime.inspect(ids.graceful!);
    expect([info.running, info.exitCode, info.oomKilled]).toEqual([false, 0, false]);
  });

  it('SIGKILLs after the grace period a container that got SIGTERM but kept running', async () => {
    const ms = await timedStop('stubborn', 2);
    expect(ms).toBeGreaterThanOrEqual(1900);
    expect(ms).toBeLessThan(5000);
    expect(await logOf('stubborn')).toBe('started\nTERM\n');
    expect((await runtime.inspect(ids.stubborn!)).exitCode).toBe(137);
  });

  it('SIGKILLs after the grace period a container that ignores SIGTERM', async () => {
    const ms = await timedStop('deaf', 1);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(4000);
    expect((await runtime.inspect(ids.deaf!)).exitCode).toBe(137);
  });

  it('uses the configured stop signal (lifecycle.stopSignal) instead of SIGTERM', async () => {
    const ms = await timedStop('custom', 5, containerPlan(p, 'custom').stopSignal);
    expect(ms).toBeLessThan(1500);
    expect(await logOf('custom')).toBe('started\nUSR1\n');
    expect((await runtime.inspect(ids.custom!)).exitCode).toBe(0);
  });

  it('treats stopping a stopped container as done', async () => {
    expect(await timedStop('graceful', 5)).toBeLessThan(500);
  });
});

describe('logs', () => {
  const pod = makePod('logger', {
    containers: [
      sh(
        'ticker',
        'i=0; while :; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); sleep 0.2; done',
      ),
      sh('tty', 'echo "hello tty"; exec sleep 3600', { tty: true }),
    ],
  });
  let ids: Record<string, string>;

  beforeAll(async () => {
    ({ ids } = await runPod(run, plan(run, pod)));
  });

  afterAll(async () => {
    await runtime.removePod(pod.metadata.uid!, { graceSeconds: 0 });
  });

  it('follows lines as they are written, stdout and stderr apart', async () => {
    const ac = new AbortController();
    const stream = await runtime.logs(ids.ticker!, { follow: true, signal: ac.signal });
    const got = await take(stream, 10);
    ac.abort();
    const out = got.filter((g) => g.line.stream === 'stdout').map((g) => g.line.text);
    const err = got.filter((g) => g.line.stream === 'stderr').map((g) => g.line.text);
    expect(out.length + err.length).toBe(10);
    const n = (s: string): number => Number(s.split(' ')[1]);
    expect(out.every((s) => /^out \d+$/.test(s))).toBe(true);
    expect(err.every((s) => /^err \d+$/.test(s))).toBe(true);
    expect(out.map(n)).toEqual([...out.map(n)].sort((a, b) => a - b));
    // Streaming, not a snapshot: later lines arrived while the container was still writing them.
    expect(got[9]!.at - got[0]!.at).toBeGreaterThanOrEqual(300);
    expect(stream.destroyed).toBe(true);
  });

  it('returns only the last lines with tail, and parses timestamps', async () => {
    await eventually(async () =>
      (await readAll(await runtime.logs(ids.ticker!))).length >= 6 ? true : undefined,
    );
    const tail = await readAll(await runtime.logs(ids.ticker!, { tail: 3 }));
    expect(tail).toHaveLength(3);
    const stamped = await readAll(
      await runtime.logs(ids.ticker!, { tail: 2, timestamps: true, stderr: false }),
    );
    expect(stamped.length).toBeGreaterThanOrEqual(1);
    expect(stamped.length).toBeLessThanOrEqual(2);
    for (const l of stamped) {
      expect(l.stream).toBe('stdout');
      expect(l.text).toMatch(/^out \d+$/);
      expect(Date.parse(l.timestamp!)).toBeGreaterThan(Date.now() - 60_000);
    }
  });

  it('reads TTY logs, which are not multiplexed', async () => {
    const lines = await eventually(async () => {
      const l = await readAll(await runtime.logs(ids.tty!));
      return l.length > 0 ? l : undefined;
    });
    expect(lines).toEqual([{ stream: 'stdout', text: 'hello tty' }]);
  });
});

describe('events', () => {
  it('reports start and die (with exit code) of pod containers within a second, nothing else', async () => {
    const ac = new AbortController();
    const seen: { event: RuntimeEvent; at: number }[] = [];
    const iterator = runtime.events(ac.signal)[Symbol.asyncIterator]();
    const collecting = (async () => {
      for (;;) {
        const r = await iterator.next();
        if (r.done) return;
        seen.push({ event: r.value, at: Date.now() });
      }
    })();
    // A container the agent does not own dies too: it must not show up.
    const foreign = await docker.createContainer({
      Image: 'slipway/pause:1',
      Entrypoint: ['sh', '-c', 'exit 5'],
      Labels: run.labels,
      HostConfig: { NetworkMode: 'none' },
    });
    await new Promise((r) => setTimeout(r, 300)); // let the watch connect
    await foreign.start();

    const pod = makePod('dier', { containers: [sh('dier', 'sleep 0.3; exit 2')] });
    const { ids } = await runPod(run, plan(run, pod));
    const die = await eventually(
      async () => seen.find((s) => s.event.type === 'die' && s.event.containerId === ids.dier),
      5000,
      'die',
    );
    const info = await runtime.inspect(ids.dier!);
    expect(die.event).toMatchObject({
      podUid: pod.metadata.uid,
      containerName: 'dier',
      exitCode: 2,
      podName: 'dier',
    });
    expect(die.at - Date.parse(info.finishedAt!)).toBeLessThan(1000);
    expect(seen.some((s) => s.event.type === 'start' && s.event.containerId === ids.dier)).toBe(
      true,
    );
    expect(seen.some((s) => s.event.type === 'start' && s.event.containerName === 'POD')).toBe(
      true,
    );

    await runtime.removeContainer(ids.dier!);
    await eventually(
      async () => seen.find((s) => s.event.type === 'destroy' && s.event.containerId === ids.dier),
      5000,
      'destroy',
    );
    expect(seen.some((s) => s.event.containerId === foreign.id)).toBe(false);

    ac.abort();
    await collecting;
    await runtime.removePod(pod.metadata.uid!, { graceSeconds: 0 });
    await foreign.remove({ force: true });
  });
});

describe('inventory and garbage collection', () => {
  it('groups pods by uid, adopts them from a fresh runtime, and ignores what it does not own', async () => {
    const a = makePod('pod-a', {
      containers: [sh('one', 'exec sleep 3600'), sh('two', 'exec sleep 3600')],
    });
    const b = makePod('pod-b', { containers: [sh('only', 'exec sleep 3600')] });
    const ra = await runPod(run, plan(run, a));
    const rb = await runPod(run, plan(run, b));
    // Unlabelled (only the test's labels) and another node's: neither may be touched.
    const unlabelled = await docker.createContainer({
      Image: 'slipway/pause:1',
      Labels: run.labels,
      HostConfig: { NetworkMode: 'none' },
    });
    await unlabelled.start();
    const otherNode = await docker.createContainer({
      Image: 'slipway/pause:1',
      Labels: {
        ...run.labels,
        [LABELS.managedBy]: MANAGED_BY,
        [LABELS.node]: `${run.nodeName}-other`,
        [LABELS.podUid]: a.metadata.uid!,
        [LABELS.containerName]: 'intruder',
      },
      HostConfig: { NetworkMode: 'none' },
    });

    // A new runtime object (as after an agent restart) sees the same thing: no local state.
    const restarted = new DockerRuntime({ docker, logger: silentLogger(), nodeName: run.nodeName });
    const pods = await restarted.listPods();
    expect(pods.map((p) => p.uid).sort()).toEqual([a.metadata.uid, b.metadata.uid].sort());
    const pa = pods.find((p) => p.uid === a.metadata.uid)!;
    expect(pa).toMatchObject({ namespace: 'test', name: 'pod-a', volumes: [] });
    expect(pa.sandboxes.map((s) => s.id)).toEqual([ra.sandbox.id]);
    expect(pa.containers.map((c) => [c.containerName, c.id, c.sandboxId])).toEqual([
      ['one', ra.ids.one, ra.sandbox.id],
      ['two', ra.ids.two, ra.sandbox.id],
    ]);
    const pb = pods.find((p) => p.uid === b.metadata.uid)!;
    expect(pb.containers.map((c) => c.id)).toEqual([rb.ids.only]);

    // Refuses to act on containers it does not own.
    await expect(restarted.removeContainer(unlabelled.id)).rejects.toThrow(/not managed/);
    await expect(restarted.stopContainer(otherNode.id, 0)).rejects.toThrow(/not managed/);

    await restarted.removePod(a.metadata.uid!, { graceSeconds: 0 });
    await restarted.garbageCollect(0);
    const after = await restarted.listPods();
    expect(after.map((p) => p.uid)).toEqual([b.metadata.uid]);
    expect((await docker.getContainer(unlabelled.id).inspect()).State.Running).toBe(true);
    expect((await docker.getContainer(otherNode.id).inspect()).Id).toBe(otherNode.id);

    await restarted.removePod(b.metadata.uid!, { graceSeconds: 0 });
    await unlabelled.remove({ force: true });
    await otherNode.remove({ force: true });
  });

  it('keeps only the newest dead instance per pod container', async () => {
    const pod = makePod('jobs', { containers: [sh('job', 'echo done')], restartPolicy: 'Never' });
    const p = plan(run, pod);
    const sandbox = await runtime.runSandbox(p, { attempt: 0 });
    const ids: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const id = await runtime.createContainer(p, containerPlan(p, 'job'), sandbox.id, {
        attempt,
        restartCount: attempt,
      });
      await runtime.startContainer(id);
      await eventually(
        async () => ((await runtime.inspect(id)).running ? undefined : true),
        5000,
        'job to exit',
      );
      ids.push(id);
    }
    const before = (await runtime.listPods()).find((x) => x.uid === pod.metadata.uid)!;
    expect(before.containers.map((c) => [c.attempt, c.restartCount, c.state, c.exitCode])).toEqual([
      [2, 2, 'exited', 0],
      [1, 1, 'exited', 0],
      [0, 0, 'exited', 0],
    ]);

    const { removed } = await runtime.garbageCollect();
    expect(removed.sort()).toEqual([ids[0], ids[1]].sort());
    const after = (await runtime.listPods()).find((x) => x.uid === pod.metadata.uid)!;
    expect(after.containers.map((c) => c.id)).toEqual([ids[2]]);
    expect(after.sandboxes.map((s) => s.id)).toEqual([sandbox.id]);
    // The kept instance still has its logs (for `logs --previous`).
    expect(await readAll(await runtime.logs(ids[2]!))).toEqual([
      { stream: 'stdout', text: 'done' },
    ]);
    expect((await runtime.garbageCollect()).removed).toEqual([]);
    await runtime.removePod(pod.metadata.uid!, { graceSeconds: 0 });
  });
});

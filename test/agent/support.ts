// Shared set-up for the runtime integration tests: a DockerRuntime for a node name unique to the
// test run (so listPods/GC only ever see this run's objects), pod builders, and clean-up of every
// container, volume and image the run labelled.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type Docker from 'dockerode';
import { DockerRuntime } from '../../agent/docker/runtime.js';
import {
  planPod,
  type PlanOptions,
  type PodPlan,
  type ContainerPlan,
} from '../../agent/pods/plan.js';
import type { ConfigMap, Container, Pod, PodSpec, Secret } from '../../src/api/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { newTestRun, removeContainersByLabel, TEST_RUN_LABEL } from '../support/docker.js';

export interface TestRun {
  runId: string;
  labels: Record<string, string>;
  nodeName: string;
  runtime: DockerRuntime;
  options: PlanOptions;
}

export function newRuntimeRun(
  docker: Docker,
  overrides: Partial<PlanOptions> = {},
  pauseImage?: string,
): TestRun {
  const run = newTestRun();
  const nodeName = `test-${run.runId}`;
  const runtime = new DockerRuntime({
    docker,
    logger: silentLogger(),
    nodeName,
    extraLabels: run.labels,
    ...(pauseImage ? { pauseImage } : {}),
  });
  const options: PlanOptions = {
    nodeName,
    uid: 1000680000,
    gid: 0,
    logMaxSize: '1m',
    logMaxFiles: 1,
    ...overrides,
  };
  return { ...run, nodeName, runtime, options };
}

/** Removes every container, then volume, then image this run labelled; returns what was left. */
export async function cleanupRun(
  docker: Docker,
  runId: string,
): Promise<{ containers: number; volumes: number }> {
  const containers = await removeContainersByLabel(docker, TEST_RUN_LABEL, runId);
  const { Volumes } = await docker.listVolumes({
    filters: { label: [`${TEST_RUN_LABEL}=${runId}`] },
  });
  for (const v of Volumes ?? []) {
    try {
      await docker.getVolume(v.Name).remove({ force: true });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  }
  const images = await docker.listImages({ filters: { label: [`${TEST_RUN_LABEL}=${runId}`] } });
  for (const img of images) {
    try {
      await docker.getImage(img.Id).remove({ force: true });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  }
  return { containers, volumes: (Volumes ?? []).length };
}

/** A BusyBox container running a shell script (the pause image has every BusyBox applet). */
export function sh(name: string, script: string, extra: Partial<Container> = {}): Container {
  return {
    name,
    image: 'slipway/pause:1',
    imagePullPolicy: 'Never',
    command: ['sh', '-c', script],
    ...extra,
  };
}

export function makePod(name: string, spec: Partial<PodSpec> & Pick<PodSpec, 'containers'>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'test', uid: randomUUID() },
    spec: { terminationGracePeriodSeconds: 2, ...spec },
  };
}

export function plan(
  run: TestRun,
  pod: Pod,
  data: { configMaps?: Record<string, ConfigMap>; secrets?: Record<string, Secret> } = {},
): PodPlan {
  return planPod({ pod, ...data }, run.options);
}

export function containerPlan(p: PodPlan, name: string): ContainerPlan {
  const r =
    p.containers.find((c) => c.name === name) ?? p.initContainers.find((c) => c.name === name);
  if (!r?.plan) throw new Error(`no plan for ${name}: ${r?.error?.message ?? 'unknown container'}`);
  return r.plan;
}

/** Runs the sandbox and creates + starts every container of the pod; returns their IDs by name. */
export async function runPod(
  run: TestRun,
  p: PodPlan,
): Promise<{ sandbox: { id: string; ip: string }; ids: Record<string, string> }> {
  const sandbox = await run.runtime.runSandbox(p, { attempt: 0 });
  const ids: Record<string, string> = {};
  for (const r of p.containers) {
    if (!r.plan) throw new Error(`container ${r.name}: ${r.error.message}`);
    const id = await run.runtime.createContainer(p, r.plan, sandbox.id, { attempt: 0 });
    await run.runtime.startContainer(id);
    ids[r.name] = id;
  }
  return { sandbox, ids };
}

/** Polls `fn` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  fn: () => Promise<T | undefined>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- resource abuse (X2), shared by the runtime-level and the agent-level tests ---------------

/**
 * A fork bomb: the classic `:(){ :|:& };:` (BusyBox sh refuses ':' as a function name). PID 1
 * forks once, before any other process exists, and its child starts the bomb; PID 1 then execs
 * sleep (no fork needed) and exits after 20 s, taking the namespace's processes with it: the bomb
 * is bounded even if the test dies. (Calling the function in PID 1 itself would make PID 1 fork
 * both halves of the pipe, and the second fork can already meet the limit: ash exits 2.)
 */
export const FORK_BOMB_SCRIPT = 'bomb() { bomb | bomb & }; bomb & exec sleep 20';

/** Allocates memory until the kernel's OOM killer ends it. */
export const MEMORY_HOG_SCRIPT = 'exec tail /dev/zero';

/** The container's pids cgroup (cgroup v1, Docker's cgroupfs driver). */
export interface PidsCgroup {
  current: number;
  max: number;
  /** Forks refused because the limit was reached (`pids.events` "max"). */
  refused: number;
}

export async function readPidsCgroup(containerId: string): Promise<PidsCgroup> {
  const dir = `/sys/fs/cgroup/pids/docker/${containerId}`;
  const read = async (file: string): Promise<string> =>
    (await readFile(`${dir}/${file}`, 'utf8')).trim();
  const events = await read('pids.events');
  return {
    current: Number(await read('pids.current')),
    max: Number(await read('pids.max')),
    refused: Number(/^max (\d+)$/m.exec(events)?.[1] ?? 0),
  };
}

/**
 * Samples a container's number of processes for `durationMs` (its pids cgroup and `docker
 * stats`), calling `during` between samples; returns every sample and the cgroup at the end.
 */
export async function watchPids(
  docker: Docker,
  containerId: string,
  durationMs: number,
  during: () => Promise<void> = async () => undefined,
): Promise<{ samples: number[]; last: PidsCgroup }> {
  const samples: number[] = [];
  const deadline = Date.now() + durationMs;
  let last: PidsCgroup | undefined;
  while (Date.now() < deadline || last === undefined) {
    const stats = await docker.getContainer(containerId).stats({ stream: false, 'one-shot': true });
    // Read within the window: `during` may be slow on a loaded machine, and the container's
    // cgroup goes when its bounded script ends.
    last = await readPidsCgroup(containerId);
    samples.push(stats.pids_stats?.current ?? 0, last.current);
    await during();
    await new Promise((r) => setTimeout(r, 200));
  }
  return { samples, last };
}

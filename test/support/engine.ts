// A second Docker engine for tests that must stop, kill or restart an engine without touching the
// machine's shared one: its own dockerd inside a network namespace the test creates
// (environment.md, "Several hosts on one machine"), with its own data and exec roots, socket and
// bridge subnet 10.131.X.0/24, routed from the host through a veth pair (10.130.X.0/30), so the
// host reaches its containers' IPs as it would another node's (host-gw).
//
// Needs root, `ip`, `nsenter` and `dockerd`; fails (never skips) when it cannot set up. Cleanup
// stops that dockerd by its PID and removes the namespace, veth, route and directories; it is
// safe to call twice, and runs (synchronously, best effort) when the process exits.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const execFileAsync = promisify(execFile);

export interface SecondEngineOptions {
  /** Seconds dockerd gives containers to stop when it shuts down (default 3). */
  shutdownTimeoutSeconds?: number;
  /** How long to wait for the engine to answer after a start (default 30 s). */
  startTimeoutMs?: number;
}

export interface SecondEngine {
  /** The network namespace (also the base of the interface names). */
  netns: string;
  /** `unix:///...`, for an agent's `docker` setting. */
  endpoint: string;
  socketPath: string;
  /** A client for this engine. */
  docker: Docker;
  /** The containers' subnet (`--bip`), e.g. 10.131.57.0/24, and its gateway 10.131.57.1. */
  subnet: string;
  bridgeGateway: string;
  /** The host's end of the veth pair: an address of this host that the namespace reaches. */
  hostAddress: string;
  /** The namespace's end of the veth pair. */
  netnsAddress: string;
  /** The running dockerd's PID (undefined while stopped). */
  pid(): number | undefined;
  /** dockerd's log so far (for failure messages). */
  log(): string;
  /** SIGTERM to dockerd, then waits for it to exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
  /** Starts dockerd again on the same directories and waits until it answers. */
  start(): Promise<void>;
  /** Stops dockerd and removes everything the set-up created. Idempotent. */
  cleanup(): Promise<void>;
}

async function run(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { timeout: 30_000 });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || (err as Error).message}`, {
      cause: err,
    });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** An index X whose names and subnets nothing on this host uses yet. */
async function freeIndex(): Promise<number> {
  const routes = await run('ip', ['-4', 'route', 'show']);
  const links = await run('ip', ['-o', 'link', 'show']);
  const namespaces = await run('ip', ['netns', 'list']);
  for (let i = 0; i < 50; i++) {
    const x = randomInt(100, 250);
    const taken =
      routes.includes(`10.131.${x}.`) ||
      routes.includes(`10.130.${x}.`) ||
      links.includes(`swh${x}@`) ||
      links.includes(`swh${x}:`) ||
      namespaces.split('\n').some((l) => l.split(' ')[0] === `slipway-eng${x}`);
    if (!taken) return x;
  }
  throw new Error('no free 10.131.X.0/24 subnet for a test engine');
}

/**
 * Creates the namespace and its network, starts a dockerd in it and waits until it answers.
 * On any failure everything created so far is removed and the error thrown.
 */
export async function startSecondEngine(options: SecondEngineOptions = {}): Promise<SecondEngine> {
  if (process.getuid?.() !== 0) {
    throw new Error('a second Docker engine needs root (network namespaces, dockerd)');
  }
  for (const tool of ['ip', 'nsenter', 'dockerd']) {
    try {
      await run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      throw new Error(`a second Docker engine needs "${tool}" on PATH`);
    }
  }
  const x = await freeIndex();
  const netns = `slipway-eng${x}`;
  const hostIf = `swh${x}`;
  const nsIf = `swn${x}`;
  const hostAddress = `10.130.${x}.1`;
  const netnsAddress = `10.130.${x}.2`;
  const subnet = `10.131.${x}.0/24`;
  const bridgeGateway = `10.131.${x}.1`;
  // Short paths: containerd's socket lives under the exec root and a socket path is limited to
  // 108 bytes.
  const dir = await mkdtemp('/tmp/sweng-');
  const dataRoot = join(dir, 'data');
  const execRoot = join(dir, 'exec');
  const socketPath = join(dir, 'docker.sock');
  const pidFile = join(dir, 'docker.pid');
  const logFile = join(dir, 'dockerd.log');
  await mkdir(dataRoot);
  await mkdir(execRoot);
  const shutdownTimeout = options.shutdownTimeoutSeconds ?? 3;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const docker = new Docker({ socketPath });
  const inNs = (args: string[]): Promise<string> =>
    run('nsenter', [`--net=/var/run/netns/${netns}`, ...args]);

  let child: ChildProcess | undefined;
  let cleaned = false;
  const undo: { what: string; sync: () => void }[] = [];

  /** Resolves true once the process has exited (and been reaped), false after `timeoutMs`. */
  const waitForExit = (proc: ChildProcess, timeoutMs: number): Promise<boolean> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  };

  const engine: SecondEngine = {
    netns,
    endpoint: `unix://${socketPath}`,
    socketPath,
    docker,
    subnet,
    bridgeGateway,
    hostAddress,
    netnsAddress,
    pid: () =>
      child && child.exitCode === null && child.signalCode === null ? child.pid : undefined,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async stop(timeoutMs = 30_000) {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      if (!(await waitForExit(proc, timeoutMs))) {
        proc.kill('SIGKILL');
        await waitForExit(proc, 5000);
      }
    },
    async start() {
      if (engine.pid() !== undefined) throw new Error('the test engine already runs');
      const log = openSync(logFile, 'a');
      try {
        // nsenter execs dockerd: the child's PID is dockerd's.
        child = spawn(
          'nsenter',
          [
            `--net=/var/run/netns/${netns}`,
            'dockerd',
            '--data-root',
            dataRoot,
            '--exec-root',
            execRoot,
            '-H',
            `unix://${socketPath}`,
            '--pidfile',
            pidFile,
            '--bip',
            `${bridgeGateway}/24`,
            '--shutdown-timeout',
            String(shutdownTimeout),
          ],
          { stdio: ['ignore', log, log] },
        );
      } finally {
        closeSync(log);
      }
      const started = child;
      const deadline = Date.now() + startTimeoutMs;
      for (;;) {
        if (started.exitCode !== null || started.signalCode !== null) {
          throw new Error(`the test dockerd exited at start:\n${engine.log().slice(-3000)}`);
        }
        try {
          await docker.ping();
          return;
        } catch {
          // not yet
        }
        if (Date.now() > deadline) {
          throw new Error(
            `the test dockerd did not answer within ${startTimeoutMs} ms:\n${engine.log().slice(-3000)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      process.off('exit', onExit);
      await engine.stop();
      for (const step of undo.splice(0).reverse()) {
        try {
          step.sync();
        } catch {
          // already gone
        }
      }
      await unmountUnder(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };

  // Synchronous last resort when the test process ends without cleaning up.
  const onExit = (): void => {
    const pid = child?.pid;
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
    for (const step of [...undo].reverse()) {
      try {
        step.sync();
      } catch {
        // best effort
      }
    }
  };
  process.on('exit', onExit);

  const step = async (what: string, create: () => Promise<unknown>, remove: string[]) => {
    await create();
    undo.push({
      what,
      sync: () => execFileSync(remove[0]!, remove.slice(1), { stdio: 'ignore', timeout: 10_000 }),
    });
  };

  try {
    await step('netns', () => run('ip', ['netns', 'add', netns]), ['ip', 'netns', 'del', netns]);
    await step(
      'veth',
      () => run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]),
      ['ip', 'link', 'del', hostIf],
    );
    await run('ip', ['link', 'set', nsIf, 'netns', netns]);
    await run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostIf]);
    await run('ip', ['link', 'set', hostIf, 'up']);
    await inNs(['ip', 'addr', 'add', `${netnsAddress}/30`, 'dev', nsIf]);
    await inNs(['ip', 'link', 'set', nsIf, 'up']);
    await inNs(['ip', 'link', 'set', 'lo', 'up']);
    await inNs(['ip', 'route', 'add', 'default', 'via', hostAddress]);
    await step('route', () => run('ip', ['route', 'add', subnet, 'via', netnsAddress]), [
      'ip',
      'route',
      'del',
      subnet,
    ]);
    await engine.start();
  } catch (err) {
    await engine.cleanup().catch(() => undefined);
    throw err;
  }
  return engine;
}

/** Unmounts whatever a stopped dockerd left mounted below `dir` (deepest first). */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
}

/** Copies an image from one engine to another (`docker save | docker load`). */
export async function copyImage(from: Docker, to: Docker, ref: string): Promise<void> {
  const tar = await from.getImage(ref).get();
  const answer = await to.loadImage(tar);
  // The load runs while its answer streams; it is done when the answer ends.
  await new Promise<void>((resolve, reject) => {
    answer.on('error', reject);
    answer.on('end', resolve);
    answer.resume();
  });
  await to.getImage(ref).inspect();
}

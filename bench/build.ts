/**
 * Build times through the whole platform, against a plain `docker build` + `docker push` of the
 * same application in the same run on the same engine and registry:
 *
 *   cold S2I build       a new BuildConfig's first build: no previous image, builder present
 *   no-change rebuild    the same commit again (incremental: node_modules reused)
 *   code-change rebuild  a commit changing server.js (incremental)
 *   docker build + push  FROM the same nodejs builder image: COPY, npm ci, CMD; --no-cache;
 *                        measured before and after each round's S2I builds (network caches
 *                        then favour neither)
 *
 * BENCH_ROUNDS rounds (default 3), each with a new BuildConfig; the ratios are of medians.
 *
 * An S2I build is timed as a user waits for it: `slipway start-build NAME -w`, from start to the
 * build being Complete (cloned, assembled, committed, pushed, tag moved). The docker baseline is
 * `docker build` then `docker push` (classic builder, as the agent's Docker builds use) of a
 * local directory; it has no git clone to do. Prints each time, the agent's own figure and the
 * phases of each build (from its log), and the ratios against their targets.
 *
 *   npm run bench:build                       # the node-express fixture (Express, ~70 packages)
 *   BENCH_APP=node-deps npm run bench:build   # another fixture of test/fixtures/apps
 *   BENCH_VERBOSE=1 npm run bench:build       # also print each build's timestamped log
 *   BENCH_ROUNDS=1 npm run bench:build        # one round (about a minute)
 *
 * Needs a built checkout (`npm run build`), a Docker engine, git, and the npm registry reachable
 * from containers. Runs `slipway up` in a temporary HOME with its own registry, serves the
 * application with `git daemon` on 127.0.0.1, and removes everything it made before it exits (or
 * after BENCH_TIMEOUT_S, default 900 s, whatever happened).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const SLIPWAY = join(ROOT, 'bin', 'slipway.js');
const APP = process.env.BENCH_APP ?? 'node-express';
const APP_DIR = join(ROOT, 'test', 'fixtures', 'apps', APP);
const RUN_ID = `bench-build-${process.pid}-${Date.now().toString(36)}`;
const NODE_NAME = `bench-build-${process.pid}`;

/** Agents keep their service rules when they stop; this run's node is gone for good. */
async function removeNodeRules(nodeName: string): Promise<void> {
  const module = join(ROOT, 'dist', 'agent', 'network', 'service-proxy.js');
  const { removeServiceRules } = (await import(pathToFileURL(module).href)) as {
    removeServiceRules: (node: string) => Promise<boolean>;
  };
  await removeServiceRules(nodeName).catch(() => false);
}
const NS = 'bench';
const BUILDER = 'openshift/nodejs:18';
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_S ?? 900);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Where the machine's CA bundle goes in the application (see trustFiles). */
const TRUST_PATH = '.trust/ca.pem';
const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
};

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion (at most `timeoutMs`); never throws for a non-zero exit. */
async function runCommand(
  cmd: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<Result> {
  const started = performance.now();
  const child = spawn(cmd, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // A command that exits without reading its input must not take the benchmark down.
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).finally(() => clearTimeout(timer));
  return { code, stdout, stderr, ms: performance.now() - started };
}

async function must(
  cmd: string,
  args: readonly string[],
  options: Parameters<typeof runCommand>[2] = {},
): Promise<Result> {
  const res = await runCommand(cmd, args, options);
  if (res.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} exited with ${res.code}:\n${res.stderr}${res.stdout}`,
    );
  }
  return res;
}

let home = '';
const slipwayEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SLIPWAY_')) env[k] = v;
  return {
    ...env,
    HOME: home,
    SLIPWAY_AGENT_NODE_NAME: NODE_NAME,
    SLIPWAY_AGENT_LABELS: `slipway.bench=${RUN_ID}`,
  };
};

function slipway(args: readonly string[], options: { stdin?: string; timeoutMs?: number } = {}) {
  return must(NODE, [SLIPWAY, ...args], { ...options, env: slipwayEnv() });
}

function docker(args: readonly string[], timeoutMs = 120_000, stdin?: string) {
  // The classic builder: the one the agent's Docker-strategy builds use (no buildx here). The
  // docker CLI's credentials (the registry login) stay in the bench's own HOME.
  return must('docker', args, {
    env: { ...process.env, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(home, '.docker') },
    timeoutMs,
    ...(stdin !== undefined ? { stdin } : {}),
  });
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', ['-c', 'init.defaultBranch=main', ...args], {
    cwd,
    env: { ...process.env, ...GIT_ENV },
  });
  return stdout.trim();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Builds that install from the npm registry must trust what this machine trusts (an HTTPS
 * proxy may intercept): the machine's bundle goes into the application, and NODE_EXTRA_CA_CERTS
 * points at it in both the S2I build's and the Dockerfile's environment.
 */
async function trustFiles(): Promise<string | undefined> {
  const bundle = [process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'].find(
    (p): p is string => !!p && existsSync(p),
  );
  return bundle ? readFile(bundle, 'utf8') : undefined;
}

interface Stack {
  registry: string;
  registryContainer: string;
  gitDaemon: ChildProcess;
  gitRoot: string;
  work: string;
  url: string;
  trust: string | undefined;
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

async function startStack(stack: Partial<Stack>): Promise<Stack> {
  const up = await slipway(
    ['up', '--listen', '127.0.0.1:0', '--registry', '127.0.0.1:0', '--no-router'],
    {
      timeoutMs: 180_000,
    },
  );
  const m = /^ {2}registry {5}(127\.0\.0\.1:\d+) \(container (\S+),/m.exec(up.stdout);
  if (!m) throw new Error(`no registry in the output of slipway up:\n${up.stdout}`);
  stack.registry = m[1]!;
  stack.registryContainer = m[2]!;
  // The server pushes the builder images to its fresh registry in the background.
  await poll(
    'the openshift/nodejs image stream',
    async () => {
      const is = JSON.parse(
        (await slipway(['get', 'is', 'nodejs', '-n', 'openshift', '-o', 'json'])).stdout,
      ) as { status?: { tags?: { tag: string; items?: unknown[] }[] } };
      return is.status?.tags?.find((t) => t.tag === 'latest')?.items?.length ? true : undefined;
    },
    180_000,
  );
  await slipway(['new-project', NS]);
  // The registry takes no anonymous push: the baseline logs in as users do.
  const token = (await slipway(['whoami', '-t'])).stdout.trim();
  await docker(['login', stack.registry, '-u', 'admin', '--password-stdin'], 30_000, token);

  // The application as a git repository served by git daemon on loopback.
  const gitRoot = await mkdtemp(join(tmpdir(), 'slipway-bench-git-'));
  stack.gitRoot = gitRoot;
  const work = join(gitRoot, 'work');
  stack.work = work;
  await cp(APP_DIR, work, { recursive: true });
  stack.trust = await trustFiles();
  if (stack.trust) {
    await mkdir(join(work, '.trust'), { recursive: true });
    await writeFile(join(work, TRUST_PATH), stack.trust);
  }
  await git(work, 'init', '-q');
  await git(work, 'add', '-A');
  await git(work, 'commit', '-q', '-m', 'Initial commit');
  await git(gitRoot, 'clone', '-q', '--bare', work, join(gitRoot, 'app.git'));
  await git(work, 'remote', 'add', 'origin', join(gitRoot, 'app.git'));
  const port = await freePort();
  stack.gitDaemon = spawn(
    'git',
    [
      'daemon',
      '--reuseaddr',
      '--export-all',
      `--base-path=${gitRoot}`,
      '--listen=127.0.0.1',
      `--port=${port}`,
      gitRoot,
    ],
    { stdio: 'ignore', env: { ...process.env, ...GIT_ENV } },
  );
  stack.url = `git://127.0.0.1:${port}/app.git`;
  await poll(
    'git daemon',
    async () =>
      (await runCommand('git', ['ls-remote', stack.url!])).code === 0 ? true : undefined,
    10_000,
  );
  return stack as Stack;
}

/** The BuildConfig new-build writes, incremental, building only when asked. */
async function createBuildConfig(stack: Stack, name: string): Promise<void> {
  const env = stack.trust ? ['-e', `NODE_EXTRA_CA_CERTS=/opt/app-root/src/${TRUST_PATH}`] : [];
  const list = JSON.parse(
    (
      await slipway([
        'new-build',
        `nodejs~${stack.url}`,
        '--name',
        name,
        ...env,
        '-n',
        NS,
        '-o',
        'json',
      ])
    ).stdout,
  ) as { items: { kind: string; spec: Record<string, unknown> }[] };
  const bc = list.items.find((i) => i.kind === 'BuildConfig')!;
  const spec = bc.spec as {
    strategy: { sourceStrategy: { incremental?: boolean } };
    triggers?: { type: string }[];
  };
  spec.strategy.sourceStrategy.incremental = true;
  spec.triggers = (spec.triggers ?? []).filter((t) => t.type === 'Generic' || t.type === 'GitHub');
  await slipway(['create', '-n', NS, '-f', '-'], { stdin: JSON.stringify(list) });
}

interface Timed {
  ms: number;
  /** "Build complete in 6.4s" of the agent: the build itself, without scheduling. */
  agentMs: number;
  phases: string;
}

/** Milestones of the build log, in seconds from its first line. */
function phases(log: string): string {
  const marks: [string, RegExp][] = [
    ['fetched', /^\s+Commit:/],
    ['artifacts', /^Restored \d+ artifact|Clean build will be performed/],
    ['assembled', /^---> Build complete/],
    ['committed', /^Committed the build/],
    ['pushed', /^Push successful/],
  ];
  const lines = log.split('\n').map((l) => {
    const space = l.indexOf(' ');
    return { t: Date.parse(l.slice(0, space)), text: l.slice(space + 1) };
  });
  const t0 = lines[0]?.t ?? 0;
  const out: string[] = [];
  for (const [name, re] of marks) {
    const hit = lines.find((l) => re.test(l.text));
    if (hit) out.push(`${name} ${((hit.t - t0) / 1000).toFixed(1)}`);
  }
  return out.join(', ');
}

async function s2iBuild(config: string, expected: number): Promise<Timed> {
  const startedAt = new Date();
  const res = await slipway(['start-build', config, '-w', '-n', NS], { timeoutMs: 600_000 });
  const endedAt = new Date();
  const name = `${config}-${expected}`;
  if (!res.stdout.includes(`build.build.openshift.io/${name} started`)) {
    throw new Error(`expected build ${name}, got: ${res.stdout}`);
  }
  const log = (await slipway(['logs', `build/${name}`, '--timestamps', '-n', NS])).stdout;
  const agent = /Build complete in ([\d.]+)s/.exec(log);
  if (!agent) throw new Error(`build ${name} did not complete:\n${log}`);
  if (process.env.BENCH_VERBOSE) {
    // The command's own start and end, on the log's clock, for the time around the agent's.
    const iso = (d: Date): string => d.toISOString();
    console.log(`--- ${name}\n${iso(startedAt)} start-build -w\n${log}${iso(endedAt)} exited`);
  }
  return { ms: res.ms, agentMs: Number(agent[1]) * 1000, phases: phases(log) };
}

/** docker build --no-cache + docker push of the application, FROM the same builder image. */
async function dockerBuild(stack: Stack, n: number): Promise<{ ms: number; buildMs: number }> {
  const ctx = join(stack.gitRoot, `docker-${n}`);
  await cp(APP_DIR, ctx, { recursive: true });
  if (stack.trust) {
    await mkdir(join(ctx, '.trust'), { recursive: true });
    await writeFile(join(ctx, TRUST_PATH), stack.trust);
  }
  await writeFile(
    join(ctx, 'Dockerfile'),
    [
      `FROM ${BUILDER}`,
      ...(stack.trust ? [`ENV NODE_EXTRA_CA_CERTS=/opt/app-root/src/${TRUST_PATH}`] : []),
      'COPY --chown=1001:0 . /opt/app-root/src/',
      'RUN NPM_CONFIG_CACHE=/tmp/.npm npm ci --omit=dev && rm -rf /tmp/.npm',
      'CMD ["npm", "start"]',
      '',
    ].join('\n'),
  );
  const tag = `${stack.registry}/${NS}/docker-app:${n}`;
  const built = await docker(
    ['build', '--no-cache', '--label', `slipway.bench=${RUN_ID}`, '-t', tag, ctx],
    600_000,
  );
  const pushed = await docker(['push', tag], 300_000);
  return { ms: built.ms + pushed.ms, buildMs: built.ms };
}

async function cleanup(stack: Partial<Stack>): Promise<void> {
  await runCommand(NODE, [SLIPWAY, 'down'], { env: slipwayEnv(), timeoutMs: 60_000 });
  await removeNodeRules(NODE_NAME);
  stack.gitDaemon?.kill('SIGTERM');
  const byLabel = async (what: 'ps' | 'network ls' | 'volume ls', rmArgs: string[]) => {
    const ids = (
      await runCommand('docker', [
        ...what.split(' '),
        ...(what === 'ps' ? ['-aq'] : ['-q']),
        '--filter',
        `label=slipway.bench=${RUN_ID}`,
      ])
    ).stdout
      .split('\n')
      .filter(Boolean);
    if (ids.length > 0) await runCommand('docker', [...rmArgs, ...ids]);
  };
  await byLabel('ps', ['rm', '-f']);
  if (stack.registry) {
    // By reference, never by id: the builder image pulled back shares its id with the local one.
    const refs = (
      await runCommand('docker', [
        'images',
        '--digests',
        '--format',
        '{{.Repository}} {{.Tag}} {{.Digest}}',
      ])
    ).stdout
      .split('\n')
      .filter((l) => l.startsWith(`${stack.registry}/`))
      .flatMap((l) => {
        const [repo, tag, digest] = l.split(' ');
        return [
          ...(tag && tag !== '<none>' ? [`${repo}:${tag}`] : []),
          ...(digest && digest !== '<none>' ? [`${repo}@${digest}`] : []),
        ];
      });
    for (const ref of refs) await runCommand('docker', ['rmi', ref]);
  }
  await byLabel('network ls', ['network', 'rm']);
  await byLabel('volume ls', ['volume', 'rm', '-f']);
  if (stack.registryContainer) await runCommand('docker', ['rm', '-f', stack.registryContainer]);
  if (stack.gitRoot) await rm(stack.gitRoot, { recursive: true, force: true });
  if (home) await rm(home, { recursive: true, force: true });
}

const s = (ms: number): string => `${(ms / 1000).toFixed(1).padStart(6)} s`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'cmd', 'slipway.js'))) {
    throw new Error('dist/ is missing: run "npm run build" first');
  }
  if (!existsSync(join(APP_DIR, 'package.json'))) throw new Error(`no fixture app ${APP_DIR}`);
  // The builder images (reused when up to date; `up` would build them too, inside its limit).
  await must(NODE, [join(ROOT, 'scripts', 'platform-images.mjs')], { timeoutMs: 900_000 });
  home = await mkdtemp(join(tmpdir(), 'slipway-bench-build-'));
  const stack: Partial<Stack> = {};
  const watchdog = setTimeout(() => {
    console.error(`bench:build: still running after ${TIMEOUT_S} s; cleaning up and stopping`);
    void cleanup(stack).finally(() => process.exit(2));
  }, TIMEOUT_S * 1000);
  try {
    const ready = await startStack(stack);
    const lock = JSON.parse(await readFile(join(APP_DIR, 'package-lock.json'), 'utf8')) as {
      packages?: Record<string, unknown>;
    };
    const packages = Object.keys(lock.packages ?? {}).filter((k) => k !== '').length;
    console.log(
      `build benchmark: ${APP} (${packages} npm packages), builder ${BUILDER}, ${ROUNDS} rounds`,
    );
    console.log('round                     wall     agent   phases (s from the build start)');
    const cold: Timed[] = [];
    const noChange: Timed[] = [];
    const codeChange: Timed[] = [];
    const dockerRuns: { ms: number; buildMs: number }[] = [];
    const print = (round: number, label: string, t: Timed): void =>
      console.log(`${round}  ${label.padEnd(21)} ${s(t.ms)}  ${s(t.agentMs)}   ${t.phases}`);
    for (let round = 1; round <= ROUNDS; round += 1) {
      const before = await dockerBuild(ready, 2 * round - 1);
      dockerRuns.push(before);
      console.log(
        `${round}  ${'docker build + push'.padEnd(21)} ${s(before.ms)}             build ${s(before.buildMs).trim()}`,
      );
      // A new BuildConfig: its first build has no previous image to reuse.
      const config = `app${round}`;
      await createBuildConfig(ready, config);
      cold.push(await s2iBuild(config, 1));
      print(round, 'cold S2I build', cold.at(-1)!);
      noChange.push(await s2iBuild(config, 2));
      print(round, 'no-change rebuild', noChange.at(-1)!);
      const server = join(ready.work, 'server.js');
      const text = await readFile(server, 'utf8');
      const changed = text.replace(
        /const greeting = '[^']*';/,
        `const greeting = 'Changed ${round}';`,
      );
      if (changed === text) throw new Error(`${APP}/server.js has no greeting to change`);
      await writeFile(server, changed);
      await git(ready.work, 'commit', '-q', '-am', `Change the greeting (${round})`);
      await git(ready.work, 'push', '-q', 'origin', 'HEAD:main');
      codeChange.push(await s2iBuild(config, 3));
      print(round, 'code-change rebuild', codeChange.at(-1)!);
      const after = await dockerBuild(ready, 2 * round);
      dockerRuns.push(after);
      console.log(
        `${round}  ${'docker build + push'.padEnd(21)} ${s(after.ms)}             build ${s(after.buildMs).trim()}`,
      );
    }
    const m = {
      cold: median(cold.map((t) => t.ms)),
      noChange: median(noChange.map((t) => t.ms)),
      codeChange: median(codeChange.map((t) => t.ms)),
      docker: median(dockerRuns.map((t) => t.ms)),
      coldAgent: median(cold.map((t) => t.agentMs)),
      codeChangeAgent: median(codeChange.map((t) => t.agentMs)),
    };
    console.log('medians');
    console.log(`   cold S2I build        ${s(m.cold)}  ${s(m.coldAgent)}`);
    console.log(`   no-change rebuild     ${s(m.noChange)}`);
    console.log(`   code-change rebuild   ${s(m.codeChange)}  ${s(m.codeChangeAgent)}`);
    console.log(`   docker build + push   ${s(m.docker)}`);
    console.log(
      `ratio code-change rebuild / cold S2I: ${(m.codeChange / m.cold).toFixed(2)} (target <= 0.3; agent's own times ${(m.codeChangeAgent / m.coldAgent).toFixed(2)})`,
    );
    console.log(
      `ratio cold S2I / docker build + push: ${(m.cold / m.docker).toFixed(2)} (target <= 1.2; agent's own time ${(m.coldAgent / m.docker).toFixed(2)})`,
    );
  } finally {
    clearTimeout(watchdog);
    await cleanup(stack);
  }
}

await main();

// The whole platform as a user starts it, for the end-to-end build tests: `slipway up` in a
// temporary HOME (master with its controllers, the built-in agent on the local Docker engine,
// the cluster registry on a free loopback port, the builder images pushed there and the
// `openshift/*` image streams pointing at them), driven only through the built `slipway` CLI.
// Everything the run creates is removed afterwards: containers, volumes and networks by the run
// label the agent puts on them, images by their references in this run's registry (never by id:
// the builder images pulled back from the registry share their ids with the local
// `openshift/*` images other tests use), then the registry and the HOME directory.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { PlatformEngine } from '../../../agent/docker/platform-engine.js';
import { ensureBuilderImages } from '../../../agent/platform/builder-images.js';
import { platformPaths } from '../../../agent/platform/paths.js';
import {
  buildKind,
  imageStreamKind,
  isApiError,
  podKind,
  type Build,
  type ImageStream,
  type Pod,
} from '../../../src/api/index.js';
import { ApiClient } from '../../../src/client/index.js';
import { silentLogger } from '../../../src/util/logger.js';
import { eventually } from '../../agent/cluster.js';
import { slipway, type Result } from '../../cli/support/slipway.js';
import { TEST_RUN_LABEL } from '../../support/docker.js';
import { startUpRun } from './up-run.js';

export const BUILDERS = ['nodejs', 'python', 'static'] as const;

/** Build phases after which nothing changes any more. */
const FINISHED = new Set(['Complete', 'Failed', 'Error', 'Cancelled']);

export interface CliOptions {
  stdin?: string;
  timeoutMs?: number;
}

export interface BuildStack {
  /** The environment every `slipway` call of the run gets (HOME, agent settings). */
  env: Record<string, string>;
  home: string;
  dataDir: string;
  /** The API server's URL, as `up` printed it. */
  server: string;
  /** The built-in router's HTTP URL (on a free port), as `up` recorded it in endpoint.json. */
  routerUrl: string;
  /**
   * The API as the CLI's user (admin), for the tests' waiting and reading; what users do and
   * see goes through the CLI.
   */
  api: ApiClient;
  /** The cluster registry, `127.0.0.1:PORT`. */
  registry: string;
  nodeName: string;
  runId: string;
  /** `slipway ARGS...`, whatever its exit code. */
  run(args: readonly string[], options?: CliOptions): Promise<Result>;
  /** `slipway ARGS...`, which must exit 0; its stdout. */
  ok(args: readonly string[], options?: CliOptions): Promise<string>;
  /** `slipway get ARGS... -o json`, parsed. */
  get<T>(args: readonly string[]): Promise<T>;
  close(): Promise<void>;
}

function registryFrom(upOutput: string): string {
  const m = /^ {2}registry {5}(127\.0\.0\.1:\d+) /m.exec(upOutput);
  if (!m) throw new Error(`no registry line in the output of slipway up:\n${upOutput}`);
  return m[1]!;
}

function serverFrom(upOutput: string): string {
  const m = /^ {2}API server {3}(http:\/\/\S+)$/m.exec(upOutput);
  if (!m) throw new Error(`no API server line in the output of slipway up:\n${upOutput}`);
  return m[1]!;
}

/**
 * Removes every local image reference (tag or digest) into `registry`, by reference: an image
 * that has other names keeps them, one that has none left is deleted.
 */
export async function removeRegistryImages(docker: Docker, registry: string): Promise<void> {
  const prefix = `${registry}/`;
  for (const image of await docker.listImages({ all: true })) {
    const refs = [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].filter((r) =>
      r.startsWith(prefix),
    );
    for (const ref of refs) {
      await docker
        .getImage(ref)
        .remove()
        .catch((err: { statusCode?: number }) => {
          if (err.statusCode !== 404) throw err;
        });
    }
  }
}

async function removeRunNetworks(docker: Docker, runId: string): Promise<void> {
  const networks = await docker.listNetworks({
    filters: { label: [`${TEST_RUN_LABEL}=${runId}`] },
  });
  for (const n of networks) {
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 404) throw err;
      });
  }
}

/**
 * Docker, the pause and builder images (built ahead by the test command; built here only if
 * missing), then `slipway up` in a fresh HOME; resolves once the node is Ready and the
 * `openshift` builder streams point at the images in the registry.
 */
export async function startBuildStack(docker: Docker, label: string): Promise<BuildStack> {
  const upRun = await startUpRun(docker, label);
  const { env, home, nodeName, runId } = upRun;
  const dataDir = join(home, '.slipway', 'data');
  try {
    await ensureBuilderImages(new PlatformEngine(docker), {
      paths: platformPaths(),
      logger: silentLogger(),
    });
  } catch (err) {
    await upRun.close();
    throw err;
  }
  const run = (args: readonly string[], options: CliOptions = {}): Promise<Result> =>
    slipway(args, { env, timeoutMs: options.timeoutMs ?? 30_000, stdin: options.stdin });
  const ok = async (args: readonly string[], options: CliOptions = {}): Promise<string> => {
    const res = await run(args, options);
    if (res.code !== 0) {
      throw new Error(
        `slipway ${args.join(' ')} exited with ${res.code}:\n${res.stderr}\n${res.stdout}`,
      );
    }
    return res.stdout;
  };
  let registry: string | undefined;
  const close = async (): Promise<void> => {
    // Images are removed once the containers using them are gone.
    await upRun.close({
      beforeRegistry: async () => {
        if (registry) await removeRegistryImages(docker, registry);
        await removeRunNetworks(docker, runId);
      },
    });
  };
  try {
    // Every listener on a free port: the router's defaults may be taken on a shared machine.
    const up = await ok(
      [
        'up',
        '--listen',
        '127.0.0.1:0',
        '--registry',
        '127.0.0.1:0',
        ...['--router-http', '--router-https', '--router-stats'].flatMap((f) => [f, '127.0.0.1:0']),
      ],
      { timeoutMs: 120_000 },
    );
    registry = registryFrom(up);
    const server = serverFrom(up);
    const endpoint = JSON.parse(await readFile(join(dataDir, 'endpoint.json'), 'utf8')) as {
      router?: { http: string };
    };
    if (!endpoint.router) throw new Error('slipway up recorded no router in endpoint.json');
    const routerUrl = endpoint.router.http;
    const token = (await ok(['whoami', '-t'])).trim();
    const stack: BuildStack = {
      env,
      home,
      dataDir,
      server,
      routerUrl,
      api: new ApiClient({ server, token }),
      registry,
      nodeName,
      runId: runId,
      run,
      ok,
      async get<T>(args: readonly string[]): Promise<T> {
        return JSON.parse(await ok(['get', ...args, '-o', 'json'])) as T;
      },
      close,
    };
    // The server pushes the builder images to its fresh registry in the background (~20 s of
    // compression on 2 cores), then points the openshift streams at them.
    for (const name of BUILDERS) {
      await eventually(
        async () => {
          const is = await stack.api
            .get<ImageStream>(imageStreamKind, name, { namespace: 'openshift' })
            .catch((err: unknown) => {
              if (isApiError(err, 'NotFound')) return undefined;
              throw err;
            });
          const latest = is?.status?.tags?.find((t) => t.tag === 'latest')?.items?.[0];
          return latest?.dockerImageReference?.startsWith(`${registry}/openshift/${name}@sha256:`)
            ? latest
            : undefined;
        },
        150_000,
        `the image stream openshift/${name} to point at the registry`,
      );
    }
    await eventually(
      async () => {
        const out = await ok(['get', 'nodes']);
        return new RegExp(`^${nodeName}\\s+Ready\\s`, 'm').test(out) ? true : undefined;
      },
      20_000,
      `node ${nodeName} to be Ready`,
    );
    return stack;
  } catch (err) {
    await close();
    throw err;
  }
}

/** Polls the build until it has finished; resolves with it. */
export async function finishedBuild(
  stack: BuildStack,
  namespace: string,
  name: string,
  timeoutMs = 180_000,
): Promise<Build> {
  return eventually(
    async () => {
      const build = await stack.api.get<Build>(buildKind, name, { namespace });
      return FINISHED.has(build.status?.phase ?? '') ? build : undefined;
    },
    timeoutMs,
    `build ${namespace}/${name} to finish`,
  );
}

/** `slipway logs -f bc/NAME`: the newest build's whole log, once it has ended. */
export async function followBuildLog(
  stack: BuildStack,
  namespace: string,
  buildConfig: string,
): Promise<string> {
  return stack.ok(['logs', '-n', namespace, '-f', `bc/${buildConfig}`], { timeoutMs: 240_000 });
}

/** An image stream tag's history (`status.tags[].items`), newest first. */
export async function tagHistory(
  stack: BuildStack,
  namespace: string,
  stream: string,
  tag = 'latest',
): Promise<{ dockerImageReference?: string; image?: string }[]> {
  const is = await stack.api.get<ImageStream>(imageStreamKind, stream, { namespace });
  return is.status?.tags?.find((t) => t.tag === tag)?.items ?? [];
}

/**
 * Runs `image` as a pod created through the API (`slipway create -f -`), restricted as every
 * project's pods are, with a readiness probe on port 8080; resolves once it is Ready, with its
 * IP (pod IPs on the Docker bridge are reachable from the host).
 */
export async function runAsPod(
  stack: BuildStack,
  namespace: string,
  name: string,
  image: string,
): Promise<{ pod: Pod; ip: string }> {
  const manifest = [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  terminationGracePeriodSeconds: 1',
    '  containers:',
    '  - name: app',
    `    image: ${image}`,
    '    ports:',
    '    - containerPort: 8080',
    '    readinessProbe:',
    '      httpGet: {port: 8080}',
    '      periodSeconds: 1',
    '',
  ].join('\n');
  await stack.ok(['create', '-n', namespace, '-f', '-'], { stdin: manifest });
  const pod = await eventually(
    async () => {
      const p = await stack.api.get<Pod>(podKind, name, { namespace });
      const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      return ready && p.status?.podIP ? p : undefined;
    },
    60_000,
    `pod ${name} to be Running and Ready`,
  );
  return { pod, ip: pod.status!.podIP! };
}

/** `id -u` and `id -g` inside the pod's container, through `slipway exec`. */
export async function podIdentity(
  stack: BuildStack,
  namespace: string,
  pod: string,
): Promise<{ uid: string; gid: string }> {
  const out = await stack.ok([
    'exec',
    '-n',
    namespace,
    pod,
    '--',
    'sh',
    '-c',
    'echo "$(id -u) $(id -g)"',
  ]);
  const [uid = '', gid = ''] = out.trim().split(' ');
  return { uid, gid };
}

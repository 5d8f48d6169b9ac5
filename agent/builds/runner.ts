/**
 * Runs one build pod's build, start to end: workspace and log, the source, the strategy (S2I or
 * Docker), the post-commit hook, the push, and clean-up of every container, the working files
 * and intermediate images, whatever happens. Always resolves with the outcome (never throws),
 * after writing it to the workspace's result.json, so the pod's status can report it.
 */
import type { Logger } from '../../src/util/logger.js';
import { memoryBytes, cpuMillis, cpuNanos } from '../../src/api/quantity.js';
import { isRuntimeError } from '../docker/errors.js';
import { splitReference, type BuildLimits, type BuildNetwork } from '../docker/build-engine.js';
import type { BuildPodSpec } from './build-pod.js';
import { BuildLogWriter, Redactor } from './build-log.js';
import type { BuildApi, BuildContext, BuildDocker, BuildEvents, BuildSettings } from './context.js';
import { dockerBuild } from './docker-build.js';
import { runPostCommit } from './post-commit.js';
import { pushOutput } from './push.js';
import { s2iBuild, S2iHeadStart } from './s2i-build.js';
import { fetchSource } from './source.js';
import { BuildFailure, isBuildFailure, type BuildOutcome, type BuildResult } from './types.js';
import type { BuildWorkspace } from './workspace.js';

export interface RunBuildOptions {
  spec: BuildPodSpec;
  workspace: BuildWorkspace;
  docker: BuildDocker;
  api: BuildApi;
  settings: BuildSettings;
  /** The build network with its firewall in place (set up on first use). */
  network: () => Promise<BuildNetwork>;
  events: BuildEvents;
  logger: Logger;
  signal: AbortSignal;
  /** Called once the build is under way (the pod is Running). */
  onRunning?: () => void;
  now?: () => Date;
}

/** Kubernetes times have second precision. */
function stamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** The build's memory and CPU limits (requests for CPU shares) as Docker settings. */
export function buildLimits(spec: BuildPodSpec, pidsLimit: number): BuildLimits {
  const limits = spec.resources?.limits ?? {};
  const requests = spec.resources?.requests ?? {};
  const out: BuildLimits = { pidsLimit };
  try {
    if (limits.memory !== undefined) out.memoryBytes = memoryBytes(limits.memory);
    if (limits.cpu !== undefined) out.nanoCpus = Math.max(cpuNanos(limits.cpu), 10_000_000);
    const cpuRequest = requests.cpu ?? limits.cpu;
    if (cpuRequest !== undefined) {
      out.cpuShares = Math.max(2, Math.floor((cpuMillis(cpuRequest) * 1024) / 1000));
    }
  } catch (err) {
    throw new BuildFailure('Error', `the build's resources are invalid: ${(err as Error).message}`);
  }
  return out;
}

function exitCodeFor(reason: BuildOutcome['reason']): number {
  if (reason === 'Completed') return 0;
  if (reason === 'OutOfMemoryKilled') return 137;
  if (reason === 'Cancelled') return 143;
  return 1;
}

export async function runBuild(options: RunBuildOptions): Promise<BuildOutcome> {
  const { spec, workspace, docker, signal } = options;
  const now = options.now ?? (() => new Date());
  const startedAt = stamp(now());
  const log = options.logger.child({
    component: 'build-runner',
    pod: `${spec.namespace}/${spec.podName}`,
  });
  const redactor = new Redactor();
  await workspace.create();
  await workspace.markStarted(startedAt);
  const buildLog = new BuildLogWriter(workspace.logPath, redactor);
  const started = Date.now();
  const redactedEvents: BuildEvents = {
    normal: (r, m) => options.events.normal(r, redactor.redact(m)),
    warning: (r, m) => options.events.warning(r, redactor.redact(m)),
  };
  let reason: BuildOutcome['reason'] = 'Completed';
  const result: BuildResult = {};
  let imageId: string | undefined;
  let pushed = false;
  const removals: Promise<unknown>[] = [];
  let head: S2iHeadStart | undefined;
  try {
    options.onRunning?.();
    const buildName = spec.build.metadata.name ?? spec.podName;
    buildLog.line(`Build ${spec.namespace}/${buildName} (${spec.strategy} strategy) on this node`);
    let network: BuildNetwork;
    try {
      network = await options.network();
    } catch (err) {
      throw new BuildFailure(
        'Error',
        `the build network is not available: ${(err as Error).message}`,
      );
    }
    let attempt = 0;
    const ctx: BuildContext = {
      spec,
      workspace,
      log: buildLog,
      redactor,
      docker,
      api: options.api,
      settings: options.settings,
      network,
      limits: buildLimits(spec, options.settings.pidsLimit),
      events: redactedEvents,
      logger: log,
      signal,
      nextAttempt: () => ++attempt,
      removeLater: (id) => {
        removals.push(docker.removeContainer(id).catch(() => undefined));
      },
    };
    // An S2I build pulls its builder (and runs save-artifacts) while the source is fetched.
    if (spec.strategy !== 'Docker') head = S2iHeadStart.start(ctx);
    const source = await fetchSource(ctx);
    if (source.revision) result.revision = source.revision;
    if (signal.aborted) throw new BuildFailure('Cancelled', 'the build was cancelled');
    const built = head ? await s2iBuild(ctx, source, head) : await dockerBuild(ctx, source);
    imageId = built.imageId;
    await runPostCommit(ctx, built.imageId, built.user, built.env);
    if (spec.outputImage) {
      const digest = await pushOutput(ctx, built.imageId, spec.outputImage);
      pushed = true;
      result.outputImageDigest = digest;
      result.outputDockerImageReference = `${splitReference(spec.outputImage).repo}@${digest}`;
      result.message = `Pushed ${result.outputDockerImageReference}`;
    } else {
      buildLog.line('Build complete, no image push requested');
      result.message = 'Build complete, no image push requested';
    }
  } catch (err) {
    if (signal.aborted) {
      // Why it was stopped: the pod deleted (Cancelled) or the agent stopping (Error).
      const why: unknown = signal.reason;
      reason = isBuildFailure(why) ? why.reason : 'Cancelled';
      result.message = isBuildFailure(why) ? why.message : 'The build was cancelled';
    } else if (isBuildFailure(err)) {
      reason = err.reason;
      result.message = redactor.redact(err.message);
    } else {
      reason = 'Error';
      const message = isRuntimeError(err) ? err.message : ((err as Error)?.message ?? String(err));
      result.message = redactor.redact(`the build failed unexpectedly: ${message}`);
      log.warn({ err: result.message }, 'build failed unexpectedly');
    }
    buildLog.line(`error: ${result.message}`);
    if (reason !== 'Cancelled') redactedEvents.warning('Failed', `Build failed: ${result.message}`);
  } finally {
    // Nothing of the build keeps running or stays behind but the log, the result and a pushed
    // image.
    await head?.stop();
    await Promise.all(removals);
    try {
      for (const id of await docker.listContainers(spec.podUid)) {
        await docker.removeContainer(id).catch(() => undefined);
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'cannot list the build containers to remove');
    }
    if (imageId && !pushed) await docker.removeImage(imageId).catch(() => undefined);
    await workspace.cleanWork().catch(() => undefined);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  buildLog.line(
    reason === 'Completed'
      ? `Build complete in ${seconds}s`
      : `Build failed (${reason}) after ${seconds}s`,
  );
  buildLog.flush();
  // A failed build says how it ended without anyone reading the log (`describe build`).
  if (reason !== 'Completed' && reason !== 'Cancelled') result.logSnippet = buildLog.tail();
  await buildLog.close();
  const outcome: BuildOutcome = {
    reason,
    exitCode: exitCodeFor(reason),
    result,
    startedAt,
    finishedAt: stamp(now()),
  };
  try {
    await workspace.writeResult(outcome);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'cannot write the build result');
  }
  log.info({ reason, seconds }, 'build finished');
  return outcome;
}

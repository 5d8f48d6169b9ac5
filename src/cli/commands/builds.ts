/**
 * `start-build`, `cancel-build` and the build side of `logs` (`bc/NAME`, `build/NAME`), as `oc`
 * has them. Builds run on the nodes; these commands only ask the API and stream what it says.
 */
import type { Command } from 'commander';
import { isApiError, resourcePath } from '../../api/index.js';
import { buildConfigKind, buildKind } from '../../api/kinds/index.js';
import { isBuildFinished, type Build } from '../../api/kinds/build.js';
import type { BuildConfig } from '../../api/kinds/build-config.js';
import { logQuery, type ApiClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { interruptSignal, writeBytes } from '../io.js';
import { resolveKind } from '../resources.js';
import type { BinarySource } from '../source-archive.js';
import { parseEnvPairs } from '../generate/source-arg.js';
import { collect } from './apply.js';

type BuildView = Build;
type BuildConfigView = BuildConfig;

const NOT_STARTED = new Set(['New', 'Pending']);

/** `NAME`, `bc/NAME` or `buildconfig/NAME` for commands that take a BuildConfig. */
function buildConfigName(ctx: CliContext, arg: string): string {
  const slash = arg.indexOf('/');
  if (slash < 0) return arg;
  const def = resolveKind(ctx.registry, arg.slice(0, slash));
  if (def !== buildConfigKind) throw new CliError(`"${arg}" is not a build config`);
  return arg.slice(slash + 1);
}

/** The newest build of a BuildConfig, as `oc logs bc/NAME` picks it. */
export async function newestBuildName(
  client: ApiClient,
  ctx: CliContext,
  namespace: string,
  bcName: string,
): Promise<string> {
  const bc = await client.get<BuildConfigView>(buildConfigKind, bcName, { namespace });
  const version = bc.status?.lastVersion ?? 0;
  if (version === 0) throw new CliError(`no builds found for "${bcName}"`);
  return `${bcName}-${version}`;
}

/** Waits (by watching) until `accept` holds for the build, or it ends, or the signal aborts. */
export async function waitForBuild(
  client: ApiClient,
  ctx: CliContext,
  namespace: string,
  name: string,
  accept: (build: BuildView) => boolean,
  signal: AbortSignal,
): Promise<BuildView> {
  const def = buildKind;
  for (;;) {
    const build = await client.get<BuildView>(def, name, { namespace, signal });
    if (accept(build)) return build;
    const watch = client.watch<BuildView>(def, {
      namespace,
      fieldSelector: `metadata.name=${name}`,
      resourceVersion: build.metadata.resourceVersion,
      timeoutSeconds: 30,
      signal,
    });
    for await (const event of watch) {
      if (event.type === 'DELETED') throw new CliError(`build "${name}" was deleted`);
      if (event.type !== 'ADDED' && event.type !== 'MODIFIED') continue;
      if (accept(event.object)) return event.object;
    }
    if (signal.aborted) throw new CliError('interrupted');
  }
}

/** Streams a build's log to stdout; with `follow`, first waits for the build pod to start. */
export async function streamBuildLog(
  client: ApiClient,
  ctx: CliContext,
  namespace: string,
  name: string,
  options: { follow?: boolean; tailLines?: number; timestamps?: boolean; signal: AbortSignal },
): Promise<void> {
  const build = await waitForBuild(
    client,
    ctx,
    namespace,
    name,
    (b) => !options.follow || !NOT_STARTED.has(b.status?.phase ?? 'New'),
    options.signal,
  );
  if (build.status?.phase === 'Cancelled' && !options.follow) {
    ctx.err(`build "${name}" was cancelled`);
  }
  const path = resourcePath(buildKind, { namespace, name, subresource: 'log' });
  const stream = await client.openStream(
    path,
    logQuery({
      follow: options.follow,
      tailLines: options.tailLines,
      timestamps: options.timestamps,
    }),
    options.signal,
    'build log',
  );
  for await (const chunk of stream) writeBytes(ctx.io.stdout, chunk);
}

interface StartBuildOptions {
  namespace?: string;
  fromDir?: string;
  fromFile?: string;
  fromArchive?: string;
  follow?: boolean;
  wait?: boolean;
  env: string[];
  commit?: string;
  message?: string;
}

async function binarySource(opts: StartBuildOptions): Promise<BinarySource | undefined> {
  const given = [opts.fromDir, opts.fromFile, opts.fromArchive].filter((v) => v !== undefined);
  if (given.length > 1)
    throw new CliError('only one of --from-dir, --from-file or --from-archive may be given');
  if (given.length === 0) return undefined;
  // tar-fs is loaded only for an upload: every other command starts without it.
  const { archiveDirectory, existingArchive, singleFile } = await import('../source-archive.js');
  if (opts.fromDir !== undefined) return archiveDirectory(opts.fromDir);
  if (opts.fromFile !== undefined) return singleFile(opts.fromFile);
  if (opts.fromArchive !== undefined) return existingArchive(opts.fromArchive);
  return undefined;
}

/** Ends the run with the build's outcome: 0 for Complete, 1 with the reason otherwise. */
function reportOutcome(ctx: CliContext, build: BuildView): void {
  const phase = build.status?.phase ?? 'Unknown';
  if (phase === 'Complete') return;
  const reason = build.status?.reason ? ` (${build.status.reason})` : '';
  const message = build.status?.message ? `: ${build.status.message}` : '';
  ctx.err(`build "${build.metadata.name ?? ''}" ${phase.toLowerCase()}${reason}${message}`);
  ctx.exitCode = 1;
}

export function registerBuildCommands(program: Command, ctx: CliContext): void {
  program
    .command('start-build')
    .description('Start a new build of a build config, from its source or from local files')
    .argument('<buildconfig>', 'BC or bc/BC')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .option('--from-dir <dir>', 'upload this directory (without .git) as the build input')
    .option('--from-file <file>', 'upload this one file as the build input')
    .option('--from-archive <archive>', 'upload this tar or tar.gz as the build input')
    .option('-F, --follow', 'stream the build log until it ends; exit non-zero if it fails')
    .option('-w, --wait', 'wait for the build to end; exit non-zero if it fails')
    .option(
      '-e, --env <KEY=VALUE>',
      'an environment variable for this build; repeatable',
      collect,
      [],
    )
    .option('--commit <commit>', 'build this commit of the source repository')
    .option('-m, --message <message>', 'the message recorded as the build cause')
    .action(async (arg: string, opts: StartBuildOptions) => {
      const bcName = buildConfigName(ctx, arg);
      const env = parseEnvPairs(opts.env, '--env');
      const client = await ctx.client();
      const namespace = await ctx.namespace(opts.namespace);
      const binary = await binarySource(opts);
      const bcDef = buildConfigKind;
      const request = {
        kind: 'BuildRequest',
        apiVersion: 'build.openshift.io/v1',
        metadata: { name: bcName },
        triggeredBy: [{ message: opts.message ?? 'Manually triggered' }],
        ...(env.length > 0 ? { env } : {}),
        ...(opts.commit ? { revision: { type: 'Git', git: { commit: opts.commit } } } : {}),
      };
      const { signal, release } = interruptSignal(ctx.io);
      try {
        let build: BuildView;
        if (binary) {
          ctx.err(`Uploading ${binary.description} as binary input for the build ...`);
          build = await client.upload<BuildView>(
            'POST',
            resourcePath(bcDef, { namespace, name: bcName, subresource: 'instantiatebinary' }),
            binary.body,
            {
              query: {
                asFile: binary.asFile,
                'revision.commit': opts.commit,
                'revision.message': opts.message,
              },
              signal,
            },
          );
          ctx.err('Uploading finished');
        } else {
          build = await client.request<BuildView>(
            'POST',
            resourcePath(bcDef, { namespace, name: bcName, subresource: 'instantiate' }),
            { body: request, signal },
          );
        }
        const name = build.metadata.name ?? '';
        ctx.out(`build.build.openshift.io/${name} started`);
        if (opts.follow) {
          await streamBuildLog(client, ctx, namespace, name, { follow: true, signal });
        }
        if (opts.follow || opts.wait) {
          const done = await waitForBuild(
            client,
            ctx,
            namespace,
            name,
            (b) => isBuildFinished(b.status?.phase),
            signal,
          );
          reportOutcome(ctx, done);
        }
      } finally {
        release();
      }
    });

  program
    .command('cancel-build')
    .description('Cancel running, pending or new builds')
    .argument('<builds...>', 'BUILD, build/BUILD or bc/BC (every unfinished build of it)')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action(async (args: string[], opts: { namespace?: string }) => {
      const client = await ctx.client();
      const namespace = await ctx.namespace(opts.namespace);
      const def = buildKind;
      const names: string[] = [];
      for (const arg of args) {
        const slash = arg.indexOf('/');
        const kind = slash < 0 ? def : resolveKind(ctx.registry, arg.slice(0, slash));
        const name = slash < 0 ? arg : arg.slice(slash + 1);
        if (kind === def) names.push(name);
        else if (kind === buildConfigKind) {
          const list = await client.list<BuildView>(def, {
            namespace,
            labelSelector: `openshift.io/build-config.name=${name}`,
          });
          names.push(
            ...list.items
              .filter((b) => !isBuildFinished(b.status?.phase))
              .map((b) => b.metadata.name ?? ''),
          );
        } else throw new CliError(`"${arg}" is not a build or a build config`);
      }
      for (const name of names) {
        try {
          const build = await client.get<BuildView>(def, name, { namespace });
          if (isBuildFinished(build.status?.phase)) {
            ctx.err(`build "${name}" is already ${build.status?.phase?.toLowerCase() ?? 'done'}`);
            continue;
          }
          // OpenShift's way: an update of the build with status.cancelled; the build
          // controller then stops the build pod and marks the build Cancelled.
          await client.update(
            def,
            { ...build, status: { ...build.status, cancelled: true } },
            { namespace },
          );
          ctx.out(`build.build.openshift.io "${name}" cancelled`);
        } catch (err) {
          if (isApiError(err)) ctx.reportError(err);
          else throw err;
        }
      }
    });
}

/** `logs bc/NAME` and `logs build/NAME`; undefined when the argument is not about builds. */
export function buildLogTarget(
  ctx: CliContext,
  arg: string,
): { kind: 'build' | 'buildconfig'; name: string } | undefined {
  const slash = arg.indexOf('/');
  if (slash < 0) return undefined;
  const def = ctx.registry.forUserName(arg.slice(0, slash));
  if (!def || def.group !== 'build.openshift.io') return undefined;
  const name = arg.slice(slash + 1);
  if (!name) throw new CliError(`arguments in resource/name form must have a name: "${arg}"`);
  if (def.plural === 'builds') return { kind: 'build', name };
  if (def.plural === 'buildconfigs') return { kind: 'buildconfig', name };
  return undefined;
}

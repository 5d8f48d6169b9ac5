/**
 * `new-build`: an ImageStream for the output and a BuildConfig for a repository (its builder
 * named as `BUILDER~REPO` or detected from the repository's files) or for binary input
 * (`--binary`). Everything is checked before anything is created, and what was created is
 * removed again if a later create fails, so a failed run leaves nothing behind.
 */
import type { Command } from 'commander';
import { isApiError, type AnyKindDefinition, type ApiObject } from '../../api/index.js';
import type { ApiClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { buildConfig, imageStreams } from '../generate/build-objects.js';
import { checkContextDir } from '../generate/inspect-repo.js';
import { planBuild } from '../generate/plan-build.js';
import {
  nameFromRepository,
  parseEnvPairs,
  parseLabelPairs,
  parseSourceArg,
  sanitizeName,
} from '../generate/source-arg.js';
import { formatStructured, parseOutputFormat } from '../printers.js';
import { resolveKind, resourceName } from '../resources.js';
import { collect } from './apply.js';

interface NewBuildOptions {
  name?: string;
  namespace?: string;
  strategy?: string;
  binary?: boolean;
  imageStream?: string;
  image?: string;
  contextDir?: string;
  env: string[];
  labels: string[];
  to?: string;
  sourceSecret?: string;
  output?: string;
  dryRun?: boolean;
}

/** Creates `objects` in order; on a failure removes the ones already created, then rethrows. */
export async function createAll(
  ctx: CliContext,
  client: ApiClient,
  namespace: string,
  objects: readonly ApiObject[],
): Promise<void> {
  const created: { def: AnyKindDefinition; name: string }[] = [];
  try {
    for (const obj of objects) {
      const def = client.kindFor(obj);
      await client.create(def, obj, { namespace });
      created.push({ def, name: obj.metadata.name ?? '' });
      ctx.out(`    ${resourceName(def)} "${obj.metadata.name ?? ''}" created`);
    }
  } catch (err) {
    for (const { def, name } of created.reverse()) {
      await client.delete(def, name, { namespace }).catch(() => undefined);
    }
    throw err;
  }
}

/** `-o` of the commands that make objects (new-app, new-build): yaml or json only. */
export function generatedOutput(command: string, output: string): 'yaml' | 'json' {
  const format = parseOutputFormat(output);
  if (format !== 'yaml' && format !== 'json')
    throw new CliError(`-o "${output}": ${command} prints yaml or json`);
  return format;
}

/** Prints the objects a command would create, as a List, instead of creating them (`-o`). */
export function printGenerated(
  ctx: CliContext,
  client: ApiClient,
  command: string,
  output: string,
  objects: readonly ApiObject[],
): void {
  const format = generatedOutput(command, output);
  ctx.io.stdout.write(
    formatStructured(
      format,
      objects.map((obj) => ({ def: client.kindFor(obj), obj })),
      false,
    ),
  );
}

/** Refuses the whole run if any object already exists, naming it (`oc` does the same). */
export async function refuseExisting(
  client: ApiClient,
  namespace: string,
  objects: readonly ApiObject[],
): Promise<void> {
  for (const obj of objects) {
    const def = client.kindFor(obj);
    try {
      await client.get(def, obj.metadata.name ?? '', { namespace });
    } catch (err) {
      if (isApiError(err) && err.code === 404) continue;
      throw err;
    }
    throw new CliError(`${resourceName(def)} "${obj.metadata.name ?? ''}" already exists`);
  }
}

export function registerNewBuildCommand(program: Command, ctx: CliContext): void {
  program
    .command('new-build')
    .description('Create a build configuration (and its output image stream) for a repository')
    .argument('[source]', 'REPOSITORY[#REF] or BUILDER~REPOSITORY[#REF]')
    .option('--name <name>', 'name of the build config and its image stream')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .option('--strategy <strategy>', 'source or docker (default: detected)')
    .option('--binary', 'build from files uploaded with start-build --from-dir/--from-file')
    .option('-i, --image-stream <stream>', 'the builder image stream (NAME[:TAG] or NS/NAME[:TAG])')
    .option('--image <image>', 'the builder image reference')
    .option('--context-dir <dir>', 'build from this directory of the repository')
    .option('-e, --env <KEY=VALUE>', 'build environment variable; repeatable', collect, [])
    .option('-l, --labels <k=v>', 'labels for everything created; repeatable', collect, [])
    .option('--to <tag>', 'the output image stream tag (default NAME:latest)')
    .option(
      '--source-secret <secret>',
      "a Secret with the repository's credentials (kubernetes.io/basic-auth or ssh-auth)",
    )
    .option('-o, --output <format>', 'print the objects (yaml or json) instead of creating them')
    .option('--dry-run', 'say what would be created without creating it')
    .action(async (sourceArg: string | undefined, opts: NewBuildOptions) => {
      const strategyFlag = opts.strategy?.toLowerCase();
      if (strategyFlag !== undefined && strategyFlag !== 'source' && strategyFlag !== 'docker')
        throw new CliError(`--strategy "${opts.strategy}": must be source or docker`);
      if (opts.imageStream && opts.image)
        throw new CliError('only one of --image-stream or --image may be given');
      const env = parseEnvPairs(opts.env, '--env');
      const extraLabels = parseLabelPairs(opts.labels);
      const contextDir =
        opts.contextDir === undefined ? undefined : checkContextDir(opts.contextDir) || undefined;
      const source = sourceArg === undefined ? undefined : parseSourceArg(sourceArg);
      if (!source && !opts.binary)
        throw new CliError('a source repository is required (or --binary for uploaded input)');
      if (opts.sourceSecret !== undefined && !source)
        throw new CliError('--source-secret is for builds from a repository');
      if (source && opts.binary)
        throw new CliError(
          '--binary builds take no repository: upload with start-build --from-dir',
        );
      const builderArg = opts.imageStream ?? opts.image ?? source?.builder;
      const name = opts.name
        ? sanitizeName(opts.name, opts.name)
        : source
          ? nameFromRepository(source.uri)
          : undefined;
      if (!name) throw new CliError('--name is required with --binary');
      if (opts.name && name !== opts.name)
        throw new CliError(
          `--name "${opts.name}": must be a lowercase DNS-1035 label (e.g. ${name})`,
        );

      // With -o the objects are the output; what new-build found goes to stderr.
      const say = (line: string): void => (opts.output ? ctx.err(line) : ctx.out(line));
      const client = await ctx.client();
      const namespace = await ctx.namespace(opts.namespace);
      const isDef = resolveKind(ctx.registry, 'imagestreams.image.openshift.io');

      const plan = await planBuild(
        client,
        isDef,
        namespace,
        {
          name,
          source,
          strategy: strategyFlag,
          builder: builderArg,
          builderIsImage: opts.image !== undefined,
          contextDir,
          env,
          labels: { build: name, ...extraLabels },
          generatedBy: 'OpenShiftNewBuild',
          outputTag: opts.to ?? `${name}:latest`,
          sourceSecret: opts.sourceSecret,
        },
        say,
      );
      const objects = [...imageStreams(plan), buildConfig(plan)];
      if (opts.output) {
        printGenerated(ctx, client, 'new-build', opts.output, objects);
        return;
      }
      ctx.out(
        source
          ? `--> A ${plan.strategy.toLowerCase()} build using source code from ${source.uri}${source.ref ? `#${source.ref}` : ''} will be created`
          : `--> A binary ${plan.strategy.toLowerCase()} build will be created; upload input with 'slipway start-build ${name} --from-dir=DIR'`,
      );
      ctx.out(`    * The resulting image will be pushed to image stream tag "${plan.outputTag}"`);
      // An output stream that already exists is reused, as oc does; everything else must be new.
      const outputName = plan.outputTag.split(':')[0]!;
      const outputExists = await client
        .get(isDef, outputName, { namespace })
        .then(() => true)
        .catch((err: unknown) => {
          if (isApiError(err) && err.code === 404) return false;
          throw err;
        });
      const toCreate = objects.filter(
        (o) => !(outputExists && o.kind === 'ImageStream' && o.metadata.name === outputName),
      );
      await refuseExisting(client, namespace, toCreate);
      if (opts.dryRun) {
        ctx.out('--> Dry run: nothing was created');
        return;
      }
      ctx.out(`--> Creating resources with label build=${name} ...`);
      await createAll(ctx, client, namespace, toCreate);
      ctx.out('--> Success');
      if (source) {
        ctx.out(`    Build configuration "${name}" created and build triggered.`);
        ctx.out(`    Run 'slipway logs -f bc/${name}' to stream the build progress.`);
      } else {
        ctx.out(`    Build configuration "${name}" created.`);
        ctx.out(
          `    Run 'slipway start-build ${name} --from-dir=DIR --follow' to build from local files.`,
        );
      }
    });
}

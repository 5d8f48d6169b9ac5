/**
 * `new-app`: an application from source (`BUILDER~REPO`, or a repository whose builder is
 * detected) or from an image, as `oc new-app` makes it: image streams and a BuildConfig for the
 * source, a DeploymentConfig that deploys the built (or named) image whenever its tag moves, and
 * a Service for its ports. Everything is checked before anything is created, and what was created
 * is removed again if a later create fails.
 */
import type { Command } from 'commander';
import type { ApiObject } from '../../api/index.js';
import { exposedPorts } from '../../api/kinds/image-stream-import.js';
import { timeAgo } from '../../api/kinds/time-columns.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import {
  deploymentConfig,
  parsePort,
  S2I_PORTS,
  service,
  type AppPort,
  type DeployPlan,
} from '../generate/app-objects.js';
import { buildConfig, imageStreams, type BuildPlan } from '../generate/build-objects.js';
import { checkContextDir } from '../generate/inspect-repo.js';
import { planBuild } from '../generate/plan-build.js';
import { describeImage, lookUpImage, runsAsRoot, shortImageId } from '../generate/image-lookup.js';
import { resolveBuilder } from '../generate/resolve-builder.js';
import {
  looksLikeRepository,
  nameFromRepository,
  parseEnvPairs,
  parseLabelPairs,
  parseSourceArg,
  sanitizeName,
} from '../generate/source-arg.js';
import { resolveKind } from '../resources.js';
import { collect } from './apply.js';
import { createAll, generatedOutput, printGenerated, refuseExisting } from './new-build.js';
import { formatProcessed, loadTemplate, processWithArgs } from './process.js';

interface NewAppOptions {
  name?: string;
  namespace?: string;
  strategy?: string;
  contextDir?: string;
  env: string[];
  buildEnv: string[];
  labels: string[];
  port: string[];
  sourceSecret?: string;
  file?: string;
  template?: string;
  param: string[];
  paramFile: string[];
  output?: string;
  dryRun?: boolean;
  allowMissingImages?: boolean;
  insecureRegistry?: boolean;
}

/** What the deploy half needs from the image half. */
interface ImagePlan {
  name: string;
  /** Objects to create before the DeploymentConfig (streams, a BuildConfig). */
  objects: ApiObject[];
  from: DeployPlan['from'];
  /** Ports the image is known to serve. */
  ports: readonly AppPort[];
  build: BuildPlan | undefined;
}

export function registerNewAppCommand(program: Command, ctx: CliContext): void {
  program
    .command('new-app')
    .description('Create an application from source code or an image: build, deployment, service')
    .argument('[source]', 'BUILDER~REPOSITORY[#REF], REPOSITORY[#REF], or an image (stream)')
    .option('--name <name>', 'name of everything created (default: from the repository or image)')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .option('--strategy <strategy>', 'source or docker (default: detected)')
    .option('--context-dir <dir>', 'build from this directory of the repository')
    .option(
      '-e, --env <KEY=VALUE>',
      'environment variable of the application; repeatable',
      collect,
      [],
    )
    .option('--build-env <KEY=VALUE>', 'environment variable of the build; repeatable', collect, [])
    .option('-l, --labels <k=v>', 'labels for everything created (default app=NAME)', collect, [])
    .option(
      '--port <port>',
      'a port the application serves, e.g. 8080/tcp; repeatable',
      collect,
      [],
    )
    .option(
      '--source-secret <secret>',
      "a Secret with the repository's credentials (kubernetes.io/basic-auth or ssh-auth)",
    )
    .option('-f, --file <file>', 'a Template to process and create (- for standard input)')
    .option('--template <name>', 'a stored Template (NAME, or NS//NAME) to process and create')
    .option('-p, --param <KEY=VALUE>', 'a template parameter; repeatable', collect, [])
    .option(
      '--param-file <file>',
      'KEY=VALUE lines of template parameters; repeatable',
      collect,
      [],
    )
    .option('-o, --output <format>', 'print the objects (yaml or json) instead of creating them')
    .option('--dry-run', 'say what would be created without creating it')
    .option(
      '--allow-missing-images',
      'deploy an image even when its registry cannot be read (its ports then come from --port)',
    )
    .option('--insecure-registry', "the image's registry may be spoken to over plain HTTP")
    .action(async (arg: string | undefined, opts: NewAppOptions) => {
      if (opts.file !== undefined || opts.template !== undefined) {
        if (arg !== undefined)
          throw new CliError(`"${arg}": give either a source or image, or a template, not both`);
        await newAppFromTemplate(ctx, opts);
        return;
      }
      if (arg === undefined)
        throw new CliError(
          'a source repository, an image or a template (-f FILE, --template NAME) is required',
        );
      if (opts.param.length > 0 || opts.paramFile.length > 0)
        throw new CliError('--param and --param-file are for templates (-f or --template)');
      const strategyFlag = opts.strategy?.toLowerCase();
      if (strategyFlag !== undefined && strategyFlag !== 'source' && strategyFlag !== 'docker')
        throw new CliError(`--strategy "${opts.strategy}": must be source or docker`);
      const env = parseEnvPairs(opts.env, '--env');
      const buildEnv = parseEnvPairs(opts.buildEnv, '--build-env');
      const userLabels = parseLabelPairs(opts.labels);
      const ports = opts.port.map((p) => {
        const port = parsePort(p);
        if (!port) throw new CliError(`--port "${p}": expected PORT or PORT/tcp|udp (1-65535)`);
        return port;
      });
      const contextDir =
        opts.contextDir === undefined ? undefined : checkContextDir(opts.contextDir) || undefined;
      const fromSource = arg.includes('~') || looksLikeRepository(arg);
      if (!fromSource) {
        for (const [flag, given] of [
          ['--strategy', opts.strategy],
          ['--context-dir', opts.contextDir],
          ['--source-secret', opts.sourceSecret],
          ['--build-env', opts.buildEnv.length > 0 ? 'x' : undefined],
        ] as const) {
          if (given !== undefined)
            throw new CliError(`${flag} is for applications built from source`);
        }
      }

      const say = (line: string): void => (opts.output ? ctx.err(line) : ctx.out(line));
      const client = await ctx.client();
      const namespace = await ctx.namespace(opts.namespace);
      const isDef = resolveKind(ctx.registry, 'imagestreams.image.openshift.io');

      const nameFrom = (derived: string): string => {
        if (!opts.name) return derived;
        const name = sanitizeName(opts.name, opts.name);
        if (name !== opts.name)
          throw new CliError(
            `--name "${opts.name}": must be a lowercase DNS-1035 label (e.g. ${name})`,
          );
        return name;
      };

      let image: ImagePlan;
      if (fromSource) {
        const source = parseSourceArg(arg);
        const name = nameFrom(nameFromRepository(source.uri));
        const labels = Object.keys(userLabels).length > 0 ? userLabels : { app: name };
        const build = await planBuild(
          client,
          isDef,
          namespace,
          {
            name,
            source,
            strategy: strategyFlag,
            builder: source.builder,
            builderIsImage: false,
            contextDir,
            env: buildEnv,
            labels,
            generatedBy: 'OpenShiftNewApp',
            outputTag: `${name}:latest`,
            sourceSecret: opts.sourceSecret,
          },
          say,
        );
        image = {
          name,
          objects: [...imageStreams(build), buildConfig(build)],
          from: { name: build.outputTag },
          // A Dockerfile build serves what its EXPOSE says, which only the build learns.
          ports: build.strategy === 'Source' ? S2I_PORTS : [],
          build,
        };
      } else {
        const resolved = await resolveBuilder(client, isDef, namespace, arg);
        if (resolved.kind === 'ImageStreamTag') {
          const name = nameFrom(sanitizeName(resolved.stream, arg));
          say(
            `--> Found image stream tag "${resolved.namespace}/${resolved.stream}:${resolved.tag}" for "${arg}"`,
          );
          image = {
            name,
            objects: [],
            from: {
              name: `${resolved.stream}:${resolved.tag}`,
              ...(resolved.namespace !== namespace ? { namespace: resolved.namespace } : {}),
            },
            ports: [],
            build: undefined,
          };
        } else {
          // An image outside the cluster: a stream of its own tracks it, as oc makes one.
          const last = resolved.image.split('/').pop() ?? resolved.image;
          const [repo, tag = 'latest'] = last.split('@')[0]!.split(':');
          const name = nameFrom(sanitizeName(repo ?? arg, arg));
          const labels = Object.keys(userLabels).length > 0 ? userLabels : { app: name };
          // The master reads the image's metadata from its registry, as oc new-app does.
          const { result } = await lookUpImage(client, namespace, {
            stream: name,
            import: false,
            image: {
              from: { kind: 'DockerImage', name: resolved.image },
              ...(opts.insecureRegistry ? { importPolicy: { insecure: true } } : {}),
            },
          });
          const found = result.status.status === 'Success' ? result.image : undefined;
          if (found) {
            const created = found.dockerImageMetadata.Created;
            say(
              `--> Found container image ${shortImageId(found.metadata.name)}` +
                `${created ? ` (${timeAgo(created, new Date()).replace(/ ago$/, ' old')})` : ''}` +
                ` for "${resolved.image}"`,
            );
            for (const line of describeImage(found)) say(`    ${line}`);
            if (runsAsRoot(found)) {
              say(
                `    * WARNING: Image "${resolved.image}" runs as the 'root' user; a restricted project runs it as its own UID`,
              );
            }
            say(
              `    * An image stream tag will be created as "${name}:${tag}" that will track this image`,
            );
          } else if (opts.allowMissingImages) {
            say(`--> Deploying the image "${resolved.image}"`);
            say(
              `    * WARNING: its registry could not be read (${result.status.message ?? 'no answer'}); deploying it anyway`,
            );
          } else {
            throw new CliError(
              `the image "${resolved.image}" could not be read from its registry: ${result.status.message ?? 'no answer'}; ` +
                'pass --allow-missing-images to deploy it anyway (with its ports given by --port)',
            );
          }
          image = {
            name,
            objects: [
              {
                apiVersion: 'image.openshift.io/v1',
                kind: 'ImageStream',
                metadata: {
                  name,
                  labels,
                  annotations: { 'openshift.io/generated-by': 'OpenShiftNewApp' },
                },
                spec: {
                  lookupPolicy: { local: false },
                  tags: [
                    {
                      name: tag,
                      from: { kind: 'DockerImage', name: resolved.image },
                      importPolicy: {},
                      referencePolicy: { type: 'Source' },
                    },
                  ],
                },
              },
            ],
            from: { name: `${name}:${tag}` },
            ports: found ? exposedPorts(found) : [],
            build: undefined,
          };
        }
      }

      const labels = Object.keys(userLabels).length > 0 ? userLabels : { app: image.name };
      const deploy: DeployPlan = {
        name: image.name,
        labels,
        from: image.from,
        env,
        ports: ports.length > 0 ? ports : [...image.ports],
      };
      const svc = service(deploy);
      const objects = [...image.objects, deploymentConfig(deploy), ...(svc ? [svc] : [])];

      if (opts.output) {
        printGenerated(ctx, client, 'new-app', opts.output, objects);
        return;
      }

      const { build, name } = image;
      if (build?.source.type === 'Git') {
        ctx.out(
          `    * A ${build.strategy.toLowerCase()} build using source code from ${build.source.uri}${build.source.ref ? `#${build.source.ref}` : ''} will be created`,
        );
        ctx.out(
          `      * The resulting image will be pushed to image stream tag "${build.outputTag}"`,
        );
        ctx.out(`      * Use 'slipway start-build ${name}' to trigger a new build`);
      }
      ctx.out(`    * This image will be deployed in deployment config "${name}"`);
      for (const p of deploy.ports) {
        ctx.out(
          `    * Port ${p.port}/${p.protocol.toLowerCase()} will be load balanced by service "${name}"`,
        );
      }
      if (svc) {
        ctx.out(`      * Other containers can access this service through the hostname "${name}"`);
      } else {
        ctx.out(
          `    * WARNING: no ports are known for this image, so no service is created; ` +
            `give them with --port`,
        );
      }
      ctx.out('');
      await refuseExisting(client, namespace, objects);
      if (opts.dryRun) {
        ctx.out('--> Dry run: nothing was created');
        return;
      }
      ctx.out(`--> Creating resources with label ${labelText(labels)} ...`);
      await createAll(ctx, client, namespace, objects);
      ctx.out('--> Success');
      if (build) {
        ctx.out(`    Build scheduled, use 'slipway logs -f bc/${name}' to track its progress.`);
      }
      if (svc) {
        ctx.out(
          '    Application is not exposed. You can expose services to the outside world by executing one or more of the commands below:',
        );
        ctx.out(`     'slipway expose svc/${name}'`);
      }
      ctx.out(`    Run 'slipway status' to view your app.`);
    });
}

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** `new-app -f TEMPLATE -p K=V` / `--template NAME`: the processed objects, created as one. */
async function newAppFromTemplate(ctx: CliContext, opts: NewAppOptions): Promise<void> {
  const template = await loadTemplate(ctx, {
    filename: opts.file,
    name: opts.template,
    namespace: undefined,
  });
  const processed = await processWithArgs(ctx, template, {
    params: opts.param,
    paramFiles: opts.paramFile,
    labels: opts.labels,
    ignoreUnknownParameters: false,
  });
  const client = await ctx.client();
  const namespace = await ctx.namespace(opts.namespace);
  if (opts.output) {
    const format = generatedOutput('new-app', opts.output);
    ctx.io.stdout.write(formatProcessed(ctx, processed.objects, format));
    return;
  }
  const title = template.metadata.annotations?.['openshift.io/display-name'];
  const description = template.metadata.annotations?.description;
  ctx.out(`--> Deploying template "${template.metadata.name ?? ''}" to project ${namespace}`);
  ctx.out('');
  if (title) ctx.out(`     ${title}`);
  if (description) ctx.out(`     ${description}`);
  if (processed.message) ctx.out(`     ${processed.message.trim().replaceAll('\n', '\n     ')}`);
  if (processed.parameters.length > 0) {
    ctx.out('     * With parameters:');
    for (const p of processed.parameters) {
      const generated = p.generate ? ' # generated' : '';
      ctx.out(`        * ${p.displayName ?? p.name}=${p.value ?? ''}${generated}`);
    }
  }
  ctx.out('');
  for (const obj of processed.objects) {
    if (!ctx.registry.forObject(obj.apiVersion, obj.kind))
      throw new CliError(
        `the template's object ${obj.kind} "${obj.metadata.name ?? ''}" (${obj.apiVersion}) is of a kind this server does not serve`,
      );
  }
  await refuseExisting(client, namespace, processed.objects);
  if (opts.dryRun) {
    ctx.out('--> Dry run: nothing was created');
    return;
  }
  ctx.out('--> Creating resources ...');
  await createAll(ctx, client, namespace, processed.objects);
  ctx.out('--> Success');
  ctx.out(`    Run 'slipway status' to view your app.`);
}

/**
 * `create configmap` and `create secret generic|tls|docker-registry`, as kubectl and oc make
 * them: data from literals, files, directories and env files (data-sources.ts); `--dry-run
 * -o yaml` prints the object instead of creating it. Secret values never appear in messages.
 */
import type { Command } from 'commander';
import type { ApiObject } from '../../api/index.js';
import { configMapKind, secretKind } from '../../api/kinds/index.js';
import type { AnyKindDefinition } from '../../api/registry.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import {
  configMapData,
  readDataSources,
  readFlagFile,
  secretData,
  type DataSources,
} from '../generate/data-sources.js';
import { parseOutputFormat, formatStructured } from '../printers.js';
import { qualifiedName } from '../resources.js';
import { collect } from './apply.js';

interface OutputOptions {
  namespace?: string;
  dryRun?: boolean | string;
  output?: string;
}

interface SourceOptions extends OutputOptions {
  fromLiteral: string[];
  fromFile: string[];
  fromEnvFile: string[];
}

function dryRun(value: boolean | string | undefined): boolean {
  if (value === undefined || value === false || value === 'none') return false;
  if (value === true || value === 'client') return true;
  throw new CliError(`--dry-run=${String(value)}: use --dry-run or --dry-run=client`);
}

function withOutputOptions(cmd: Command): Command {
  return cmd
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .option('--dry-run [strategy]', 'only print the object (client)')
    .option('-o, --output <format>', 'print the object: json, yaml or name');
}

function withSources(cmd: Command): Command {
  return cmd
    .option('--from-literal <KEY=VALUE>', 'a key and its value; repeatable', collect, [])
    .option(
      '--from-file <[KEY=]PATH>',
      "a file's content under KEY (default: its name), or a directory's files; repeatable",
      collect,
      [],
    )
    .option('--from-env-file <PATH>', 'KEY=VALUE lines; repeatable', collect, []);
}

function sourcesOf(opts: SourceOptions): DataSources {
  return { literals: opts.fromLiteral, files: opts.fromFile, envFiles: opts.fromEnvFile };
}

/**
 * `-n` given anywhere on a `create` subcommand's line: `create` has a `-n` of its own (for
 * `create -f`), which takes the flag wherever it stands.
 */
export function createNamespace(create: Command): string | undefined {
  return create.opts<{ namespace?: string }>().namespace;
}

/** Creates `obj` (or prints it with --dry-run / -o) and says so as kubectl does. */
async function finish(
  ctx: CliContext,
  create: Command,
  def: AnyKindDefinition,
  obj: ApiObject,
  opts: OutputOptions,
): Promise<void> {
  const format = parseOutputFormat(opts.output);
  if (format === 'wide') throw new CliError(`--output ${opts.output}: use json, yaml or name`);
  const namespace = await ctx.namespace(opts.namespace ?? createNamespace(create));
  let result: ApiObject = { ...obj, metadata: { ...obj.metadata, namespace } };
  const onlyPrint = dryRun(opts.dryRun);
  if (!onlyPrint) result = await (await ctx.client()).create(def, result, { namespace });
  if (format === 'json' || format === 'yaml' || format === 'name') {
    ctx.io.stdout.write(formatStructured(format, [{ def, obj: result }], true));
    return;
  }
  ctx.out(`${qualifiedName(def, result)} created${onlyPrint ? ' (dry run)' : ''}`);
}

export function registerCreateDataCommands(create: Command, ctx: CliContext): void {
  withOutputOptions(
    withSources(
      create
        .command('configmap')
        .alias('cm')
        .description('Create a ConfigMap from literals, files, directories or env files')
        .argument('<name>', 'the ConfigMap name'),
    ),
  ).action(async (name: string, opts: SourceOptions) => {
    const entries = await readDataSources(sourcesOf(opts));
    const obj = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name },
      ...configMapData(entries),
    };
    await finish(ctx, create, configMapKind, obj, opts);
  });

  const secret = create.command('secret').description('Create a Secret');

  withOutputOptions(
    withSources(
      secret
        .command('generic')
        .description('Create a Secret from literals, files, directories or env files')
        .argument('<name>', 'the Secret name')
        .option(
          '--type <type>',
          'the Secret type, e.g. kubernetes.io/basic-auth or kubernetes.io/ssh-auth',
        ),
    ),
  ).action(async (name: string, opts: SourceOptions & { type?: string }) => {
    const entries = await readDataSources(sourcesOf(opts));
    const obj = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name },
      type: opts.type ?? 'Opaque',
      data: secretData(entries),
    };
    await finish(ctx, create, secretKind, obj, opts);
  });

  withOutputOptions(
    secret
      .command('tls')
      .description('Create a kubernetes.io/tls Secret from a certificate and its key')
      .argument('<name>', 'the Secret name')
      .requiredOption('--cert <file>', 'PEM file: the certificate (chain)')
      .requiredOption('--key <file>', 'PEM file: its private key'),
  ).action(async (name: string, opts: OutputOptions & { cert: string; key: string }) => {
    const obj = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': (await readFlagFile('--cert', opts.cert)).toString('base64'),
        'tls.key': (await readFlagFile('--key', opts.key)).toString('base64'),
      },
    };
    await finish(ctx, create, secretKind, obj, opts);
  });

  withOutputOptions(
    secret
      .command('docker-registry')
      .description('Create a kubernetes.io/dockerconfigjson Secret for a registry')
      .argument('<name>', 'the Secret name')
      .requiredOption('--docker-server <server>', 'the registry, e.g. quay.io')
      .requiredOption('--docker-username <user>', 'the user name')
      .requiredOption('--docker-password <password>', 'the password or token')
      .option('--docker-email <email>', 'an e-mail address for the registry'),
  ).action(
    async (
      name: string,
      opts: OutputOptions & {
        dockerServer: string;
        dockerUsername: string;
        dockerPassword: string;
        dockerEmail?: string;
      },
    ) => {
      const auth = Buffer.from(`${opts.dockerUsername}:${opts.dockerPassword}`).toString('base64');
      const config = {
        auths: {
          [opts.dockerServer]: {
            username: opts.dockerUsername,
            password: opts.dockerPassword,
            ...(opts.dockerEmail ? { email: opts.dockerEmail } : {}),
            auth,
          },
        },
      };
      const obj = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name },
        type: 'kubernetes.io/dockerconfigjson',
        data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') },
      };
      await finish(ctx, create, secretKind, obj, opts);
    },
  );
}

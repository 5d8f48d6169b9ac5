/**
 * `set env`, `set image` and `set triggers` (`set probe`: set-probe.ts), as `oc set` has them:
 * changes to the pod template of any kind that has one (DeploymentConfigs, Deployments,
 * ReplicationControllers, ReplicaSets; a pod's own spec, which the API only lets change its
 * images), written back with the resourceVersion read, so a concurrent change is never
 * overwritten. A DeploymentConfig's ConfigChange trigger turns the change into a rollout.
 */
import type { Command } from 'commander';
import type { Container } from '../../api/index.js';
import { deploymentConfigKind } from '../../api/kinds/index.js';
import type { DeploymentConfig } from '../../api/kinds/deployment-config.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { qualifiedName } from '../resources.js';
import { formatTable } from '../table.js';
import { collect } from './apply.js';
import { registerSetProbe } from './set-probe.js';
import { fetchTargets, podSpecOf, targetContainers } from './set-targets.js';

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export interface EnvChange {
  set: { name: string; value: string }[];
  remove: string[];
}

/** Splits `set env` arguments into resources and `NAME=VALUE` / `NAME-` changes. */
export function splitEnvArgs(args: readonly string[]): { resources: string[]; change: EnvChange } {
  const resources: string[] = [];
  const change: EnvChange = { set: [], remove: [] };
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq > 0 && ENV_NAME.test(arg.slice(0, eq))) {
      change.set.push({ name: arg.slice(0, eq), value: arg.slice(eq + 1) });
    } else if (arg.endsWith('-') && !arg.includes('/') && ENV_NAME.test(arg.slice(0, -1))) {
      change.remove.push(arg.slice(0, -1));
    } else {
      resources.push(arg);
    }
  }
  return { resources, change };
}

/** Applies the change to the containers' env; true when something changed. */
export function applyEnv(containers: readonly Container[], change: EnvChange): boolean {
  let changed = false;
  for (const c of containers) {
    const env = [...(c.env ?? [])];
    for (const { name, value } of change.set) {
      const i = env.findIndex((e) => e.name === name);
      if (i < 0) {
        env.push({ name, value });
        changed = true;
      } else if (env[i]!.value !== value || env[i]!.valueFrom !== undefined) {
        env[i] = { name, value };
        changed = true;
      }
    }
    const kept = env.filter((e) => !change.remove.includes(e.name));
    if (kept.length !== env.length) changed = true;
    if (kept.length > 0) c.env = kept;
    else delete c.env;
  }
  return changed;
}

/** `--list`: oc's `# KIND/NAME, container C` blocks. */
export function listEnv(plural: string, name: string, containers: readonly Container[]): string[] {
  const lines: string[] = [];
  for (const c of containers) {
    lines.push(`# ${plural}/${name}, container ${c.name}`);
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef) {
        lines.push(
          `# ${e.name} from secret ${e.valueFrom.secretKeyRef.name}, key ${e.valueFrom.secretKeyRef.key}`,
        );
      } else if (e.valueFrom?.configMapKeyRef) {
        lines.push(
          `# ${e.name} from configmap ${e.valueFrom.configMapKeyRef.name}, key ${e.valueFrom.configMapKeyRef.key}`,
        );
      } else if (e.valueFrom) {
        lines.push(`# ${e.name} from ${Object.keys(e.valueFrom).join(',')}`);
      } else {
        lines.push(`${e.name}=${e.value ?? ''}`);
      }
    }
  }
  return lines;
}

interface EnvOptions {
  namespace?: string;
  env: string[];
  list?: boolean;
  containers: string;
}

async function setEnv(ctx: CliContext, args: string[], opts: EnvOptions): Promise<void> {
  const { resources, change } = splitEnvArgs(args);
  for (const pair of opts.env) {
    const more = splitEnvArgs([pair]).change;
    if (more.set.length === 0 && more.remove.length === 0) {
      throw new CliError(`-e "${pair}": expected NAME=VALUE or NAME-`);
    }
    change.set.push(...more.set);
    change.remove.push(...more.remove);
  }
  const hasChange = change.set.length > 0 || change.remove.length > 0;
  if (opts.list && hasChange)
    throw new CliError('--list and environment changes cannot be combined');
  if (!opts.list && !hasChange) {
    throw new CliError('give at least one NAME=VALUE or NAME- (or --list)');
  }
  const client = await ctx.client();
  const targets = await targetContainers(ctx, resources, opts.namespace, opts.containers);
  for (const { def, obj, name, containers } of targets) {
    if (opts.list) {
      ctx.out(listEnv(def.plural, name, containers).join('\n'));
      continue;
    }
    if (!applyEnv(containers, change)) {
      ctx.out(`${qualifiedName(def, name)} not changed`);
      continue;
    }
    await client.update(def, obj);
    ctx.out(`${qualifiedName(def, name)} updated`);
  }
}

async function setImage(
  ctx: CliContext,
  args: string[],
  opts: { namespace?: string },
): Promise<void> {
  const pairs = args.filter((a) => a.includes('='));
  const resources = args.filter((a) => !a.includes('='));
  if (pairs.length === 0) throw new CliError('give at least one CONTAINER=IMAGE');
  const images = pairs.map((p) => {
    const eq = p.indexOf('=');
    const container = p.slice(0, eq);
    const image = p.slice(eq + 1);
    if (!container || !image || /\s/.test(image)) {
      throw new CliError(`"${p}": expected CONTAINER=IMAGE`);
    }
    return { container, image };
  });
  const client = await ctx.client();
  for (const { def, obj } of await fetchTargets(ctx, resources, opts.namespace)) {
    const spec = podSpecOf(obj);
    const name = obj.metadata.name ?? '';
    if (!spec) throw new CliError(`${qualifiedName(def, name)} has no pod template`);
    for (const { container, image } of images) {
      const targets =
        container === '*'
          ? [...spec.containers, ...(spec.initContainers ?? [])]
          : [...spec.containers, ...(spec.initContainers ?? [])].filter(
              (c) => c.name === container,
            );
      if (targets.length === 0) throw new CliError(`unable to find container named "${container}"`);
      for (const c of targets) c.image = image;
    }
    await client.update(def, obj);
    ctx.out(`${qualifiedName(def, name)} image updated`);
  }
}

async function setTriggers(
  ctx: CliContext,
  args: string[],
  opts: { namespace?: string; auto?: boolean; manual?: boolean },
): Promise<void> {
  if (opts.auto && opts.manual) throw new CliError('--auto and --manual cannot be combined');
  const client = await ctx.client();
  for (const { def, obj } of await fetchTargets(ctx, args, opts.namespace)) {
    if (def !== deploymentConfigKind) {
      throw new CliError(
        `${def.plural} have no triggers; set triggers works on deployment configs`,
      );
    }
    const dc = obj as DeploymentConfig;
    const name = dc.metadata.name ?? '';
    if (!opts.auto && !opts.manual) {
      const rows = (dc.spec.triggers ?? []).map((t) => {
        const p = t.imageChangeParams;
        return t.type === 'ConfigChange'
          ? [`deploymentconfigs/${name}`, 'config', '', 'true']
          : [
              `deploymentconfigs/${name}`,
              'image',
              `${p?.from.name ?? ''} (${(p?.containerNames ?? []).join(', ')})`,
              String(Boolean(p?.automatic)),
            ];
      });
      ctx.out(formatTable(['NAME', 'TYPE', 'VALUE', 'AUTO'], rows).lines.join('\n'));
      continue;
    }
    for (const t of dc.spec.triggers ?? []) {
      if (t.imageChangeParams) t.imageChangeParams.automatic = Boolean(opts.auto);
    }
    await client.update(def, dc);
    ctx.out(`${qualifiedName(def, name)} triggers updated`);
  }
}

export function registerSetCommands(program: Command, ctx: CliContext): void {
  const set = program
    .command('set')
    .description("Change a pod template's environment, images, probes or triggers");
  set
    .command('env')
    .description('Set (NAME=VALUE), remove (NAME-) or list (--list) environment variables')
    .argument('<args...>', 'TYPE/NAME... and NAME=VALUE or NAME- changes')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .option('-e, --env <NAME=VALUE>', 'an environment change; repeatable', collect, [])
    .option('--list', 'list the environment instead of changing it')
    .option('-c, --containers <name>', 'the containers to change (a name or glob)', '*')
    .action((args: string[], opts: EnvOptions) => setEnv(ctx, args, opts));
  set
    .command('image')
    .description("Change containers' images")
    .argument('<args...>', 'TYPE/NAME... and CONTAINER=IMAGE pairs (* for every container)')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action((args: string[], opts: { namespace?: string }) => setImage(ctx, args, opts));
  set
    .command('triggers')
    .description(
      "List a deployment config's triggers, or make its image triggers --auto or --manual",
    )
    .argument('<resources...>', 'dc/NAME...')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .option('--auto', 'image changes roll out by themselves')
    .option('--manual', 'image changes wait for `rollout latest`')
    .action((args: string[], opts: { namespace?: string; auto?: boolean; manual?: boolean }) =>
      setTriggers(ctx, args, opts),
    );
  registerSetProbe(set, ctx);
}

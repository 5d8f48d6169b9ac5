/**
 * `wait TYPE/NAME... --for=condition=C[=V] | --for=delete | --for=jsonpath={.path}=V`, as
 * `kubectl wait`: checks the objects (named, or `-l` selected) until each meets the condition or
 * `--timeout` passes (exit 1, naming the objects still waiting). For scripts and tests: `slipway
 * wait --for=condition=Available deployment/web --timeout=2m`.
 */
import type { Command } from 'commander';
import { type ApiObject, unlessNotFound } from '../../api/index.js';
import type { ApiClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { parseTargets, qualifiedName, type Target } from '../resources.js';
import { fetchTargets } from './get.js';

type Check =
  | { kind: 'condition'; type: string; status: string }
  | { kind: 'delete' }
  | { kind: 'jsonpath'; path: (string | number)[]; value: string | undefined };

/** `condition=Ready`, `condition=Ready=false`, `delete`, `jsonpath={.status.phase}=Running`. */
export function parseFor(value: string): Check {
  if (value === 'delete') return { kind: 'delete' };
  if (value.startsWith('condition=')) {
    const [type = '', status = 'True'] = value.slice('condition='.length).split('=');
    if (type === '') throw new CliError(`--for ${value}: name the condition: condition=NAME`);
    const normalized =
      status.toLowerCase() === 'true'
        ? 'True'
        : status.toLowerCase() === 'false'
          ? 'False'
          : status;
    return { kind: 'condition', type, status: normalized };
  }
  if (value.startsWith('jsonpath=')) {
    const m = /^jsonpath=['"]?\{([^}]*)\}['"]?(?:=(.*))?$/.exec(value);
    const expr = m?.[1]?.trim() ?? '';
    if (!m || !expr.startsWith('.')) {
      throw new CliError(`--for ${value}: expected jsonpath={.field.path}[=VALUE]`);
    }
    const path: (string | number)[] = [];
    for (const part of expr.slice(1).split('.')) {
      const seg = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
      if (!seg || (seg[1] === '' && seg[2] === '')) {
        throw new CliError(`--for ${value}: "${part}" is not a field name or [index]`);
      }
      if (seg[1]) path.push(seg[1]);
      for (const idx of seg[2]!.matchAll(/\[(\d+)\]/g)) path.push(Number(idx[1]));
    }
    return { kind: 'jsonpath', path, value: m[2] };
  }
  throw new CliError(
    `--for ${value}: use condition=NAME[=VALUE], delete, or jsonpath={.path}[=VALUE]`,
  );
}

/** Go-style durations kubectl takes: `30s`, `2m`, `1h30m`, `500ms`; a bare number is seconds. */
export function parseTimeout(value: string): number {
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (const m of value.matchAll(re)) {
    const n = Number(m[1]);
    total +=
      m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    matched += m[0].length;
  }
  if (matched === 0 || matched !== value.length) {
    throw new CliError(`--timeout "${value}": expected a duration such as 30s, 2m or 1h`);
  }
  return total;
}

function valueAt(obj: unknown, path: readonly (string | number)[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

/** Whether `obj` meets the check (delete is handled by the caller). */
export function meets(obj: ApiObject, check: Check): boolean {
  if (check.kind === 'condition') {
    const conditions = valueAt(obj, ['status', 'conditions']);
    if (!Array.isArray(conditions)) return false;
    return conditions.some(
      (c: { type?: unknown; status?: unknown }) =>
        typeof c.type === 'string' &&
        c.type.toLowerCase() === check.type.toLowerCase() &&
        c.status === check.status,
    );
  }
  if (check.kind === 'jsonpath') {
    const found = valueAt(obj, check.path);
    if (found === undefined || found === null) return false;
    if (check.value === undefined) return true;
    const text =
      typeof found === 'string'
        ? found
        : typeof found === 'number' || typeof found === 'boolean'
          ? String(found)
          : JSON.stringify(found);
    return text === check.value;
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function present(
  client: ApiClient,
  target: Target,
  namespace: string | undefined,
): Promise<ApiObject | undefined> {
  return unlessNotFound(
    client.get(target.def, target.name!, {
      namespace: target.def.namespaced ? namespace : undefined,
    }),
  );
}

export function registerWaitCommand(program: Command, ctx: CliContext): void {
  program
    .command('wait')
    .description('Wait until resources meet a condition, or are deleted')
    .argument('<args...>', 'TYPE NAME..., TYPE/NAME... or TYPE with -l')
    .requiredOption(
      '--for <condition>',
      'condition=NAME[=VALUE] (default True), delete, or jsonpath={.path}[=VALUE]',
    )
    .option('--timeout <duration>', 'give up after this long', '30s')
    .option('-l, --selector <selector>', 'wait for every object the label selector matches')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action(
      async (
        args: string[],
        opts: { for: string; timeout: string; selector?: string; namespace?: string },
      ) => {
        const check = parseFor(opts.for);
        const timeoutMs = parseTimeout(opts.timeout);
        const targets = parseTargets(ctx.registry, args);
        if (targets.length === 0) throw new CliError('name the resources to wait for: TYPE/NAME');
        const unnamed = targets.some((t) => t.name === undefined);
        if (unnamed && !opts.selector) {
          throw new CliError(
            'resource(s) were provided, but no name was specified; use NAME or -l',
          );
        }
        const client = await ctx.client();
        const namespace = await ctx.namespace(opts.namespace);
        // The objects to wait for: named ones, and what the selector matches now.
        let named: Target[] = targets.filter((t) => t.name !== undefined);
        if (unnamed) {
          const { groups } = await fetchTargets(
            client,
            targets.filter((t) => t.name === undefined),
            {
              namespace,
              labelSelector: opts.selector,
            },
          );
          for (const g of groups) {
            for (const obj of g.items) named.push({ def: g.def, name: obj.metadata.name ?? '' });
          }
          if (named.length === 0) throw new CliError('no matching resources found');
        }
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const waiting: Target[] = [];
          for (const t of named) {
            const obj = await present(client, t, namespace);
            const done =
              check.kind === 'delete' ? obj === undefined : obj !== undefined && meets(obj, check);
            if (done)
              ctx.out(
                `${qualifiedName(t.def, t.name!)} ${check.kind === 'delete' ? 'deleted' : 'condition met'}`,
              );
            else if (obj === undefined && check.kind !== 'delete') {
              throw new CliError(`${qualifiedName(t.def, t.name!)} not found`);
            } else waiting.push(t);
          }
          named = waiting;
          if (named.length === 0) return;
          if (Date.now() >= deadline) {
            throw new CliError(
              `timed out waiting for the condition on ${named.map((t) => qualifiedName(t.def, t.name!)).join(', ')}`,
            );
          }
          await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
        }
      },
    );
}

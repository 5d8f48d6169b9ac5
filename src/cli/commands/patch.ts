/**
 * `patch TYPE/NAME -p PATCH [--type strategic|merge|json]`, as kubectl: the patch is JSON or
 * YAML; `merge` is RFC 7386 (`null` removes), `json` RFC 6902 operations, `strategic` (the
 * default) a strategic merge patch: lists such as containers, env and ports merge by their keys
 * (src/api/strategic-merge-patch.ts). Prints `KIND/NAME patched`, or `... patched (no change)`.
 */
import type { Command } from 'commander';
import { parse } from 'yaml';
import type { ApiObject } from '../../api/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { parseTargets, qualifiedName } from '../resources.js';

const TYPES = ['strategic', 'merge', 'json'] as const;
type PatchType = (typeof TYPES)[number];

/** The patch text as a value of the shape its type needs, or a CliError saying why not. */
export function parsePatch(text: string, type: PatchType): Record<string, unknown> | unknown[] {
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    throw new CliError(`unable to parse "${text}": ${(err as Error).message}`);
  }
  if (type === 'json') {
    if (!Array.isArray(value))
      throw new CliError(`--type json: the patch must be a list of operations, got "${text}"`);
    return value as unknown[];
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CliError(`--type ${type}: the patch must be an object, got "${text}"`);
  return value as Record<string, unknown>;
}

export function registerPatchCommand(program: Command, ctx: CliContext): void {
  program
    .command('patch')
    .description('Update fields of an object with a strategic merge, JSON merge or JSON patch')
    .argument('<args...>', 'TYPE NAME or TYPE/NAME')
    .requiredOption('-p, --patch <patch>', 'the patch, as JSON or YAML')
    .option('--type <type>', 'strategic (default), merge or json', 'strategic')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action(async (args: string[], opts: { patch: string; type: string; namespace?: string }) => {
      const type = opts.type as PatchType;
      if (!TYPES.includes(type))
        throw new CliError(`--type "${opts.type}": must be one of ${TYPES.join(', ')}`);
      const targets = parseTargets(ctx.registry, args);
      const target = targets[0];
      if (targets.length !== 1 || !target?.name)
        throw new CliError('patch needs exactly one object: TYPE/NAME or TYPE NAME');
      const patch = parsePatch(opts.patch, type);
      const client = await ctx.client();
      const namespace = await ctx.namespace(opts.namespace);
      const before = await client.get<ApiObject>(target.def, target.name, { namespace });
      const after = await client.patch<ApiObject>(target.def, target.name, patch, {
        namespace,
        type,
      });
      const unchanged = before.metadata.resourceVersion === after.metadata.resourceVersion;
      ctx.out(`${qualifiedName(target.def, after)} patched${unchanged ? ' (no change)' : ''}`);
    });
}

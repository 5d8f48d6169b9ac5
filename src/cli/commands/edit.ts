/**
 * `edit TYPE/NAME... [-o yaml|json]`, as kubectl and oc: the objects (one, or a `List` of
 * several) go to a temporary file opened in the user's editor (SLIPWAY_EDITOR, KUBE_EDITOR,
 * EDITOR, else `vi`). What comes back is sent as a JSON merge patch of the user's changes alone,
 * so fields a controller changed meanwhile (status, say) do not conflict. An empty file, or one
 * without changes, cancels. When the server refuses a change, the file is reopened with the
 * errors on top; saved again unchanged, the edit stops, the file is kept and its path printed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { isApiError } from '../../api/errors.js';
import type { ApiObject } from '../../api/index.js';
import { createMergePatch, jsonEqual } from '../../api/merge-patch.js';
import type { AnyKindDefinition } from '../../api/registry.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { listOf, readableOrder, toJson, toYaml } from '../printers.js';
import { parseTargets, qualifiedName } from '../resources.js';

export const EDIT_HEADER = [
  "# Please edit the object below. Lines beginning with a '#' will be ignored,",
  '# and an empty file will abort the edit. If an error occurs while saving this file will be',
  '# reopened with the relevant failures.',
  '#',
];

/** The editor command line: SLIPWAY_EDITOR, KUBE_EDITOR, EDITOR, else `vi`. */
export function editorCommand(env: NodeJS.ProcessEnv): string {
  return env.SLIPWAY_EDITOR || env.KUBE_EDITOR || env.EDITOR || 'vi';
}

/** The file as the editor shows it: the header, errors as comments, then the objects. */
export function editBuffer(body: string, errors: readonly string[]): string {
  const errorLines = errors.flatMap((e) => e.split('\n').map((l) => `# ${l}`.trimEnd()));
  return [...EDIT_HEADER, ...(errorLines.length ? [...errorLines, '#'] : []), body].join('\n');
}

/**
 * The objects in what the editor saved; undefined when nothing is left (the edit is cancelled).
 * YAML comments are the parser's business (a `#` line inside a block scalar is data); JSON has
 * none, so lines starting with `#` are dropped first.
 */
export function parseEdited(text: string, format: 'yaml' | 'json'): ApiObject[] | undefined {
  let value: unknown;
  try {
    if (format === 'json') {
      const content = withoutHashLines(text);
      if (content.trim() === '') return undefined;
      value = JSON.parse(content);
    } else {
      value = parse(text);
    }
  } catch (err) {
    throw new EditError(
      `the edited file is not valid ${format.toUpperCase()}: ${(err as Error).message}`,
    );
  }
  if (value === null || value === undefined) return undefined;
  const isObject = (v: unknown): v is ApiObject =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(value)) throw new EditError('the edited file must hold an object');
  if (value.kind === 'List' && Array.isArray((value as { items?: unknown }).items)) {
    const items = (value as unknown as { items: unknown[] }).items;
    if (!items.every(isObject)) throw new EditError('every item of the List must be an object');
    return items;
  }
  return [value];
}

/** A problem with what the user saved: shown in the reopened file. */
class EditError extends Error {}

function identity(obj: ApiObject): string {
  return `${obj.apiVersion}/${obj.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** Runs the editor on `file`; resolves when it exits, rejects when it fails. */
async function runEditor(ctx: CliContext, file: string): Promise<void> {
  const editor = editorCommand(ctx.io.env);
  // Through the shell, as kubectl does, so `code --wait` or `vim -u NONE` work.
  const child = spawn('sh', ['-c', `${editor} "$1"`, 'editor', file], {
    stdio: 'inherit',
    env: ctx.io.env,
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) {
    throw new CliError(`there was a problem with the editor "${editor}" (exit status ${code})`);
  }
}

interface Edited {
  def: AnyKindDefinition;
  obj: ApiObject;
}

/** The edit session: until the changes are saved, cancelled, or saved again unchanged. */
async function editObjects(
  ctx: CliContext,
  namespace: string,
  originals: Edited[],
  format: 'yaml' | 'json',
): Promise<void> {
  const client = await ctx.client();
  const render = (objs: readonly ApiObject[]): string => {
    const value = objs.length === 1 ? objs[0]! : listOf(objs);
    return format === 'json' ? toJson(value) : toYaml(value);
  };
  const dir = await mkdtemp(join(tmpdir(), 'slipway-edit-'));
  const file = join(dir, `edit.${format}`);
  let keep = false;
  try {
    const pending = new Map(originals.map((o) => [identity(o.obj), o]));
    const known = new Set(pending.keys());
    let text = editBuffer(render(originals.map((o) => o.obj)), []);
    /** What the user saved last time, when it was refused: saving it again gives up. */
    let refusedText: string | undefined;
    let refusedObjects: ApiObject[] | undefined;
    let lastErrors: string[] = [];
    const giveUp = (): CliError => {
      keep = true;
      return new CliError(
        `Edit cancelled, no valid changes were saved (${lastErrors.join('; ')}); a copy of your changes has been stored to "${file}"`,
      );
    };
    for (;;) {
      await writeFile(file, text, { mode: 0o600 });
      await runEditor(ctx, file);
      text = await readFile(file, 'utf8');
      const saved = withoutLeadingComments(text);
      if (refusedText !== undefined && saved === refusedText) throw giveUp();
      let edited: ApiObject[] | undefined;
      try {
        edited = parseEdited(text, format);
      } catch (err) {
        if (!(err instanceof EditError)) throw err;
        refusedText = saved;
        refusedObjects = undefined;
        lastErrors = [err.message];
        text = editBuffer(saved, lastErrors);
        continue;
      }
      if (edited && refusedObjects && jsonEqual(edited, refusedObjects)) throw giveUp();
      if (!edited) {
        ctx.out('Edit cancelled, no changes made.');
        return;
      }
      const errors: string[] = [];
      const changes: { original: Edited; obj: ApiObject }[] = [];
      for (const obj of edited) {
        const original = pending.get(identity(obj));
        if (!original) {
          errors.push(
            `${String(obj.kind ?? 'an object')} "${obj.metadata?.name ?? ''}": at least one of apiVersion, kind and name was changed`,
          );
        } else if (!jsonEqual(original.obj, obj)) {
          changes.push({ original, obj });
        }
      }
      if (errors.length === 0 && changes.length === 0) {
        ctx.out('Edit cancelled, no changes made.');
        return;
      }
      for (const { original, obj } of errors.length ? [] : changes) {
        const patch = createMergePatch(original.obj, obj);
        try {
          await client.patch(original.def, original.obj.metadata.name ?? '', patch, {
            namespace: original.def.namespaced ? namespace : undefined,
            type: 'merge',
          });
          ctx.out(`${qualifiedName(original.def, original.obj)} edited`);
          pending.delete(identity(original.obj));
        } catch (err) {
          if (!isApiError(err) || err.code >= 500) throw err;
          errors.push(err.message);
        }
      }
      if (errors.length === 0) return;
      // Saved objects leave the file; the refused ones come back as the user wrote them.
      const left = edited.filter((o) => pending.has(identity(o)) || !known.has(identity(o)));
      refusedText = undefined;
      refusedObjects = left;
      lastErrors = errors;
      text = editBuffer(render(left), errors);
    }
  } finally {
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}

function withoutHashLines(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}

/** The file without the comment block the editor opened with (the header and errors). */
function withoutLeadingComments(text: string): string {
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('#')) i++;
  return lines.slice(i).join('\n');
}

interface EditOptions {
  output: string;
  namespace?: string;
}

export function registerEditCommand(program: Command, ctx: CliContext): void {
  program
    .command('edit')
    .description('Edit objects in your editor and save the changes: edit TYPE/NAME [...]')
    .argument('<args...>', 'TYPE NAME... or TYPE/NAME...')
    .option('-o, --output <format>', 'yaml (default) or json', 'yaml')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action(async (args: string[], opts: EditOptions) => {
      if (opts.output !== 'yaml' && opts.output !== 'json') {
        throw new CliError(`--output "${opts.output}": must be yaml or json`);
      }
      const targets = parseTargets(ctx.registry, args);
      if (targets.length === 0 || targets.some((t) => !t.name)) {
        throw new CliError('edit needs objects by name: TYPE/NAME... or TYPE NAME...');
      }
      const client = await ctx.client();
      const namespace = await ctx.namespace(opts.namespace);
      const originals: Edited[] = [];
      for (const t of targets) {
        const obj = await client.get<ApiObject>(t.def, t.name!, {
          namespace: t.def.namespaced ? namespace : undefined,
        });
        originals.push({ def: t.def, obj: readableOrder(obj) });
      }
      await editObjects(ctx, namespace, originals, opts.output);
    });
}

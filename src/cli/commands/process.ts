/**
 * `process`: a Template (a file, standard input or one stored in a project) into the list of
 * objects it stands for, printed as a `List` for `slipway create -f -`, as `oc process` does.
 * The processing happens here in the CLI (see src/api/template-process.ts), not on the server.
 */
import type { Command } from 'commander';
import {
  ApiError,
  isApiError,
  validateObject,
  type ApiObject,
  type StatusCause,
} from '../../api/index.js';
import { templateKind, type Template } from '../../api/kinds/template.js';
import {
  processTemplate,
  unknownParameters,
  type ProcessedTemplate,
} from '../../api/template-process.js';
import type { ApiClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { parseLabelPairs } from '../generate/source-arg.js';
import { readManifests } from '../manifests.js';
import { toJson, toYaml } from '../printers.js';
import { qualifiedName } from '../resources.js';
import { formatTable } from '../table.js';
import { combineParams, parseParamArgs, readParamFiles } from '../template-params.js';
import { collect } from './apply.js';

const OUTPUTS = ['json', 'name', 'yaml'];

/** Where `slipway process NAME` also looks, as `oc new-app` does: the shared templates. */
export const SHARED_TEMPLATES_NAMESPACE = 'openshift';

interface ProcessOptions {
  filename?: string;
  param: string[];
  paramFile: string[];
  labels: string[];
  output?: string;
  parameters?: boolean;
  ignoreUnknownParameters?: boolean;
  namespace?: string;
}

/** `NAME`, `template/NAME`, `NS/template/NAME` or `NS//NAME`, as oc parses them. */
export function parseTemplateRef(arg: string): { namespace?: string; name: string } {
  const parts = arg.trim().split('/');
  const [ns, resource, name] =
    parts.length === 3
      ? parts
      : parts.length === 2
        ? [undefined, parts[0], parts[1]]
        : parts.length === 1
          ? [undefined, '', parts[0]]
          : [];
  if (name === undefined) throw new CliError(`invalid argument "${arg}"`);
  if (resource && resource !== 'template' && resource !== 'templates')
    throw new CliError(`unable to process invalid resource "${resource}"`);
  if (!name) throw new CliError(`invalid value syntax "${arg}"`);
  return { ...(ns ? { namespace: ns } : {}), name };
}

/** The template `-f` names: its first document, which must be a valid Template. */
async function templateFromFile(ctx: CliContext, filename: string): Promise<Template> {
  const manifests = await readManifests([filename], ctx.io.stdin);
  if (manifests.length > 1)
    ctx.err(`${manifests.length} input templates found, but only the first will be processed`);
  const first = manifests[0]!;
  const def = ctx.registry.forObject(first.object.apiVersion, first.object.kind);
  if (def !== templateKind) {
    throw new CliError(
      `unable to parse "${first.source}", not a valid Template but ${first.object.kind}`,
    );
  }
  try {
    return validateObject(templateKind, first.object);
  } catch (err) {
    if (err instanceof ApiError) throw new CliError(err.message);
    throw err;
  }
}

/** A stored template: in the namespace named (NS//NAME or -n), else in the current project,
 * then in `openshift` (the shared templates, as `oc new-app` looks). */
async function storedTemplate(
  client: ApiClient,
  ref: { namespace?: string | undefined; name: string },
  current: string,
): Promise<Template> {
  const places = ref.namespace
    ? [ref.namespace]
    : [...new Set([current, SHARED_TEMPLATES_NAMESPACE])];
  for (const namespace of places) {
    try {
      return await client.get<Template>(templateKind, ref.name, { namespace });
    } catch (err) {
      if (!isApiError(err, 'NotFound')) throw err;
    }
  }
  throw new CliError(
    `template "${ref.name}" could not be found in ${places.map((p) => `project "${p}"`).join(' or ')}`,
  );
}

/** NAME DESCRIPTION GENERATOR VALUE, as `oc process --parameters` prints them. */
export function parametersTable(template: Template): string {
  const rows = (template.parameters ?? []).map((p) => [
    p.name,
    (p.description ?? '').replace(/\s*\n\s*/g, ' '),
    p.generate ?? '',
    (p.generate ? p.from : p.value) ?? '',
  ]);
  return `${formatTable(['NAME', 'DESCRIPTION', 'GENERATOR', 'VALUE'], rows).lines.join('\n')}\n`;
}

function causeText(c: StatusCause): string {
  return c.field ? `${c.field}: ${c.message}` : c.message;
}

/** `kind.group/name` for objects the CLI may not know the kind of. */
function nameOf(ctx: CliContext, obj: ApiObject): string {
  const def = ctx.registry.forObject(obj.apiVersion, obj.kind);
  if (def) return qualifiedName(def, obj);
  const group = obj.apiVersion.includes('/') ? `.${obj.apiVersion.split('/')[0]}` : '';
  return `${obj.kind.toLowerCase()}${group}/${obj.metadata?.name ?? ''}`;
}

/** The template `-f FILE` or a stored NAME (`NS//NAME`, `template/NAME`) names. */
export async function loadTemplate(
  ctx: CliContext,
  from: {
    filename?: string | undefined;
    name?: string | undefined;
    namespace?: string | undefined;
  },
): Promise<Template> {
  if (from.filename) return templateFromFile(ctx, from.filename);
  const ref = parseTemplateRef(from.name ?? '');
  return storedTemplate(
    await ctx.client(),
    { namespace: ref.namespace ?? from.namespace, name: ref.name },
    await ctx.namespace(undefined),
  );
}

/** Processes a template with the parameters and labels of the command line (`-p`, `K=V`,
 * `--param-file`, `-l`); every problem becomes one CliError naming the parameters. */
export async function processWithArgs(
  ctx: CliContext,
  template: Template,
  args: {
    params: readonly string[];
    paramFiles: readonly string[];
    labels: readonly string[];
    ignoreUnknownParameters: boolean;
  },
): Promise<ProcessedTemplate> {
  const labels = parseLabelPairs(args.labels);
  const values = combineParams(
    parseParamArgs(args.params),
    await readParamFiles(args.paramFiles, ctx.io.stdin),
    (line) => ctx.err(line),
  );
  const unknown = unknownParameters(template, values.keys());
  if (unknown.length > 0) {
    if (!args.ignoreUnknownParameters) {
      throw new CliError(unknown.map((n) => `unknown parameter name "${n}"`).join(', '));
    }
    for (const n of unknown) values.delete(n);
  }
  try {
    return processTemplate(template, { values: Object.fromEntries(values), labels });
  } catch (err) {
    if (err instanceof ApiError) {
      const causes = err.details?.causes ?? [{ message: err.message }];
      throw new CliError(
        `unable to process template "${template.metadata.name ?? ''}": ${causes.map(causeText).join('; ')}`,
      );
    }
    throw err;
  }
}

/** What `oc process` prints: a v1 List, JSON unless told otherwise. */
export function formatProcessed(
  ctx: CliContext,
  objects: readonly ApiObject[],
  output: string,
): string {
  if (output === 'name') return objects.map((o) => `${nameOf(ctx, o)}\n`).join('');
  // oc's JSON has kind first; YAML reads best with apiVersion first, as `get -o yaml` prints.
  if (output === 'json')
    return toJson({ kind: 'List', apiVersion: 'v1', metadata: {}, items: objects });
  return toYaml({ apiVersion: 'v1', kind: 'List', metadata: {}, items: objects });
}

export function registerProcessCommand(program: Command, ctx: CliContext): void {
  program
    .command('process')
    .description(
      'Process a template into the objects it stands for (pipe to "slipway create -f -")',
    )
    .argument(
      '[args...]',
      'a stored template (NAME, NS//NAME or template/NAME) and KEY=VALUE parameters',
    )
    .option('-f, --filename <file>', 'the template file, or - for standard input')
    .option('-p, --param <KEY=VALUE>', 'set a parameter; repeatable', collect, [])
    .option(
      '--param-file <file>',
      'KEY=VALUE lines setting parameters (- for standard input); repeatable',
      collect,
      [],
    )
    .option('-l, --labels <k=v>', 'labels for every object (k=v[,k=v]); repeatable', collect, [])
    .option('-o, --output <format>', 'json (default), yaml or name')
    .option('--parameters', 'only list the parameters: NAME DESCRIPTION GENERATOR VALUE')
    .option('--ignore-unknown-parameters', 'do not stop at a parameter the template does not have')
    .option(
      '-n, --namespace <namespace>',
      'the project of a stored template (default: the current project, then "openshift")',
    )
    .action(async (args: string[], opts: ProcessOptions) => {
      const names = args.filter((a) => !a.includes('='));
      const paramArgs = [...opts.param, ...args.filter((a) => a.includes('='))];
      if (names.length > 1)
        throw new CliError(`template name must be specified only once: ${names[1]}`);
      const templateName = names[0];
      if (opts.parameters) {
        for (const [flag, used] of [
          ['param', paramArgs.length > 0],
          ['labels', opts.labels.length > 0],
          ['output', opts.output !== undefined],
        ] as const) {
          if (used) {
            throw new CliError(
              `The --parameters flag does not process the template, can't be used with --${flag}`,
            );
          }
        }
      }
      if (!templateName && !opts.filename)
        throw new CliError('Must pass a filename (-f) or name of stored template');
      if (templateName && opts.filename)
        throw new CliError(
          `pass either a stored template name or -f, not both ("${templateName}" and -f ${opts.filename})`,
        );
      if (opts.filename === '-' && opts.paramFile.includes('-'))
        throw new CliError('standard input cannot hold both the template and a parameter file');

      const output = (opts.output ?? 'json').replace(/^=/, '');
      if (!OUTPUTS.includes(output)) {
        throw new CliError(
          `unable to match a printer suitable for the output format "${output}", allowed formats are: ${OUTPUTS.join(',')}`,
        );
      }
      const template = await loadTemplate(ctx, {
        filename: opts.filename,
        name: templateName,
        namespace: opts.namespace,
      });
      if (opts.parameters) {
        ctx.io.stdout.write(parametersTable(template));
        return;
      }
      const processed = await processWithArgs(ctx, template, {
        params: paramArgs,
        paramFiles: opts.paramFile,
        labels: opts.labels,
        ignoreUnknownParameters: opts.ignoreUnknownParameters ?? false,
      });
      ctx.io.stdout.write(formatProcessed(ctx, processed.objects, output));
    });
}

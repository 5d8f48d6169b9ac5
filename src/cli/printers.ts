import { stringify } from 'yaml';
import type { AnyKindDefinition, ApiObject, Column } from '../api/index.js';
import { CliError } from './errors.js';
import { qualifiedName } from './resources.js';
import { formatTable } from './table.js';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';

const formats: readonly OutputFormat[] = ['json', 'name', 'wide', 'yaml'];

/** `-o` value to a format; accepts `-o=yaml` as kubectl does. */
export function parseOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === '') return 'table';
  const v = value.replace(/^=/, '');
  if ((formats as readonly string[]).includes(v)) return v as OutputFormat;
  throw new CliError(
    `unable to match a printer suitable for the output format "${v}", allowed formats are: ${formats.join(',')}`,
  );
}

export interface TableOptions {
  wide: boolean;
  showLabels: boolean;
  /** Adds the NAMESPACE column (namespaced kinds only). */
  allNamespaces: boolean;
  /** Prefix names with the kind (`pod/web`), as when several kinds are printed. */
  withKind: boolean;
  /** `--no-headers`: rows only. */
  noHeaders?: boolean;
  now: Date;
}

export function formatLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
}

export interface TableLayout {
  headers: string[];
  row: (obj: ApiObject) => string[];
}

/** The columns `get` prints for a kind: NAME, the kind's columns (wide ones with -o wide),
 * with NAMESPACE first for -A and LABELS last for --show-labels. */
export function tableLayout(def: AnyKindDefinition, options: TableOptions): TableLayout {
  const columns = (def.columns as readonly Column[]).filter((c) => options.wide || !c.wide);
  const withNamespace = options.allNamespaces && def.namespaced;
  const headers = [
    ...(withNamespace ? ['NAMESPACE'] : []),
    'NAME',
    ...columns.map((c) => c.header),
    ...(options.showLabels ? ['LABELS'] : []),
  ];
  const row = (obj: ApiObject): string[] => [
    ...(withNamespace ? [obj.metadata.namespace ?? ''] : []),
    options.withKind ? qualifiedName(def, obj) : (obj.metadata.name ?? ''),
    ...columns.map((c) => {
      try {
        return c.value(obj, options.now);
      } catch {
        return '<unknown>';
      }
    }),
    ...(options.showLabels ? [formatLabels(obj.metadata.labels)] : []),
  ];
  return { headers, row };
}

/** One table per kind, separated by blank lines, as kubectl prints `get pods,cm`. */
export function formatTables(
  groups: readonly { def: AnyKindDefinition; items: readonly ApiObject[] }[],
  options: TableOptions,
): string {
  const blocks: string[] = [];
  for (const { def, items } of groups) {
    if (items.length === 0) continue;
    const layout = tableLayout(def, options);
    const headers = options.noHeaders ? undefined : layout.headers;
    blocks.push(formatTable(headers, items.map(layout.row)).lines.join('\n'));
  }
  return blocks.length ? `${blocks.join('\n\n')}\n` : '';
}

/** What `-o json|yaml` prints: the object itself, or a `List` of several. */
export function listOf(items: readonly ApiObject[]): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
}

export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 4)}\n`;
}

export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}

/** apiVersion, kind and metadata first, the rest as the server sent it: the order people read. */
export function readableOrder<T extends Record<string, unknown>>(obj: T): T {
  const { apiVersion, kind, metadata, ...rest } = obj;
  const out: Record<string, unknown> = {};
  if (apiVersion !== undefined) out.apiVersion = apiVersion;
  if (kind !== undefined) out.kind = kind;
  if (metadata !== undefined) out.metadata = metadata;
  return { ...out, ...rest } as T;
}

/** Structured output of objects: json/yaml (one object or a List), or `kind/name` lines. */
export function formatStructured(
  format: 'json' | 'yaml' | 'name',
  items: readonly { def: AnyKindDefinition; obj: ApiObject }[],
  single: boolean,
): string {
  if (format === 'name')
    return items.map(({ def, obj }) => `${qualifiedName(def, obj)}\n`).join('');
  const objects = items.map((i) => readableOrder(i.obj));
  const value = single && objects.length === 1 ? objects[0] : listOf(objects);
  return format === 'json' ? toJson(value) : toYaml(value);
}

/** `No resources found in demo namespace.` / `No resources found` */
export function noResourcesMessage(namespace: string | undefined): string {
  return namespace ? `No resources found in ${namespace} namespace.` : 'No resources found';
}

/**
 * The table's inputs on disk, so a restarted router serves at once, before the API answers
 * (kamal-proxy keeps its state the same way). Holds route certificates and keys: written with
 * mode 0600, atomically (temporary file, fsync, rename).
 */
import { readFile } from 'node:fs/promises';
import type { Endpoints, Route, Service } from '../src/api/index.js';
import type { TableInput } from './route-table.js';
import { writeFileAtomic } from '../src/util/atomic-file.js';

interface SnapshotFile {
  version: 1;
  savedAt: string;
  routes: Route[];
  services: Service[];
  endpoints: Endpoints[];
}

/** Only what the routes use: their services and endpoints, not the whole cluster's. */
export function relevantInputs(input: TableInput): TableInput {
  const wanted = new Set<string>();
  for (const r of input.routes) {
    const ns = r.metadata.namespace ?? '';
    for (const ref of [r.spec.to, ...(r.spec.alternateBackends ?? [])])
      wanted.add(`${ns}/${ref.name}`);
  }
  const keep = <T extends Service | Endpoints>(list: readonly T[]): T[] =>
    list.filter((o) => wanted.has(`${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`));
  return { routes: input.routes, services: keep(input.services), endpoints: keep(input.endpoints) };
}

export async function saveSnapshot(file: string, input: TableInput): Promise<void> {
  const data: SnapshotFile = {
    version: 1,
    savedAt: new Date().toISOString(),
    ...(relevantInputs(input) as Omit<SnapshotFile, 'version' | 'savedAt'>),
  };
  await writeFileAtomic(file, JSON.stringify(data));
}

/** The saved inputs, or undefined when there is no usable snapshot. */
export async function loadSnapshot(file: string): Promise<TableInput | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const data = JSON.parse(text) as Partial<SnapshotFile>;
    if (data.version !== 1 || !Array.isArray(data.routes)) return undefined;
    return {
      routes: data.routes,
      services: Array.isArray(data.services) ? data.services : [],
      endpoints: Array.isArray(data.endpoints) ? data.endpoints : [],
    };
  } catch {
    return undefined;
  }
}

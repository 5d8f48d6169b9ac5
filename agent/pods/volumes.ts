/**
 * Pod volumes as Docker named volumes, one per pod volume for the pod's lifetime:
 * - emptyDir: an empty volume (tmpfs-backed with `medium: Memory`), root dir mode 0777 like
 *   Kubernetes, shared by the pod's containers;
 * - configMap / secret: a volume filled with the projected files (owned by the pod's UID and
 *   group, mode from `items[].mode` / `defaultMode`, 0644 for configMaps and 0640 for secrets by
 *   default), mounted read-only into containers. Secret volumes are tmpfs-backed, so secret data
 *   never reaches the node's disk.
 * Host paths are never used. Pure: the runtime creates and fills what this describes.
 */
import type { ConfigMap, PodSpec, Secret } from '../../src/api/index.js';
import { memoryBytes } from '../../src/api/quantity.js';

export type VolumeKind = 'emptyDir' | 'configMap' | 'secret';

export interface VolumeFile {
  /** Relative path inside the volume, '/'-separated, no '..'. */
  path: string;
  data: Buffer;
  mode: number;
}

export interface VolumePlan {
  /** The pod volume's name. */
  name: string;
  kind: VolumeKind;
  /** Docker volume name. */
  dockerName: string;
  /** local-driver options (tmpfs); absent for an ordinary on-disk volume. */
  driverOpts?: Record<string, string>;
  /** Owner and mode of the volume's root directory. */
  root: { uid: number; gid: number; mode: number };
  /** Files to write (configMap/secret); empty for emptyDir. */
  files: VolumeFile[];
  /** Owner of the files. */
  owner: { uid: number; gid: number };
  labels: Record<string, string>;
}

export const CONFIGMAP_DEFAULT_MODE = 0o644;
export const SECRET_DEFAULT_MODE = 0o640;
export const EMPTYDIR_MODE = 0o777;
export const PROJECTION_DIR_MODE = 0o755;

type Volume = NonNullable<PodSpec['volumes']>[number];

interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

/** A volume the plan cannot provide: the pod waits (Kubernetes' FailedMount). */
export class VolumeError extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.name = 'VolumeError';
    this.field = field;
  }
}

function validRelativePath(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\0')) return false;
  return p.split('/').every((seg) => seg !== '' && seg !== '..' && seg !== '.');
}

function itemsOf(source: unknown): KeyToPath[] | undefined {
  const items = (source as { items?: unknown }).items;
  if (!Array.isArray(items)) return undefined;
  return items.filter(
    (i): i is KeyToPath =>
      typeof i === 'object' &&
      i !== null &&
      typeof (i as KeyToPath).key === 'string' &&
      typeof (i as KeyToPath).path === 'string',
  );
}

function project(
  field: string,
  entries: Map<string, Buffer>,
  items: KeyToPath[] | undefined,
  defaultMode: number,
  optional: boolean,
  what: string,
): VolumeFile[] {
  const files: VolumeFile[] = [];
  if (!items) {
    for (const [key, data] of entries) files.push({ path: key, data, mode: defaultMode });
    return files;
  }
  items.forEach((item, i) => {
    if (!validRelativePath(item.path)) {
      throw new VolumeError(
        `${field}.items[${i}].path`,
        `Invalid value: "${item.path}": must be a relative path without '..'`,
      );
    }
    const data = entries.get(item.key);
    if (data === undefined) {
      if (optional) return;
      throw new VolumeError(`${field}.items[${i}].key`, `couldn't find key ${item.key} in ${what}`);
    }
    files.push({ path: item.path, data, mode: item.mode ?? defaultMode });
  });
  return files;
}

export interface VolumeInputs {
  spec: PodSpec;
  namespace: string;
  configMaps: Readonly<Record<string, ConfigMap>>;
  secrets: Readonly<Record<string, Secret>>;
  /** Owner of projected files and emptyDir roots: the pod's UID and fsGroup (or GID). */
  owner: { uid: number; gid: number };
  dockerName: (volumeName: string) => string;
  labels: (volume: string, kind: VolumeKind) => Record<string, string>;
}

/** Plans every supported volume; throws VolumeError for missing data or unsupported kinds. */
export function planVolumes(input: VolumeInputs): VolumePlan[] {
  const { owner } = input;
  return (input.spec.volumes ?? []).map((v: Volume, i): VolumePlan => {
    const field = `spec.volumes[${i}]`;
    const base = { name: v.name, dockerName: input.dockerName(v.name), owner };
    if (v.emptyDir) {
      const memory = v.emptyDir.medium === 'Memory';
      if (v.emptyDir.medium && !memory) {
        throw new VolumeError(
          `${field}.emptyDir.medium`,
          `Unsupported value: "${v.emptyDir.medium}": supported values: "", "Memory"`,
        );
      }
      const opts: Record<string, string> | undefined = memory
        ? {
            type: 'tmpfs',
            device: 'tmpfs',
            o: [
              v.emptyDir.sizeLimit !== undefined ? `size=${memoryBytes(v.emptyDir.sizeLimit)}` : '',
              `mode=${EMPTYDIR_MODE.toString(8).padStart(4, '0')}`,
              `uid=${owner.uid}`,
              `gid=${owner.gid}`,
            ]
              .filter(Boolean)
              .join(','),
          }
        : undefined;
      return {
        ...base,
        kind: 'emptyDir',
        ...(opts ? { driverOpts: opts } : {}),
        root: { ...owner, mode: EMPTYDIR_MODE },
        files: [],
        labels: input.labels(v.name, 'emptyDir'),
      };
    }
    if (v.configMap) {
      const src = v.configMap;
      const cm = input.configMaps[src.name];
      const optional = src.optional === true;
      if (!cm && !optional)
        throw new VolumeError(`${field}.configMap.name`, `configmap "${src.name}" not found`);
      const entries = new Map<string, Buffer>();
      for (const [k, text] of Object.entries(cm?.data ?? {}))
        entries.set(k, Buffer.from(text, 'utf8'));
      for (const [k, b64] of Object.entries(cm?.binaryData ?? {}))
        entries.set(k, Buffer.from(b64, 'base64'));
      const mode = src.defaultMode ?? CONFIGMAP_DEFAULT_MODE;
      return {
        ...base,
        kind: 'configMap',
        root: { ...owner, mode: PROJECTION_DIR_MODE },
        files: project(
          `${field}.configMap`,
          entries,
          itemsOf(src),
          mode,
          optional || !cm,
          `ConfigMap ${input.namespace}/${src.name}`,
        ),
        labels: input.labels(v.name, 'configMap'),
      };
    }
    if (v.secret) {
      const src = v.secret;
      const s = input.secrets[src.secretName];
      const optional = src.optional === true;
      if (!s && !optional)
        throw new VolumeError(`${field}.secret.secretName`, `secret "${src.secretName}" not found`);
      const entries = new Map<string, Buffer>();
      for (const [k, b64] of Object.entries(s?.data ?? {}))
        entries.set(k, Buffer.from(b64, 'base64'));
      for (const [k, text] of Object.entries(s?.stringData ?? {}))
        entries.set(k, Buffer.from(text, 'utf8'));
      const mode = src.defaultMode ?? SECRET_DEFAULT_MODE;
      return {
        ...base,
        kind: 'secret',
        driverOpts: {
          type: 'tmpfs',
          device: 'tmpfs',
          o: `mode=0755,uid=${owner.uid},gid=${owner.gid}`,
        },
        root: { ...owner, mode: PROJECTION_DIR_MODE },
        files: project(
          `${field}.secret`,
          entries,
          itemsOf(src),
          mode,
          optional || !s,
          `Secret ${input.namespace}/${src.secretName}`,
        ),
        labels: input.labels(v.name, 'secret'),
      };
    }
    if (v.hostPath)
      throw new VolumeError(`${field}.hostPath`, 'Forbidden: hostPath volumes are not allowed');
    const kinds = Object.keys(v).filter((k) => k !== 'name');
    throw new VolumeError(
      field,
      `Unsupported value: volume type ${kinds.join(', ') || '(none)'} is not supported on this node: supported types: emptyDir, configMap, secret`,
    );
  });
}

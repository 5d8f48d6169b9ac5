import { z } from 'zod';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { defineKind } from '../registry.js';
import { age } from '../../util/age.js';
import { DATA_SIZE_MAX, validateDataKeys } from './config-map.js';

export interface Secret extends ApiObject {
  metadata: ObjectMeta;
  type?: string;
  /** base64-encoded values */
  data?: Record<string, string>;
  /** write-only convenience: merged into data (base64-encoded) when stored */
  stringData?: Record<string, string>;
  immutable?: boolean;
}

const schema = z.looseObject({
  type: z.string().optional(),
  data: z.record(z.string(), z.base64()).optional(),
  stringData: z.record(z.string(), z.string()).optional(),
  immutable: z.boolean().optional(),
});

const requiredKeys: Record<string, string[]> = {
  'kubernetes.io/basic-auth': [],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

export const secretKind = defineKind<Secret>({
  kind: 'Secret',
  group: '',
  version: 'v1',
  plural: 'secrets',
  namespaced: true,
  schema,
  validate: (s) => {
    const causes = [
      ...validateDataKeys('data', s.data),
      ...validateDataKeys('stringData', s.stringData),
    ];
    const keys = new Set([...Object.keys(s.data ?? {}), ...Object.keys(s.stringData ?? {})]);
    for (const key of requiredKeys[s.type ?? ''] ?? []) {
      if (!keys.has(key)) causes.push({ field: `data[${key}]`, message: 'Required value' });
    }
    const size = Object.entries(s.data ?? {}).reduce(
      (n, [k, v]) => n + k.length + (v.length * 3) / 4,
      0,
    );
    if (size > DATA_SIZE_MAX)
      causes.push({ field: 'data', message: `Too long: must have at most ${DATA_SIZE_MAX} bytes` });
    return causes;
  },
  normalize: (s) => {
    const { stringData, ...rest } = s;
    const out: Secret = { ...rest, type: s.type ?? 'Opaque' };
    if (stringData) {
      out.data = { ...(s.data ?? {}) };
      for (const [k, v] of Object.entries(stringData))
        out.data[k] = Buffer.from(v, 'utf8').toString('base64');
    }
    return out;
  },
  columns: [
    { header: 'TYPE', value: (s) => s.type ?? 'Opaque' },
    { header: 'DATA', value: (s) => String(Object.keys(s.data ?? {}).length) },
    { header: 'AGE', value: (s, now) => age(s.metadata.creationTimestamp, now) },
  ],
});

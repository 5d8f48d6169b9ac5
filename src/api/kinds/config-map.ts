import { z } from 'zod';
import type { StatusCause } from '../errors.js';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { defineKind } from '../registry.js';
import { age } from '../../util/age.js';

/** ConfigMap and Secret keys: alphanumerics, '-', '_' or '.'. */
const dataKeyRe = /^[-._a-zA-Z0-9]+$/;
export const DATA_SIZE_MAX = 1024 * 1024;

export function validateDataKeys(
  field: string,
  data: Record<string, string> | undefined,
): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const key of Object.keys(data ?? {})) {
    if (!dataKeyRe.test(key) || key.length > 253 || key === '.' || key === '..') {
      causes.push({
        field: `${field}[${key}]`,
        message: `Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
      });
    }
  }
  return causes;
}

export interface ConfigMap extends ApiObject {
  metadata: ObjectMeta;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  immutable?: boolean;
}

const schema = z.looseObject({
  data: z.record(z.string(), z.string()).optional(),
  binaryData: z.record(z.string(), z.base64()).optional(),
  immutable: z.boolean().optional(),
});

export const configMapKind = defineKind<ConfigMap>({
  kind: 'ConfigMap',
  group: '',
  version: 'v1',
  plural: 'configmaps',
  shortNames: ['cm'],
  namespaced: true,
  schema,
  validate: (cm) => {
    const causes = [
      ...validateDataKeys('data', cm.data),
      ...validateDataKeys('binaryData', cm.binaryData),
    ];
    for (const key of Object.keys(cm.binaryData ?? {})) {
      if (cm.data && key in cm.data)
        causes.push({ field: `binaryData[${key}]`, message: `Duplicate value: "${key}"` });
    }
    const size = [cm.data, cm.binaryData].reduce(
      (n, d) => n + Object.entries(d ?? {}).reduce((m, [k, v]) => m + k.length + v.length, 0),
      0,
    );
    if (size > DATA_SIZE_MAX)
      causes.push({ field: 'data', message: `Too long: must have at most ${DATA_SIZE_MAX} bytes` });
    return causes;
  },
  columns: [
    {
      header: 'DATA',
      value: (cm) =>
        String(Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length),
    },
    { header: 'AGE', value: (cm, now) => age(cm.metadata.creationTimestamp, now) },
  ],
});

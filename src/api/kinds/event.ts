import { z } from 'zod';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { defineKind } from '../registry.js';
import { age } from '../../util/age.js';

export interface ObjectReference {
  apiVersion?: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  fieldPath?: string;
}

export interface Event extends ApiObject {
  metadata: ObjectMeta;
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source?: { component?: string; host?: string };
}

const schema = z.looseObject({
  involvedObject: z.looseObject({
    kind: z.string().min(1),
    name: z.string().min(1),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    apiVersion: z.string().optional(),
    fieldPath: z.string().optional(),
  }),
  reason: z.string().min(1).max(128),
  message: z.string().max(4096),
  type: z.enum(['Normal', 'Warning']),
  count: z.number().int().min(1),
  firstTimestamp: z.string().min(1),
  lastTimestamp: z.string().min(1),
  source: z
    .looseObject({ component: z.string().optional(), host: z.string().optional() })
    .optional(),
});

export const eventKind = defineKind<Event>({
  kind: 'Event',
  group: '',
  version: 'v1',
  plural: 'events',
  shortNames: ['ev'],
  namespaced: true,
  schema,
  fieldSelectors: {
    'involvedObject.kind': (e) => e.involvedObject.kind,
    'involvedObject.name': (e) => e.involvedObject.name,
    'involvedObject.namespace': (e) => e.involvedObject.namespace ?? '',
    'involvedObject.uid': (e) => e.involvedObject.uid ?? '',
    reason: (e) => e.reason,
    type: (e) => e.type,
  },
  columns: [
    { header: 'LAST SEEN', value: (e, now) => age(e.lastTimestamp, now) },
    { header: 'TYPE', value: (e) => e.type },
    { header: 'REASON', value: (e) => e.reason },
    {
      header: 'OBJECT',
      value: (e) => `${e.involvedObject.kind.toLowerCase()}/${e.involvedObject.name}`,
    },
    { header: 'MESSAGE', value: (e) => e.message },
  ],
});

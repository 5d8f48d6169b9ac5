import { z } from 'zod';
import type { ApiObject, ObjectMeta } from '../meta.js';
import { defineKind } from '../registry.js';

export const DISPLAY_NAME = 'openshift.io/display-name';
export const DESCRIPTION = 'openshift.io/description';

/** A namespace with a display name and description; deleting it deletes everything in it. */
export interface Project extends ApiObject {
  metadata: ObjectMeta;
  spec?: { finalizers?: string[] };
  status?: { phase?: 'Active' | 'Terminating' };
}

export const projectKind = defineKind<Project>({
  kind: 'Project',
  group: 'project.openshift.io',
  version: 'v1',
  plural: 'projects',
  aliasApiVersions: ['v1'],
  namespaced: false,
  nameRule: 'dns1123-label',
  schema: z.looseObject({
    spec: z.looseObject({}).optional(),
    status: z.looseObject({}).optional(),
  }),
  statusSubresource: true,
  fieldSelectors: { 'status.phase': (p) => p.status?.phase ?? '' },
  columns: [
    { header: 'DISPLAY NAME', value: (p) => p.metadata.annotations?.[DISPLAY_NAME] ?? '' },
    { header: 'STATUS', value: (p) => p.status?.phase ?? 'Active' },
  ],
});

/** What `new-project` sends; the server turns it into a Project. */
export interface ProjectRequest extends ApiObject {
  metadata: ObjectMeta;
  displayName?: string;
  description?: string;
}

export const projectRequestKind = defineKind<ProjectRequest>({
  kind: 'ProjectRequest',
  group: 'project.openshift.io',
  version: 'v1',
  plural: 'projectrequests',
  aliasApiVersions: ['v1'],
  namespaced: false,
  nameRule: 'dns1123-label',
  schema: z.looseObject({
    displayName: z.string().max(1024).optional(),
    description: z.string().max(4096).optional(),
  }),
  verbs: ['create', 'list'],
});

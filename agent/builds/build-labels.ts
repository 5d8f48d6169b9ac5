/**
 * The labels OpenShift puts on every image it builds: which builder, which commit (id, author,
 * date, subject), ref, where the source came from and its context directory, and which build.
 * Pure.
 */
import type { BuiltRevision } from './types.js';

export interface BuildLabelInput {
  builderImage?: string | undefined;
  buildName: string;
  namespace: string;
  revision?: BuiltRevision | undefined;
  ref?: string | undefined;
  sourceUri?: string | undefined;
  contextDir?: string | undefined;
}

const PREFIX = 'io.openshift.build.';

export function buildLabels(input: BuildLabelInput): Record<string, string> {
  const labels: Record<string, string> = {};
  if (input.builderImage) labels[`${PREFIX}image`] = input.builderImage;
  const r = input.revision;
  if (r) {
    labels[`${PREFIX}commit.id`] = r.commit;
    labels[`${PREFIX}commit.author`] = `${r.author.name} <${r.author.email}>`;
    labels[`${PREFIX}commit.date`] = r.date;
    labels[`${PREFIX}commit.message`] = (r.message.split('\n')[0] ?? '').slice(0, 1024);
  }
  if (input.ref) labels[`${PREFIX}commit.ref`] = input.ref;
  if (input.sourceUri) labels[`${PREFIX}source-location`] = input.sourceUri;
  if (input.contextDir) labels[`${PREFIX}source-context-dir`] = input.contextDir;
  labels[`${PREFIX}name`] = input.buildName;
  labels[`${PREFIX}namespace`] = input.namespace;
  return labels;
}

/**
 * apps/v1 ReplicaSets and Deployments keep the selector they were created with, as Kubernetes
 * has it since apps/v1 (`spec.selector: Invalid value: ...: field is immutable`): a changed
 * selector would orphan the pods the object owns and adopt others. ReplicationControllers and
 * DeploymentConfigs may change theirs, as in Kubernetes and OpenShift.
 */
import { ApiError } from '../../src/api/errors.js';
import type { ApiObject } from '../../src/api/meta.js';
import { jsonEqual } from '../../src/api/merge-patch.js';

function selectorOf(obj: ApiObject): unknown {
  const spec = (obj as { spec?: { selector?: unknown } }).spec;
  return spec?.selector ?? null;
}

/** Refuses an update that changes `spec.selector` of `kind` (ReplicaSet or Deployment). */
export function admitSelectorUnchanged(kind: string) {
  return (current: ApiObject, next: ApiObject): void => {
    const wants = selectorOf(next);
    if (jsonEqual(selectorOf(current), wants)) return;
    throw ApiError.invalid(kind, next.metadata.name ?? '', [
      {
        field: 'spec.selector',
        message: `Invalid value: ${JSON.stringify(wants)}: field is immutable`,
        reason: 'FieldValueInvalid',
      },
    ]);
  };
}

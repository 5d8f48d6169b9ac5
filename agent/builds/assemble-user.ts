/**
 * The user assemble runs as: the builder image's `io.openshift.s2i.assemble-user` label, else
 * its USER. As on OpenShift with restricted UIDs, it must be numeric (`UID` or `UID:GID`) and
 * not root; a name (`default`), root or an empty USER fail the build with OpenShift's message.
 * Pure.
 */
import { BuildFailure } from './types.js';

export const ASSEMBLE_USER_LABEL = 'io.openshift.s2i.assemble-user';

export interface NumericUser {
  uid: number;
  gid: number;
}

/** `UID` / `UID:GID`, numeric; undefined otherwise. */
export function parseNumericUser(value: string): NumericUser | undefined {
  const m = /^(\d{1,10})(?::(\d{1,10}))?$/.exec(value.trim());
  if (!m) return undefined;
  const uid = Number(m[1]);
  const gid = m[2] === undefined ? 0 : Number(m[2]);
  if (uid > 2 ** 31 - 1 || gid > 2 ** 31 - 1) return undefined;
  return { uid, gid };
}

export function assembleUser(
  image: string,
  imageUser: string,
  labels: Record<string, string>,
): NumericUser {
  const value = labels[ASSEMBLE_USER_LABEL]?.trim() || imageUser.trim();
  const user = parseNumericUser(value);
  if (!user || user.uid === 0) {
    throw new BuildFailure(
      'GenericBuildFailed',
      `builder image ${image} must specify a user that is numeric and within the range of allowed users (it specifies ${value === '' ? 'none, which means root' : `"${value}"`})`,
    );
  }
  return user;
}

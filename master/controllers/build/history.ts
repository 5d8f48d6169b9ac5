/**
 * History limits of a BuildConfig: the newest `successfulBuildsHistoryLimit` Complete builds and
 * the newest `failedBuildsHistoryLimit` Failed, Error or Cancelled builds are kept (5 each by
 * default); older finished builds are pruned. Builds still queued or running are never pruned.
 */
import {
  buildNumber,
  DEFAULT_FAILED_BUILDS_HISTORY,
  DEFAULT_SUCCESSFUL_BUILDS_HISTORY,
  type Build,
  type BuildConfig,
} from '../../../src/api/index.js';

function newestFirst(a: Build, b: Build): number {
  const byNumber = (buildNumber(b) ?? 0) - (buildNumber(a) ?? 0);
  if (byNumber !== 0) return byNumber;
  return (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '');
}

export function buildsToPrune(bc: Pick<BuildConfig, 'spec'>, builds: readonly Build[]): Build[] {
  const successful = bc.spec.successfulBuildsHistoryLimit ?? DEFAULT_SUCCESSFUL_BUILDS_HISTORY;
  const failed = bc.spec.failedBuildsHistoryLimit ?? DEFAULT_FAILED_BUILDS_HISTORY;
  const complete = builds.filter((b) => b.status?.phase === 'Complete').sort(newestFirst);
  const unsuccessful = builds
    .filter((b) => ['Failed', 'Error', 'Cancelled'].includes(b.status?.phase ?? ''))
    .sort(newestFirst);
  return [...complete.slice(successful), ...unsuccessful.slice(failed)];
}

/**
 * Which queued (New) build of a BuildConfig may start, by its `runPolicy`:
 * - Serial (default): one at a time, in build-number order;
 * - SerialLatestOnly: one at a time, and a queued build is cancelled when a newer one is
 *   queued behind it;
 * - Parallel: every build starts at once.
 */
import { buildNumber, type Build, type RunPolicy } from '../../../src/api/index.js';

export type RunDecision = 'run' | 'wait' | 'cancel';

function queued(build: Build): boolean {
  return (build.status?.phase ?? 'New') === 'New' && build.status?.cancelled !== true;
}

function active(build: Build): boolean {
  const phase = build.status?.phase;
  return phase === 'Pending' || phase === 'Running';
}

/** The decision for `build` (New) among `siblings`: the builds of its BuildConfig. */
export function runPolicyDecision(
  build: Build,
  siblings: readonly Build[],
  policy: RunPolicy | undefined,
): RunDecision {
  if (policy === 'Parallel') return 'run';
  const number = buildNumber(build) ?? 0;
  const others = siblings.filter((b) => b.metadata.uid !== build.metadata.uid);
  if (
    policy === 'SerialLatestOnly' &&
    others.some((b) => queued(b) && (buildNumber(b) ?? 0) > number)
  ) {
    return 'cancel';
  }
  if (others.some(active)) return 'wait';
  if (others.some((b) => queued(b) && (buildNumber(b) ?? 0) < number)) return 'wait';
  return 'run';
}

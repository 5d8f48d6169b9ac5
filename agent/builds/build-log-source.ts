/**
 * Serves build logs through the agent's log server (`logs build/NAME`, `logs -f bc/NAME` reach
 * the build pod's container `sti-build` or `docker-build`): the log file the runner writes,
 * followed until the build's result is written. kubelet's answers for the rest: not started
 * yet is "waiting to start: ContainerCreating", and a build has no previous instance.
 */
import type { Readable } from 'node:stream';
import { ApiError } from '../../src/api/errors.js';
import type { Pod } from '../../src/api/index.js';
import type { LogParams } from '../server/logs.js';
import type { AgentLogSource } from '../server/server.js';
import type { InstanceQuery } from '../server/containers.js';
import { logExists, readBuildLog } from './build-log.js';
import { isBuildPod } from './build-pod.js';
import { BuildWorkspace, isSafeUid } from './workspace.js';

export function buildLogSource(options: {
  buildsDir: string;
  /** The pod with this uid, from the informer cache. */
  pod: (uid: string) => Pod | undefined;
}): AgentLogSource {
  const workspaceFor = (q: InstanceQuery): BuildWorkspace | undefined => {
    if (!isSafeUid(q.podUid)) return undefined;
    const pod = options.pod(q.podUid);
    if (!pod || !isBuildPod(pod) || pod.spec.containers[0]?.name !== q.container) return undefined;
    return new BuildWorkspace(options.buildsDir, q.podUid);
  };
  return {
    async serves(q: InstanceQuery, params: LogParams): Promise<boolean> {
      const ws = workspaceFor(q);
      if (!ws) return false;
      if (params.previous) {
        throw ApiError.badRequest(
          `previous terminated container "${q.container}" in pod "${q.pod}" not found`,
        );
      }
      if (!(await logExists(ws.logPath))) {
        throw ApiError.badRequest(
          `container "${q.container}" in pod "${q.pod}" is waiting to start: ContainerCreating`,
        );
      }
      return true;
    },
    open(q: InstanceQuery, params: LogParams, signal: AbortSignal): Promise<Readable> {
      const ws = workspaceFor(q);
      if (!ws) return Promise.reject(new ApiError('NotFound', 'the build log is gone'));
      return Promise.resolve(
        readBuildLog(ws.logPath, {
          follow: params.follow,
          tail: params.tailLines,
          sinceSeconds: params.sinceSeconds,
          timestamps: params.timestamps,
          signal,
          isDone: () => ws.hasResult(),
        }),
      );
    },
  };
}

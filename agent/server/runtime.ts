import type { DockerRuntime } from '../docker/runtime.js';

/** What the agent's server needs of the runtime (a DockerRuntime; fakes in unit tests). */
export type AgentRuntime = Pick<DockerRuntime, 'listPods' | 'logs' | 'exec' | 'execInContainer'>;

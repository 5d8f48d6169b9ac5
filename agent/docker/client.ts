/**
 * The one place a Dockerode client is constructed: from a socket path or a DOCKER_HOST-style
 * URL (`unix:///var/run/docker.sock`, `tcp://10.0.0.5:2375`). Nothing connects until the first
 * request.
 */
import Docker from 'dockerode';
import { DEFAULT_DOCKER_SOCKET } from '../config.js';

export { DEFAULT_DOCKER_SOCKET };

/** `unix:///path`, `/path`, `tcp://host:port` or `http(s)://host:port` to a Dockerode client. */
export function createDockerClient(endpoint: string = DEFAULT_DOCKER_SOCKET): Docker {
  const value = endpoint.trim();
  if (value.startsWith('unix://')) return new Docker({ socketPath: value.slice('unix://'.length) });
  if (value.startsWith('/')) return new Docker({ socketPath: value });
  const m = /^(tcp|http|https):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(value);
  if (!m) {
    throw new Error(
      `"${endpoint}" is not a Docker endpoint (unix:///var/run/docker.sock, /path/to/socket or tcp://HOST:PORT)`,
    );
  }
  const protocol = m[1] === 'https' ? 'https' : 'http';
  const host = m[2]!.replace(/^\[|\]$/g, '');
  const port = m[3] ? Number(m[3]) : protocol === 'https' ? 2376 : 2375;
  return new Docker({ protocol, host, port });
}

/** Whether the endpoint is a socket on this machine (host statistics then describe the node). */
export function isLocalEndpoint(endpoint: string): boolean {
  return endpoint.startsWith('unix://') || endpoint.startsWith('/');
}

/** Resolves when the engine at `endpoint` answers within `timeoutMs`; rejects otherwise. */
export async function pingDocker(endpoint: string, timeoutMs = 5000): Promise<void> {
  const docker = createDockerClient(endpoint);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The node's credentials for the cluster registry, which takes only tokens the master signs:
 * for an image there, the engine gets the node's own Slipway token as a Basic password, and
 * asks the master's token endpoint (the registry's realm) for the scopes each pull or push
 * needs, as `docker login` does. The engine must do the asking itself: a push mounts layers
 * from whichever repositories of the registry already hold them, which only the engine knows,
 * and a token fixed beforehand without them makes it upload those layers again (measured: ~5 s
 * more for the first push of a Node.js app).
 *
 * What the token may do is the master's decision (master/server/registry-token.ts): a node
 * pulls anything and pushes only to a running build's output. Where the registry is, is asked
 * of the master and kept for a minute; images of other registries get nothing here (their
 * pull secrets apply).
 */
import { clusterRepository, type ClusterRegistryInfo } from '../../src/api/registry-scope.js';
import type { RegistryAuth } from '../docker/images.js';

export interface ClusterRegistrySource {
  clusterRegistry(options: { signal?: AbortSignal }): Promise<ClusterRegistryInfo | undefined>;
}

/** The user name the engine sends with the node's token (the token endpoint ignores it). */
export const NODE_REGISTRY_USER = 'node';
const INFO_TTL_MS = 60_000;
const INFO_RETRY_MS = 5_000;

export class ClusterRegistryAuth {
  readonly #source: ClusterRegistrySource;
  readonly #token: string;
  readonly #now: () => number;
  #info: { value: ClusterRegistryInfo | undefined; until: number } | undefined;

  constructor(source: ClusterRegistrySource, token: string, options: { now?: () => number } = {}) {
    this.#source = source;
    this.#token = token;
    this.#now = options.now ?? Date.now;
  }

  /** Engine credentials for `image` when it is in the cluster registry; else undefined. */
  async authFor(image: string, signal?: AbortSignal): Promise<RegistryAuth | undefined> {
    const info = await this.#registry(signal);
    if (!info || clusterRepository(image, info.address) === undefined) return undefined;
    return { username: NODE_REGISTRY_USER, password: this.#token, serveraddress: info.address };
  }

  async #registry(signal: AbortSignal | undefined): Promise<ClusterRegistryInfo | undefined> {
    const now = this.#now();
    if (this.#info && this.#info.until > now) return this.#info.value;
    let value: ClusterRegistryInfo | undefined;
    try {
      value = await this.#source.clusterRegistry(signal ? { signal } : {});
    } catch {
      // The master cannot say now: images of other registries need nothing from it, and a pull
      // from the cluster registry without credentials is refused there, with the registry's words.
      this.#info = { value: undefined, until: now + INFO_RETRY_MS };
      return undefined;
    }
    this.#info = { value, until: now + INFO_TTL_MS };
    return value;
  }
}

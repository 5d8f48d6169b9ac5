/**
 * The node's credentials for the cluster registry, which takes only tokens the master signs:
 * for each pull or push of an image there, the agent asks the master's token endpoint for a
 * token scoped to that repository (with its own join token) and hands it to the engine as a
 * `registrytoken`, which the engine sends as it is. The engine never holds the node's token,
 * and a token opens one repository for five minutes.
 *
 * Tokens are kept until a minute before they expire; where the registry is, for a minute.
 * Images of other registries get nothing here (their pull secrets apply).
 */
import {
  clusterRepository,
  formatScope,
  type ClusterRegistryInfo,
  type RegistryTokenResponse,
} from '../../src/api/registry-scope.js';
import type { RegistryAuth } from '../docker/images.js';

export interface RegistryTokenSource {
  clusterRegistry(options: { signal?: AbortSignal }): Promise<ClusterRegistryInfo | undefined>;
  registryToken(
    service: string,
    scopes: readonly string[],
    options: { signal?: AbortSignal },
  ): Promise<RegistryTokenResponse>;
}

export type RegistryAction = 'pull' | 'push';

const INFO_TTL_MS = 60_000;
const INFO_RETRY_MS = 5_000;
/** A token is used until this long before it expires. */
const TOKEN_MARGIN_MS = 60_000;
const DEFAULT_TOKEN_SECONDS = 60;
const MAX_CACHED = 256;

export class ClusterRegistryAuth {
  readonly #source: RegistryTokenSource;
  readonly #now: () => number;
  #info: { value: ClusterRegistryInfo | undefined; until: number } | undefined;
  readonly #tokens = new Map<string, { token: string; until: number }>();

  constructor(source: RegistryTokenSource, options: { now?: () => number } = {}) {
    this.#source = source;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Engine credentials for `image` when it is in the cluster registry: a token for its
   * repository with `actions`, and pull on the repositories of `alsoPull` there (a push mounts
   * the builder's layers from its repository). Undefined for images of other registries.
   */
  async authFor(
    image: string,
    actions: readonly RegistryAction[],
    options: { alsoPull?: readonly string[]; signal?: AbortSignal } = {},
  ): Promise<RegistryAuth | undefined> {
    const info = await this.#registry(options.signal);
    if (!info) return undefined;
    const repository = clusterRepository(image, info.address);
    if (!repository) return undefined;
    const scopes = [formatScope({ type: 'repository', name: repository, actions: [...actions] })];
    for (const other of options.alsoPull ?? []) {
      const name = clusterRepository(other, info.address);
      if (name && name !== repository) {
        scopes.push(formatScope({ type: 'repository', name, actions: ['pull'] }));
      }
    }
    const key = `${info.service}\n${scopes.join(' ')}`;
    const now = this.#now();
    const cached = this.#tokens.get(key);
    if (cached && cached.until > now) return { registrytoken: cached.token };
    const answer = await this.#source.registryToken(info.service, scopes, {
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const token = answer.token || answer.access_token;
    if (!token) throw new Error('the master answered without a registry token');
    const lifetimeMs = (answer.expires_in ?? DEFAULT_TOKEN_SECONDS) * 1000;
    this.#remember(key, token, now + lifetimeMs - TOKEN_MARGIN_MS);
    return { registrytoken: token };
  }

  #remember(key: string, token: string, until: number): void {
    if (until <= this.#now()) return;
    if (this.#tokens.size >= MAX_CACHED) {
      const now = this.#now();
      for (const [k, v] of this.#tokens) if (v.until <= now) this.#tokens.delete(k);
      if (this.#tokens.size >= MAX_CACHED) {
        this.#tokens.delete(this.#tokens.keys().next().value!);
      }
    }
    this.#tokens.set(key, { token, until });
  }

  async #registry(signal: AbortSignal | undefined): Promise<ClusterRegistryInfo | undefined> {
    const now = this.#now();
    if (this.#info && this.#info.until > now) return this.#info.value;
    let value: ClusterRegistryInfo | undefined;
    try {
      value = await this.#source.clusterRegistry(signal ? { signal } : {});
    } catch {
      // The master cannot say now: images of other registries need nothing from it, and a pull
      // from the cluster registry without a token is refused there, with the registry's words.
      this.#info = { value: undefined, until: now + INFO_RETRY_MS };
      return undefined;
    }
    this.#info = { value, until: now + INFO_TTL_MS };
    return value;
  }
}

import {
  type AnyKindDefinition,
  ApiError,
  type ApiList,
  type ApiObject,
  builtinKinds,
  CLUSTER_REGISTRY_PATH,
  type ClusterRegistryInfo,
  type ErrorReason,
  isStatus,
  type KindRegistry,
  type Project,
  resourcePath,
  type Status,
  unlessNotFound,
  type WatchEvent,
} from '../api/index.js';
import { podKind, projectKind, projectRequestKind } from '../api/kinds/index.js';
// exec and port-forward speak WebSocket (ws): loaded by the calls that use them, so every
// other command starts without it.
import type { ExecConnection, ExecHandlers } from './exec-client.js';
import type { PortForwardConnection } from './port-forward-client.js';
import { readWatchStream } from './watch-stream.js';

/** A transport failure on the client side: the server was not reached or did not answer in
 * time. Still an ApiError (ServiceUnavailable or Timeout), but the message is the client's,
 * not the server's. */
export class ConnectionError extends ApiError {
  constructor(reason: 'ServiceUnavailable' | 'Timeout', message: string, cause?: unknown) {
    super(reason, message, { cause });
    this.name = 'ConnectionError';
  }
}

export interface ApiClientOptions {
  /** Base URL of the master API, e.g. `http://127.0.0.1:8443`. */
  server: string;
  /** Bearer token; omitted for anonymous calls. Never logged or included in messages. */
  token?: string | undefined;
  registry?: KindRegistry;
  /** Time limit for each non-watch request. Default 30 s. */
  timeoutMs?: number;
  userAgent?: string;
  /** For tests; the global fetch by default. */
  fetch?: typeof fetch;
}

export interface NamespaceOptions {
  namespace?: string | undefined;
}

export interface ListOptions extends NamespaceOptions {
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  /** Only for list: the revision to be at least as new as. */
  resourceVersion?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface WatchOptions extends ListOptions {
  /** Ask the server to end the stream after this many seconds. */
  timeoutSeconds?: number | undefined;
}

export interface RequestOptions {
  signal?: AbortSignal | undefined;
}

/** `GET /apis/user.openshift.io/v1/users/~` */
export interface User {
  kind: 'User';
  apiVersion?: string;
  metadata: { name: string; [k: string]: unknown };
  groups?: string[];
  [k: string]: unknown;
}

export interface ServerVersion {
  gitVersion: string;
  [k: string]: unknown;
}

export interface ProjectRequestInput {
  name: string;
  displayName?: string | undefined;
  description?: string | undefined;
}

/** `GET .../pods/NAME/log` parameters, as Kubernetes names them. */
export interface PodLogOptions {
  container?: string | undefined;
  /** Keep streaming until the container stops or the signal aborts. */
  follow?: boolean | undefined;
  /** The previous (terminated) instance of the container. */
  previous?: boolean | undefined;
  tailLines?: number | undefined;
  timestamps?: boolean | undefined;
  sinceSeconds?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** `.../pods/NAME/exec` parameters. */
export interface PodExecOptions {
  container?: string | undefined;
  command: readonly string[];
  /** Attach stdin (`-i`). */
  stdin: boolean;
  /** Allocate a TTY (`-t`): stdout and stderr arrive together on stdout. */
  tty: boolean;
  signal?: AbortSignal | undefined;
}

export type Query = Record<string, string | undefined>;

const connectionCodes: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed',
  UND_ERR_SOCKET: 'connection closed by the server',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server certificate is not trusted',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server certificate does not match its address',
};

/** The most specific words for why a fetch failed, without anything secret in them: a known
 * error code, else the innermost cause's message (`fetch failed` says nothing). */
export function describeNetworkError(err: unknown): string {
  let e: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  for (let depth = 0; depth < 6 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('ABORT')) return connectionCodes[code] ?? code;
    if (e instanceof Error && e.message) message = e.message;
    const errors = (e as { errors?: unknown }).errors;
    e = Array.isArray(errors) && errors.length > 0 ? errors[0] : (e as { cause?: unknown }).cause;
  }
  return message;
}

const reasonByCode: Record<number, ErrorReason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function reasonForCode(code: number): ErrorReason {
  return reasonByCode[code] ?? (code >= 500 ? 'InternalError' : 'BadRequest');
}

const knownReasons = new Set<string>([
  ...Object.values(reasonByCode),
  'AlreadyExists',
  'InternalError',
]);

/** An error response as an ApiError: the Status body when there is one, otherwise the code. */
export function errorFromResponse(code: number, statusText: string, body: string): ApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const what = `the server responded with ${code}${statusText ? ` ${statusText}` : ''}`;
  if (isStatus(parsed)) {
    const status = parsed;
    return ApiError.fromStatus({
      ...status,
      reason: knownReasons.has(status.reason) ? status.reason : reasonForCode(status.code || code),
      message: status.message || what,
    });
  }
  const text = body.trim().split('\n')[0]?.slice(0, 200) ?? '';
  return new ApiError(
    reasonForCode(code),
    text && !text.startsWith('<') ? `${what}: ${text}` : what,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A typed client for the master's Kubernetes-style HTTP API. Every failure is an ApiError:
 * `Status` bodies become the server's error, transport problems a ConnectionError naming the
 * server URL. The token is kept in a private field so it never shows up in logs or inspection.
 */
export class ApiClient {
  readonly server: string;
  readonly registry: KindRegistry;
  readonly timeoutMs: number;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #userAgent: string;

  constructor(options: ApiClientOptions) {
    this.server = options.server.replace(/\/+$/, '');
    this.#token = options.token || undefined;
    this.registry = options.registry ?? builtinKinds();
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.#fetch = options.fetch ?? fetch;
    this.#userAgent = options.userAgent ?? 'slipway';
  }

  /** True when the client sends a token. */
  get authenticated(): boolean {
    return this.#token !== undefined;
  }

  /** The kind definition for an object's apiVersion and kind, or an error in kubectl's words. */
  kindFor(obj: Pick<ApiObject, 'apiVersion' | 'kind'>): AnyKindDefinition {
    const def = this.registry.forObject(obj.apiVersion, obj.kind);
    if (!def) {
      throw new ApiError(
        'NotFound',
        `no matches for kind "${obj.kind}" in version "${obj.apiVersion}"`,
      );
    }
    return def;
  }

  async get<T extends ApiObject = ApiObject>(
    def: AnyKindDefinition,
    name: string,
    options: NamespaceOptions & RequestOptions = {},
  ): Promise<T> {
    const path = resourcePath(def, { namespace: namespaceFor(def, options.namespace), name });
    return withKind(def, await this.request<T>('GET', path, { signal: options.signal }));
  }

  async list<T extends ApiObject = ApiObject>(
    def: AnyKindDefinition,
    options: ListOptions = {},
  ): Promise<ApiList<T>> {
    const path = resourcePath(def, { namespace: def.namespaced ? options.namespace : undefined });
    const list = await this.request<ApiList<T>>('GET', path, {
      query: {
        labelSelector: options.labelSelector || undefined,
        fieldSelector: options.fieldSelector || undefined,
        resourceVersion: options.resourceVersion,
      },
      signal: options.signal,
    });
    list.items = (list.items ?? []).map((item) => withKind(def, item));
    list.metadata ??= {};
    return list;
  }

  async create<T extends ApiObject = ApiObject>(
    def: AnyKindDefinition,
    obj: T,
    options: NamespaceOptions & RequestOptions = {},
  ): Promise<T> {
    const namespace = namespaceFor(def, options.namespace ?? obj.metadata.namespace);
    const path = resourcePath(def, { namespace });
    return withKind(
      def,
      await this.request<T>('POST', path, { body: obj, signal: options.signal }),
    );
  }

  /** PUT the whole object; a stale metadata.resourceVersion fails with Conflict. */
  async update<T extends ApiObject = ApiObject>(
    def: AnyKindDefinition,
    obj: T,
    options: NamespaceOptions & RequestOptions = {},
  ): Promise<T> {
    return this.put(def, obj, undefined, options);
  }

  /** PUT to the `/status` subresource. */
  async updateStatus<T extends ApiObject = ApiObject>(
    def: AnyKindDefinition,
    obj: T,
    options: NamespaceOptions & RequestOptions = {},
  ): Promise<T> {
    return this.put(def, obj, 'status', options);
  }

  /** JSON merge patch (RFC 7386, `null` removes a field) unless `type` says otherwise:
   * `json` is a JSON patch (RFC 6902, a list of operations), `strategic` kubectl's default. */
  async patch<T extends ApiObject = ApiObject>(
    def: AnyKindDefinition,
    name: string,
    patch: Record<string, unknown> | readonly unknown[],
    options: NamespaceOptions &
      RequestOptions & { subresource?: string; type?: 'merge' | 'json' | 'strategic' } = {},
  ): Promise<T> {
    const path = resourcePath(def, {
      namespace: namespaceFor(def, options.namespace),
      name,
      subresource: options.subresource,
    });
    return withKind(
      def,
      await this.request<T>('PATCH', path, {
        body: patch,
        contentType: `application/${options.type === 'json' ? 'json-patch' : options.type === 'strategic' ? 'strategic-merge-patch' : 'merge-patch'}+json`,
        signal: options.signal,
      }),
    );
  }

  /**
   * Deletes an object; returns what the server answered (the object or a Success Status). A pod
   * that a node runs is only marked (deletionTimestamp) until its node confirms it stopped;
   * `gracePeriodSeconds` 0 deletes it at once. `preconditions` refuse (409) a delete of another
   * uid or revision.
   */
  async delete(
    def: AnyKindDefinition,
    name: string,
    options: NamespaceOptions &
      RequestOptions & {
        gracePeriodSeconds?: number | undefined;
        preconditions?: { uid?: string; resourceVersion?: string } | undefined;
      } = {},
  ): Promise<ApiObject | Status> {
    const path = resourcePath(def, { namespace: namespaceFor(def, options.namespace), name });
    const { gracePeriodSeconds, preconditions } = options;
    const body =
      gracePeriodSeconds === undefined && preconditions === undefined
        ? undefined
        : {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }),
            ...(preconditions ? { preconditions } : {}),
          };
    return this.request<ApiObject | Status>('DELETE', path, {
      ...(body ? { body } : {}),
      signal: options.signal,
    });
  }

  /**
   * Streams changes after `resourceVersion` until the server ends the stream or the signal
   * aborts (then the iteration just ends). A compacted revision throws ApiError `Gone`, either
   * from the response code or from an ERROR event: list again and watch from the new revision
   * (or use `listAndWatch`, which does that).
   */
  async *watch<T extends ApiObject = ApiObject>(
    def: AnyKindDefinition,
    options: WatchOptions = {},
  ): AsyncGenerator<WatchEvent<T>, void, undefined> {
    const path = resourcePath(def, { namespace: def.namespaced ? options.namespace : undefined });
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    if (options.signal?.aborted) return;
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let res: Response;
      try {
        res = await this.send('GET', path, {
          query: {
            watch: 'true',
            resourceVersion: options.resourceVersion,
            labelSelector: options.labelSelector || undefined,
            fieldSelector: options.fieldSelector || undefined,
            timeoutSeconds:
              options.timeoutSeconds === undefined ? undefined : String(options.timeoutSeconds),
          },
          signal: controller.signal,
          timeout: false,
        });
      } catch (err) {
        if (options.signal?.aborted) return;
        throw err;
      }
      if (!res.ok) throw errorFromResponse(res.status, res.statusText, await res.text());
      if (!res.body) return;
      try {
        for await (const event of readWatchStream<T>(res.body)) {
          if (event.type === 'ERROR') {
            const status = event.object as unknown;
            if (isStatus(status)) throw errorFromResponse(status.code, '', JSON.stringify(status));
            throw new ApiError(
              'InternalError',
              'the watch stream sent an ERROR event without a Status',
            );
          }
          if (event.type !== 'BOOKMARK' && isPlainObject(event.object)) withKind(def, event.object);
          yield event;
        }
      } catch (err) {
        if (options.signal?.aborted) return;
        if (err instanceof ApiError) throw err;
        throw new ConnectionError(
          'ServiceUnavailable',
          `the watch stream from ${this.server} broke: ${describeNetworkError(err)}`,
          err,
        );
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }

  /** `new-project`: POST a ProjectRequest; the server creates and returns the Project. */
  async createProjectRequest(
    input: ProjectRequestInput,
    options: RequestOptions = {},
  ): Promise<Project> {
    const body: Record<string, unknown> = {
      apiVersion: 'project.openshift.io/v1',
      kind: 'ProjectRequest',
      metadata: { name: input.name },
    };
    if (input.displayName !== undefined) body.displayName = input.displayName;
    if (input.description !== undefined) body.description = input.description;
    const project = await this.request<Project>('POST', resourcePath(projectRequestKind), {
      body,
      signal: options.signal,
    });
    // The server answers with the Project it created.
    return withKind(projectKind, project);
  }

  /** The user the token belongs to. */
  async whoami(options: RequestOptions = {}): Promise<User> {
    return this.request<User>('GET', '/apis/user.openshift.io/v1/users/~', {
      signal: options.signal,
    });
  }

  /** Where the cluster registry is; undefined when the cluster has none. */
  async clusterRegistry(options: RequestOptions = {}): Promise<ClusterRegistryInfo | undefined> {
    return unlessNotFound(
      this.request<ClusterRegistryInfo>('GET', CLUSTER_REGISTRY_PATH, { signal: options.signal }),
    );
  }

  async version(options: RequestOptions = {}): Promise<ServerVersion> {
    return this.request<ServerVersion>('GET', '/version', { signal: options.signal });
  }

  /** True when `/healthz` answers 2xx. */
  async healthy(options: RequestOptions = {}): Promise<boolean> {
    try {
      const res = await this.send('GET', '/healthz', { signal: options.signal });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  /**
   * `GET .../pods/NAME/log`: the container's log as bytes. Errors (no such pod, container not
   * started) are thrown before the first chunk; with `follow` the stream lasts until the
   * container stops or `signal` aborts, which just ends the iteration.
   */
  async podLogs(
    namespace: string,
    name: string,
    options: PodLogOptions = {},
  ): Promise<AsyncIterable<Uint8Array>> {
    const path = resourcePath(podKind, { namespace, name, subresource: 'log' });
    return this.openStream(path, logQuery(options), options.signal, 'log stream');
  }

  /**
   * A GET whose body is streamed as bytes (logs, build inputs). The time limit covers the wait
   * for the response, not the (possibly endless) body. Errors come before the first chunk; an
   * abort through `signal` just ends the iteration.
   */
  async openStream(
    path: string,
    query: Query,
    signal: AbortSignal | undefined,
    what = 'stream',
  ): Promise<AsyncIterable<Uint8Array>> {
    const headers = new AbortController();
    const timer = setTimeout(
      () =>
        headers.abort(
          new DOMException(`no answer within ${formatSeconds(this.timeoutMs)}`, 'TimeoutError'),
        ),
      this.timeoutMs,
    );
    const combined = signal ? AbortSignal.any([signal, headers.signal]) : headers.signal;
    let res: Response;
    try {
      res = await this.send('GET', path, { query, signal: combined, timeout: false });
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok) throw errorFromResponse(res.status, res.statusText, await res.text());
    const body = res.body;
    const server = this.server;
    return (async function* () {
      if (!body) return;
      try {
        for await (const chunk of body) yield chunk;
      } catch (err) {
        if (signal?.aborted) return;
        throw new ConnectionError(
          'ServiceUnavailable',
          `the ${what} from ${server} broke: ${describeNetworkError(err)}`,
          err,
        );
      }
    })();
  }

  /**
   * Sends raw bytes (a binary build's archive) and returns the decoded JSON answer. The body is
   * streamed, never held whole; the time limit applies to the whole exchange only when
   * `timeoutMs` is given.
   */
  async upload<T>(
    method: string,
    path: string,
    body: AsyncIterable<Uint8Array>,
    init: { query?: Query; contentType?: string; signal?: AbortSignal | undefined } = {},
  ): Promise<T> {
    const headers = this.#headers();
    headers['Content-Type'] = init.contentType ?? 'application/octet-stream';
    let res: Response;
    try {
      res = await this.#fetch(this.#url(path, init.query), {
        method,
        headers,
        body: ReadableStream.from(body),
        duplex: 'half',
        signal: init.signal,
      });
    } catch (err) {
      throw this.transportError(err, init.signal);
    }
    return this.#decode<T>(res, `${method} ${path}`, init.signal);
  }

  /**
   * Opens `.../pods/NAME/exec` as a WebSocket (`v5.channel.k8s.io`). Output goes to `handlers`;
   * the returned connection takes stdin and resizes and tells the exit code through `done`.
   */
  async execInPod(
    namespace: string,
    name: string,
    options: PodExecOptions,
    handlers: ExecHandlers,
  ): Promise<ExecConnection> {
    const url = new URL(
      this.server + resourcePath(podKind, { namespace, name, subresource: 'exec' }),
    );
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (options.container) url.searchParams.set('container', options.container);
    for (const c of options.command) url.searchParams.append('command', c);
    url.searchParams.set('stdin', String(options.stdin));
    url.searchParams.set('stdout', 'true');
    url.searchParams.set('stderr', String(!options.tty));
    url.searchParams.set('tty', String(options.tty));
    const headers: Record<string, string> = { 'User-Agent': this.#userAgent };
    if (this.#token) headers.Authorization = `Bearer ${this.#token}`;
    const { connectExec } = await import('./exec-client.js');
    return connectExec(url.toString(), {
      headers,
      handlers,
      handshakeTimeoutMs: this.timeoutMs,
      signal: options.signal,
      transportError: (err) => this.transportError(err, options.signal),
      errorFromResponse,
    });
  }

  /**
   * Opens one connection to `port` inside pod `name` through `.../pods/NAME/portforward`
   * (Kubernetes' WebSocket port-forward); the returned stream carries its bytes.
   */
  async portForward(namespace: string, name: string, port: number): Promise<PortForwardConnection> {
    const url = new URL(
      this.server + resourcePath(podKind, { namespace, name, subresource: 'portforward' }),
    );
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('ports', String(port));
    const headers: Record<string, string> = { 'User-Agent': this.#userAgent };
    if (this.#token) headers.Authorization = `Bearer ${this.#token}`;
    const { connectPortForward } = await import('./port-forward-client.js');
    return connectPortForward(url.toString(), {
      headers,
      handshakeTimeoutMs: this.timeoutMs,
      transportError: (err) => this.transportError(err, undefined),
      errorFromResponse,
    });
  }

  /** A request returning the decoded JSON body, or throwing an ApiError. */
  async request<T>(
    method: string,
    path: string,
    init: {
      query?: Query;
      body?: unknown;
      contentType?: string;
      signal?: AbortSignal | undefined;
    } = {},
  ): Promise<T> {
    const res = await this.send(method, path, init);
    return this.#decode<T>(res, `${method} ${path}`, init.signal);
  }

  /** The answer's JSON body, or the ApiError it carries. `what` names the request. */
  async #decode<T>(res: Response, what: string, signal: AbortSignal | undefined): Promise<T> {
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw this.transportError(err, signal);
    }
    if (!res.ok) throw errorFromResponse(res.status, res.statusText, text);
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError('InternalError', `the server sent a response that is not JSON (${what})`);
    }
  }

  /** `path` on the server, with the query's values that are set. */
  #url(path: string, query: Query | undefined): URL {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined) url.searchParams.set(k, v);
    return url;
  }

  /** What every API request carries: a JSON answer asked for, the user agent, the token. */
  #headers(): Record<string, string> {
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'User-Agent': this.#userAgent,
    };
    if (this.#token) headers.Authorization = `Bearer ${this.#token}`;
    return headers;
  }

  private async put<T extends ApiObject>(
    def: AnyKindDefinition,
    obj: T,
    subresource: string | undefined,
    options: NamespaceOptions & RequestOptions,
  ): Promise<T> {
    const name = obj.metadata.name;
    if (!name) throw ApiError.badRequest('metadata.name is required to update an object');
    const namespace = namespaceFor(def, options.namespace ?? obj.metadata.namespace);
    const path = resourcePath(def, { namespace, name, subresource });
    return withKind(def, await this.request<T>('PUT', path, { body: obj, signal: options.signal }));
  }

  private async send(
    method: string,
    path: string,
    init: {
      query?: Query;
      body?: unknown;
      contentType?: string;
      signal?: AbortSignal | undefined;
      timeout?: boolean;
    },
  ): Promise<Response> {
    const url = this.#url(path, init.query);
    const headers = this.#headers();
    let body: string | undefined;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['Content-Type'] = init.contentType ?? 'application/json';
    }
    const signals: AbortSignal[] = [];
    if (init.signal) signals.push(init.signal);
    if (init.timeout !== false) signals.push(AbortSignal.timeout(this.timeoutMs));
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    try {
      return await this.#fetch(url, { method, headers, body, signal });
    } catch (err) {
      throw this.transportError(err, init.signal);
    }
  }

  private transportError(err: unknown, callerSignal: AbortSignal | undefined): ApiError {
    if (err instanceof ApiError) return err;
    const name = (err as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError') {
      return new ConnectionError(
        'Timeout',
        `the Slipway API at ${this.server} did not answer within ${formatSeconds(this.timeoutMs)}`,
        err,
      );
    }
    if (name === 'AbortError' && callerSignal?.aborted) {
      return new ConnectionError('Timeout', `the request to ${this.server} was cancelled`, err);
    }
    return new ConnectionError(
      'ServiceUnavailable',
      `cannot reach the Slipway API at ${this.server}: ${describeNetworkError(err)}`,
      err,
    );
  }
}

/** The query of a log request (pods and builds take the same). */
export function logQuery(options: PodLogOptions): Query {
  const flag = (b: boolean | undefined): string | undefined => (b ? 'true' : undefined);
  const num = (n: number | undefined): string | undefined =>
    n === undefined ? undefined : String(n);
  return {
    container: options.container || undefined,
    follow: flag(options.follow),
    previous: flag(options.previous),
    tailLines: num(options.tailLines),
    timestamps: flag(options.timestamps),
    sinceSeconds: num(options.sinceSeconds),
  };
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function namespaceFor(def: AnyKindDefinition, namespace: string | undefined): string | undefined {
  if (!def.namespaced) return undefined;
  if (!namespace) throw ApiError.badRequest(`a namespace is required for ${def.plural}`);
  return namespace;
}

/** Lists and watch events may omit apiVersion/kind on items; fill them in. */
function withKind<T>(def: AnyKindDefinition, obj: T): T {
  if (isPlainObject(obj) && obj.kind !== 'Status') {
    const o = obj as Record<string, unknown>;
    if (typeof o.apiVersion !== 'string' || !o.apiVersion) {
      o.apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
    }
    if (typeof o.kind !== 'string' || !o.kind) o.kind = def.kind;
  }
  return obj;
}

/**
 * A small in-memory implementation of the master's HTTP API on 127.0.0.1, for unit tests of
 * the client and the CLI. It follows the same wire contract (paths, Status errors, list, line-
 * delimited watch with 410 Gone, merge patch, /status, projectrequests, users/~) without any of
 * the master's storage, admission or controllers.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import {
  ApiError,
  apiVersionOf,
  builtinKinds,
  validateObject,
  type AnyKindDefinition,
  type ApiObject,
  type KindRegistry,
  type WatchEventType,
} from '../../api/index.js';
import { applyMergePatch } from '../../api/merge-patch.js';
import { objectMatcher } from '../../api/selectors.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

interface Change {
  revision: number;
  type: WatchEventType;
  def: AnyKindDefinition;
  object: ApiObject;
}

export interface FakeApiServerOptions {
  /** token -> user name. */
  tokens?: Record<string, string>;
  registry?: KindRegistry;
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  readonly registry: KindRegistry;
  tokens: Record<string, string>;
  /** Watches from a revision below this get 410 Gone. */
  compactedRevision = 0;
  /** Override a response: return true when handled. */
  intercept: ((req: IncomingMessage, res: ServerResponse, url: URL) => boolean) | undefined;
  private readonly objects = new Map<string, { def: AnyKindDefinition; object: ApiObject }>();
  private readonly changes: Change[] = [];
  private readonly watchers = new Set<(change: Change) => void>();
  private readonly openResponses = new Set<ServerResponse>();
  private revision = 1;
  private server: Server | undefined;
  url = '';

  constructor(options: FakeApiServerOptions = {}) {
    this.tokens = options.tokens ?? { 'secret-token': 'developer' };
    this.registry = options.registry ?? builtinKinds();
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        const status = err instanceof ApiError ? err : new ApiError('InternalError', String(err));
        send(res, status.code, status.toStatus());
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const res of this.openResponses) res.end();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  currentRevision(): string {
    return String(this.revision);
  }

  /** Stores an object directly (no validation), like a controller would have. */
  seed(obj: ApiObject): ApiObject {
    const def = this.registry.forObject(obj.apiVersion, obj.kind);
    if (!def) throw new Error(`unknown kind ${obj.kind}`);
    return this.write(def, 'ADDED', this.stamp(structuredClone(obj)));
  }

  get(def: AnyKindDefinition, namespace: string | undefined, name: string): ApiObject | undefined {
    return this.objects.get(key(def, namespace, name))?.object;
  }

  all(def: AnyKindDefinition): ApiObject[] {
    return [...this.objects.values()].filter((o) => o.def === def).map((o) => o.object);
  }

  private stamp(obj: ApiObject): ApiObject {
    obj.metadata.uid ??= randomUUID();
    obj.metadata.creationTimestamp ??= new Date().toISOString();
    return obj;
  }

  private write(def: AnyKindDefinition, type: WatchEventType, obj: ApiObject): ApiObject {
    this.revision++;
    obj.metadata.resourceVersion = String(this.revision);
    const k = key(def, obj.metadata.namespace, obj.metadata.name ?? '');
    if (type === 'DELETED') this.objects.delete(k);
    else this.objects.set(k, { def, object: obj });
    const change: Change = { revision: this.revision, type, def, object: obj };
    this.changes.push(change);
    for (const w of this.watchers) w(change);
    return obj;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const body = await readBody(req);
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
    });
    if (this.intercept?.(req, res, url)) return;
    if (url.pathname === '/healthz') {
      res.end('ok');
      return;
    }
    if (url.pathname === '/version') {
      send(res, 200, { gitVersion: 'v0.0.0-fake', platform: 'linux/amd64' });
      return;
    }
    const auth = req.headers.authorization ?? '';
    const user = auth.startsWith('Bearer ') ? this.tokens[auth.slice(7)] : undefined;
    if (!user) throw new ApiError('Unauthorized', 'Unauthorized');
    if (url.pathname === '/apis/user.openshift.io/v1/users/~') {
      send(res, 200, {
        kind: 'User',
        apiVersion: 'user.openshift.io/v1',
        metadata: { name: user },
      });
      return;
    }
    const route = this.route(url.pathname);
    const method = req.method ?? 'GET';
    const parse = (): ApiObject => {
      try {
        return JSON.parse(body) as ApiObject;
      } catch {
        throw ApiError.badRequest('the request body is not valid JSON');
      }
    };
    if (route.def.kind === 'ProjectRequest' && method === 'POST') {
      const request = parse() as ApiObject & { displayName?: string; description?: string };
      const name = request.metadata.name ?? '';
      const projectDef = this.registry.forResource('project.openshift.io', 'v1', 'projects')!;
      if (this.get(projectDef, undefined, name))
        throw ApiError.alreadyExists('projects.project.openshift.io', name);
      const annotations: Record<string, string> = {};
      if (request.displayName) annotations['openshift.io/display-name'] = request.displayName;
      if (request.description) annotations['openshift.io/description'] = request.description;
      const project = this.write(
        projectDef,
        'ADDED',
        this.stamp({
          apiVersion: 'project.openshift.io/v1',
          kind: 'Project',
          metadata: { name, annotations },
          status: { phase: 'Active' },
        }),
      );
      send(res, 201, project);
      return;
    }
    const { def, namespace, name, subresource } = route;
    const resource = def.group ? `${def.plural}.${def.group}` : def.plural;
    if (name === undefined) {
      if (method === 'GET' && url.searchParams.get('watch') === 'true')
        return this.watch(def, namespace, url, res);
      if (method === 'GET') {
        const match = objectMatcher(def, {
          labelSelector: url.searchParams.get('labelSelector') ?? undefined,
          fieldSelector: url.searchParams.get('fieldSelector') ?? undefined,
        });
        const items = [...this.objects.values()]
          .filter((o) => o.def === def && (!namespace || o.object.metadata.namespace === namespace))
          .map((o) => o.object)
          .filter(match)
          .sort((a, b) =>
            key(def, a.metadata.namespace, a.metadata.name ?? '').localeCompare(
              key(def, b.metadata.namespace, b.metadata.name ?? ''),
            ),
          );
        send(res, 200, {
          apiVersion: apiVersionOf(def),
          kind: `${def.kind}List`,
          metadata: { resourceVersion: this.currentRevision() },
          items,
        });
        return;
      }
      if (method === 'POST') {
        const input = parse();
        if (def.namespaced) {
          if (input.metadata?.namespace && input.metadata.namespace !== namespace) {
            throw ApiError.badRequest(
              'the namespace of the provided object does not match the namespace sent on the request',
            );
          }
          input.metadata = { ...input.metadata, namespace };
        }
        const obj = validateObject(def, input);
        delete obj.metadata.resourceVersion;
        if (this.get(def, namespace, obj.metadata.name ?? ''))
          throw ApiError.alreadyExists(resource, obj.metadata.name ?? '');
        obj.metadata.uid = undefined;
        obj.metadata.creationTimestamp = undefined;
        send(res, 201, this.write(def, 'ADDED', this.stamp(stripUndefined(obj))));
        return;
      }
      throw new ApiError('MethodNotAllowed', `${method} is not allowed on ${resource}`);
    }
    const current = this.get(def, namespace, name);
    if (!current) throw ApiError.notFound(resource, name);
    if (method === 'GET') {
      send(res, 200, current);
      return;
    }
    if (method === 'DELETE') {
      this.write(def, 'DELETED', structuredClone(current));
      send(res, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        code: 200,
        details: { name, kind: def.plural },
      });
      return;
    }
    let next: ApiObject;
    if (method === 'PUT') {
      next = parse();
      if (
        next.metadata?.resourceVersion &&
        next.metadata.resourceVersion !== current.metadata.resourceVersion
      ) {
        throw ApiError.conflict(
          resource,
          name,
          'the object has been modified; please apply your changes to the latest version and try again',
        );
      }
    } else if (method === 'PATCH') {
      if (req.headers['content-type'] !== 'application/merge-patch+json') {
        throw new ApiError(
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json`,
        );
      }
      next = applyMergePatch(current, JSON.parse(body)) as ApiObject;
    } else {
      throw new ApiError('MethodNotAllowed', `${method} is not allowed`);
    }
    if (subresource === 'status') {
      next = { ...structuredClone(current), status: next.status };
    } else if (def.statusSubresource) {
      next = { ...next, status: current.status };
    }
    const validated = validateObject(def, {
      ...next,
      metadata: { ...next.metadata, name, namespace },
    });
    validated.metadata.uid = current.metadata.uid;
    validated.metadata.creationTimestamp = current.metadata.creationTimestamp;
    send(res, 200, this.write(def, 'MODIFIED', stripUndefined(validated)));
  }

  private route(path: string): {
    def: AnyKindDefinition;
    namespace?: string;
    name?: string;
    subresource?: string;
  } {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    let group = '';
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts.length >= 3) {
      version = parts[1]!;
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 4) {
      group = parts[1]!;
      version = parts[2]!;
      rest = parts.slice(3);
    } else {
      throw new ApiError('NotFound', `the server could not find the requested resource`);
    }
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const def = this.registry.forResource(group, version, rest[0] ?? '');
    if (!def) throw new ApiError('NotFound', `the server could not find the requested resource`);
    const out: { def: AnyKindDefinition; namespace?: string; name?: string; subresource?: string } =
      { def };
    if (namespace !== undefined) out.namespace = namespace;
    if (rest[1] !== undefined) out.name = rest[1];
    if (rest[2] !== undefined) out.subresource = rest[2];
    return out;
  }

  private watch(
    def: AnyKindDefinition,
    namespace: string | undefined,
    url: URL,
    res: ServerResponse,
  ): void {
    const from = Number(url.searchParams.get('resourceVersion') ?? this.revision);
    if (from < this.compactedRevision) {
      throw ApiError.gone(`too old resource version: ${from} (${this.compactedRevision})`);
    }
    const match = objectMatcher(def, {
      labelSelector: url.searchParams.get('labelSelector') ?? undefined,
      fieldSelector: url.searchParams.get('fieldSelector') ?? undefined,
    });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    this.openResponses.add(res);
    const emit = (change: Change): void => {
      if (change.def !== def || change.revision <= from) return;
      if (namespace && change.object.metadata.namespace !== namespace) return;
      if (!match(change.object)) return;
      res.write(`${JSON.stringify({ type: change.type, object: change.object })}\n`);
    };
    for (const change of this.changes) emit(change);
    this.watchers.add(emit);
    res.on('close', () => {
      this.watchers.delete(emit);
      this.openResponses.delete(res);
    });
  }

  /** Ends every open watch stream (as a server timeout would). */
  endWatches(): void {
    for (const res of this.openResponses) res.end();
  }

  /** Sends an ERROR event with a 410 Status on every open watch and ends them. */
  expireWatches(): void {
    this.compactedRevision = this.revision;
    for (const res of this.openResponses) {
      res.end(
        `${JSON.stringify({ type: 'ERROR', object: ApiError.gone('too old resource version').toStatus() })}\n`,
      );
    }
  }
}

function key(def: AnyKindDefinition, namespace: string | undefined, name: string): string {
  return `${def.group}/${def.plural}/${def.namespaced ? (namespace ?? '') : ''}/${name}`;
}

function stripUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function send(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

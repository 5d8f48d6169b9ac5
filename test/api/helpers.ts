import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { ApiList, ApiObject, WatchEvent } from '../../src/api/meta.js';
import type { Status } from '../../src/api/errors.js';
import type { Pod } from '../../src/api/kinds/pod.js';
import { silentLogger, type Logger } from '../../src/util/logger.js';
import { loadConfig, type MasterOptions } from '../../master/config.js';
import { startMaster, type RunningMaster } from '../../master/main.js';
import { MemoryStore } from '../../master/store/memory.js';
import type { Store } from '../../master/store/types.js';

export interface Reply<T = ApiObject> {
  status: number;
  headers: Headers;
  body: T;
}

/** A tiny HTTP client for one token. */
export class Client {
  readonly url: string;
  readonly token: string | undefined;

  constructor(url: string, token: string | undefined) {
    this.url = url;
    this.token = token;
  }

  async request<T = ApiObject>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = {};
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let payload: string | Buffer | undefined;
    if (body !== undefined) {
      headers['content-type'] = contentType;
      payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    }
    const res = await fetch(this.url + path, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    if (res.headers.get('content-type')?.startsWith('application/json')) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  get<T = ApiObject>(path: string): Promise<Reply<T>> {
    return this.request<T>('GET', path);
  }

  list<T extends ApiObject = ApiObject>(path: string): Promise<Reply<ApiList<T>>> {
    return this.request<ApiList<T>>('GET', path);
  }

  post<T = ApiObject>(path: string, body: unknown, contentType?: string): Promise<Reply<T>> {
    return this.request<T>('POST', path, body, contentType);
  }

  put<T = ApiObject>(path: string, body: unknown, contentType?: string): Promise<Reply<T>> {
    return this.request<T>('PUT', path, body, contentType);
  }

  patch<T = ApiObject>(
    path: string,
    body: unknown,
    contentType = 'application/merge-patch+json',
  ): Promise<Reply<T>> {
    return this.request<T>('PATCH', path, body, contentType);
  }

  delete<T = ApiObject>(path: string, body?: unknown): Promise<Reply<T>> {
    return this.request<T>('DELETE', path, body);
  }

  /** Opens a watch stream. */
  async watch(path: string): Promise<WatchStream> {
    const controller = new AbortController();
    const headers: Record<string, string> = {};
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(this.url + path, { headers, signal: controller.signal });
    return new WatchStream(res, controller);
  }
}

/** Reads newline-delimited watch events. */
export class WatchStream {
  readonly response: Response;
  private readonly controller: AbortController;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private buffer = '';
  private readonly decoder = new TextDecoder();
  private ended = false;

  constructor(response: Response, controller: AbortController) {
    this.response = response;
    this.controller = controller;
    this.reader = response.body?.getReader();
  }

  get status(): number {
    return this.response.status;
  }

  /** The next event, or undefined when the stream ends. Fails after timeoutMs. */
  async next(timeoutMs = 2000): Promise<WatchEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line.trim() === '') continue;
        return JSON.parse(line) as WatchEvent;
      }
      if (this.ended || !this.reader) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no watch event within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), left);
      });
      const read = this.pending ?? (this.pending = this.reader.read());
      const result = await Promise.race([read, timeout]);
      clearTimeout(timer);
      if (result === 'timeout') throw new Error(`no watch event within ${timeoutMs} ms`);
      this.pending = undefined;
      if (result.done) this.ended = true;
      else this.buffer += this.decoder.decode(result.value, { stream: true });
    }
  }

  private pending: Promise<{ done: boolean; value?: Uint8Array }> | undefined;

  /** Collects n events. */
  async take(n: number, timeoutMs = 2000): Promise<WatchEvent[]> {
    const out: WatchEvent[] = [];
    for (let i = 0; i < n; i += 1) {
      const ev = await this.next(timeoutMs);
      if (!ev) throw new Error(`the watch ended after ${out.length} of ${n} events`);
      out.push(ev);
    }
    return out;
  }

  /** Asserts nothing arrives for a while. */
  async expectQuiet(ms = 150): Promise<void> {
    let ev: WatchEvent | undefined;
    try {
      ev = await this.next(ms);
    } catch {
      return;
    }
    throw new Error(`expected no event, got ${JSON.stringify(ev)}`);
  }

  close(): void {
    this.controller.abort();
  }
}

export interface TestMaster {
  master: RunningMaster;
  url: string;
  dataDir: string;
  store: Store | undefined;
  admin: Client;
  join: Client;
  anonymous: Client;
  close(): Promise<void>;
}

/**
 * Starts a master on 127.0.0.1:0 with a fresh data directory. By default with an injected
 * memory store (the test can compact it); `{ sqlite: true }` uses the real default store.
 */
export async function startTestMaster(
  options: {
    sqlite?: boolean;
    store?: Store;
    logger?: Logger;
    dataDir?: string;
    config?: MasterOptions;
    bookmarkIntervalMs?: number;
  } = {},
): Promise<TestMaster> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'slipway-api-')));
  const config = loadConfig(
    {},
    {
      dataDir,
      listen: '127.0.0.1:0',
      compactionIntervalSeconds: 0,
      logLevel: 'silent',
      // A bare API: no scheduler writing to the pods these tests create.
      controllers: false,
      ...options.config,
    },
  );
  const store = options.sqlite ? undefined : (options.store ?? new MemoryStore());
  const master = await startMaster(config, options.logger ?? silentLogger(), {
    ...(store ? { store } : {}),
    ...(options.bookmarkIntervalMs === undefined
      ? {}
      : { bookmarkIntervalMs: options.bookmarkIntervalMs }),
  });
  const owned = options.dataDir === undefined;
  return {
    master,
    url: master.url,
    dataDir,
    store,
    admin: new Client(master.url, master.adminToken),
    join: new Client(master.url, master.joinToken),
    anonymous: new Client(master.url, undefined),
    close: async () => {
      await master.close();
      await store?.close();
      if (owned) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function pod(
  name: string,
  extra: { labels?: Record<string, string>; nodeName?: string; image?: string } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: {
      containers: [{ name: 'app', image: extra.image ?? 'busybox:1' }],
      ...(extra.nodeName ? { nodeName: extra.nodeName } : {}),
    },
  };
}

export async function createProject(client: Client, name: string): Promise<void> {
  const res = await client.post('/apis/project.openshift.io/v1/projectrequests', {
    apiVersion: 'project.openshift.io/v1',
    kind: 'ProjectRequest',
    metadata: { name },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

export function podsPath(ns: string, name?: string, sub?: string): string {
  return `/api/v1/namespaces/${ns}/pods${name ? `/${name}` : ''}${sub ? `/${sub}` : ''}`;
}

/** Asserts a Status reply and returns it. */
export function expectStatus(res: Reply<unknown>, code: number, reason?: string): Status {
  expect(res.status, JSON.stringify(res.body)).toBe(code);
  const status = res.body as Status;
  expect(status.kind).toBe('Status');
  expect(status.code).toBe(code);
  if (reason) expect(status.reason).toBe(reason);
  return status;
}

/** The server is still answering. */
export async function expectHealthy(t: TestMaster): Promise<void> {
  const res = await t.anonymous.get<string>('/healthz');
  expect(res.status).toBe(200);
  expect(res.body).toBe('ok');
}

/** Names of a list's items, sorted. */
export function names(list: { items: { metadata: { name?: string | undefined } }[] }): string[] {
  return list.items.map((i) => i.metadata.name ?? '').sort();
}

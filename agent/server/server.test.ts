import { request } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/errors.js';
import { signAgentCredential, type AgentVerb } from '../../src/client/agent-credential.js';
import { connectExec, type ExecHandlers } from '../../src/client/exec-client.js';
import { connectPortForward } from '../../src/client/port-forward-client.js';
import { EXEC_PROTOCOL_V4 } from '../../src/client/exec-protocol.js';
import { errorFromResponse } from '../../src/client/api-client.js';
import { silentLogger } from '../../src/util/logger.js';
import type { ExecResult, ExecSession, LogLine, LogOptions } from '../docker/runtime.js';
import { groupPods, type ContainerListEntry, type PodInventory } from '../docker/inventory.js';
import { LABELS, podLabels } from '../docker/labels.js';
import { joinTokenAuthenticator } from './auth.js';
import type { AgentRuntime } from './runtime.js';
import { startAgentServer, type RunningAgentServer } from './server.js';

const joinToken = 'k'.repeat(43);
const NODE = 'n1';

function container(name: string, state: 'running' | 'exited', attempt = 0): ContainerListEntry {
  return {
    Id: `${name}-${attempt}`,
    Names: [`/slipway_${name}_p_ns_uid-1_${attempt}`],
    State: state,
    Created: attempt,
    Labels: {
      ...podLabels(NODE, { uid: 'uid-1', namespace: 'ns', name: 'p' }),
      [LABELS.containerName]: name,
      [LABELS.attempt]: String(attempt),
    },
  };
}

/** A runtime with one pod whose `c` runs; its exec understands `cat`, `exit N` and `size`. */
class FakeRuntime implements AgentRuntime {
  followers: PassThrough[] = [];
  resizes: { cols: number; rows: number }[] = [];
  /** Ports whose port-forward connection the client hung up, and the commands run to end them. */
  hangups: string[] = [];
  kills: string[][] = [];

  execInContainer(_id: string, cmd: string[]): Promise<ExecResult> {
    this.kills.push(cmd);
    return Promise.resolve({ exitCode: 0, stdout: '', stderr: '', truncated: false });
  }

  listPods(): Promise<PodInventory[]> {
    return Promise.resolve(
      groupPods(
        [container('c', 'running', 1), container('c', 'exited', 0), container('POD', 'running')],
        [],
        NODE,
      ),
    );
  }

  logs(id: string, options: LogOptions = {}): Promise<Readable> {
    const lines: LogLine[] = [
      { stream: 'stdout', text: `${id} first`, timestamp: '2026-01-01T00:00:00.000000001Z' },
      { stream: 'stderr', text: `${id} second`, timestamp: '2026-01-01T00:00:01.000000001Z' },
    ];
    if (!options.follow) return Promise.resolve(Readable.from(lines));
    const follower = new PassThrough({ objectMode: true });
    for (const l of lines) follower.write(l);
    options.signal?.addEventListener('abort', () => follower.destroy());
    this.followers.push(follower);
    return Promise.resolve(follower);
  }

  exec(
    _id: string,
    cmd: string[],
    options: { tty: boolean; stdin: boolean },
  ): Promise<ExecSession> {
    const stream = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let done: (code: number) => void = () => undefined;
    const exitCode = new Promise<number>((resolve) => (done = resolve));
    const finish = (code: number): void => {
      stdout.end();
      stderr.end();
      done(code);
    };
    if (cmd[0] === 'cat') {
      stream.on('data', (d: Buffer) => stdout.write(d));
      stream.on('end', () => finish(0));
    } else if (cmd[0] === 'exit') {
      stderr.write('bye\n');
      setImmediate(() => finish(Number(cmd[1])));
    } else if (cmd[0] === 'sh' && cmd[2]?.includes('exec nc 127.0.0.1')) {
      // The port-forward connection: port 1 refuses, any other echoes in upper case.
      if (cmd[4] === '1') {
        stderr.write("41\nnc: can't connect to remote host (127.0.0.1): Connection refused\n");
        setImmediate(() => finish(1));
      } else {
        stderr.write('42\n');
        stream.on('data', (d: Buffer) => stdout.write(d.toString().toUpperCase()));
        stream.on('close', () => this.hangups.push(cmd[4]!));
      }
    } else if (cmd[0] === 'size') {
      stream.on('data', () => {
        const last = this.resizes.at(-1);
        stdout.write(`${last?.rows} ${last?.cols}\n`);
        finish(0);
      });
    }
    return Promise.resolve({
      stream,
      stdin: options.stdin ? stream : null,
      stdout,
      stderr,
      resize: (size) => {
        this.resizes.push(size);
        return Promise.resolve();
      },
      exitCode,
      close: () => stream.destroy(),
    });
  }
}

const runtime = new FakeRuntime();
let server: RunningAgentServer;

beforeAll(async () => {
  server = await startAgentServer({
    runtime,
    nodeName: NODE,
    listen: { host: '127.0.0.1', port: 0 },
    authenticate: joinTokenAuthenticator({ joinToken, nodeName: NODE }),
    logger: silentLogger(),
  });
});

afterAll(async () => {
  await server.close();
});

function credential(verb: AgentVerb, target: string, container = 'c'): string {
  return `Bearer ${signAgentCredential(joinToken, {
    node: NODE,
    namespace: 'ns',
    pod: 'p',
    uid: 'uid-1',
    container,
    verb,
    target,
  })}`;
}

function get(
  path: string,
  authorization?: string,
): Promise<{ code: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        headers: authorization ? { Authorization: authorization } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function exec(target: string, handlers: ExecHandlers, authorization = credential('exec', target)) {
  return connectExec(`ws://127.0.0.1:${server.port}${target}`, {
    headers: { Authorization: authorization },
    handlers,
    transportError: (err) => err as Error,
    errorFromResponse,
  });
}

describe('agent server: logs', () => {
  it('answers /healthz without a credential and everything else only with one', async () => {
    expect((await get('/healthz')).body).toBe('ok');
    const refused = await get('/containerLogs/ns/p/c');
    expect(refused.code).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="slipway-agent"');
    expect(JSON.parse(refused.body)).toMatchObject({ kind: 'Status', reason: 'Unauthorized' });
    expect((await get('/nothing/here')).code).toBe(404);
  });

  it('streams the current instance, with timestamps, and the previous one', async () => {
    const path = '/containerLogs/ns/p/c?timestamps=true';
    const r = await get(path, credential('logs', path));
    expect(r.code).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.body).toBe(
      '2026-01-01T00:00:00.000000001Z c-1 first\n2026-01-01T00:00:01.000000001Z c-1 second\n',
    );
    const prev = '/containerLogs/ns/p/c?previous=true';
    expect((await get(prev, credential('logs', prev))).body).toBe('c-0 first\nc-0 second\n');
  });

  it('answers a missing container and bad parameters with a Status', async () => {
    const missing = '/containerLogs/ns/p/other';
    const r = await get(missing, credential('logs', missing, 'other'));
    expect(r.code).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({
      message: 'container "other" in pod "p" is waiting to start: ContainerCreating',
    });
    const bad = '/containerLogs/ns/p/c?tailLines=-3';
    expect((await get(bad, credential('logs', bad))).code).toBe(400);
  });

  it('ends follow streams when the server closes', async () => {
    const other = await startAgentServer({
      runtime,
      nodeName: NODE,
      listen: { host: '127.0.0.1', port: 0 },
      authenticate: joinTokenAuthenticator({ joinToken, nodeName: NODE }),
      logger: silentLogger(),
    });
    const path = '/containerLogs/ns/p/c?follow=true';
    const body = new Promise<string>((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: other.port,
          path,
          headers: { Authorization: credential('logs', path) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => {
            text += d;
            if (text.includes('second')) void other.close();
          });
          res.on('close', () => resolve(text));
        },
      );
      req.on('error', () => resolve('error'));
      req.end();
    });
    expect(await body).toContain('c-1 second\n');
  });
});

describe('agent server: exec', () => {
  it('bridges stdin to the process and ends it with the close signal (v5)', async () => {
    let out = '';
    const conn = await exec('/exec/ns/p/c?command=cat&stdin=true&stdout=true', {
      stdout: (d) => (out += d.toString()),
      stderr: () => undefined,
    });
    expect(conn.protocol).toBe('v5.channel.k8s.io');
    await conn.writeStdin('hello ');
    await conn.writeStdin('world');
    expect(conn.closeStdin()).toBe(true);
    expect(await conn.done).toEqual({ kind: 'exit', exitCode: 0 });
    expect(out).toBe('hello world');
  });

  it('sends the exit code on the status channel and stderr on its own channel', async () => {
    let err = '';
    const conn = await exec('/exec/ns/p/c?command=exit&command=3&stdout=true&stderr=true', {
      stdout: () => undefined,
      stderr: (d) => (err += d.toString()),
    });
    expect(await conn.done).toEqual({ kind: 'exit', exitCode: 3 });
    expect(err).toBe('bye\n');
  });

  it('passes resizes to a TTY session', async () => {
    let out = '';
    const conn = await exec('/exec/ns/p/c?command=size&stdin=true&stdout=true&tty=true', {
      stdout: (d) => (out += d.toString()),
      stderr: () => undefined,
    });
    conn.resize({ width: 132, height: 43 });
    await conn.writeStdin('x');
    expect(await conn.done).toEqual({ kind: 'exit', exitCode: 0 });
    expect(out).toBe('43 132\n');
  });

  it('refuses an exec without a credential, or one meant for logs, before upgrading', async () => {
    const target = '/exec/ns/p/c?command=cat&stdout=true';
    const noop = { stdout: () => undefined, stderr: () => undefined };
    await expect(exec(target, noop, 'Bearer nope')).rejects.toSatisfy(
      (e) => e instanceof ApiError && e.code === 401,
    );
    await expect(exec(target, noop, credential('logs', target))).rejects.toSatisfy(
      (e) => e instanceof ApiError && e.code === 401,
    );
    const none = '/exec/ns/p/c?stdout=true';
    await expect(exec(none, noop)).rejects.toThrow(
      'you must specify at least one command for the container',
    );
  });

  it('speaks v4 to a client that only offers v4', async () => {
    const { default: WebSocket } = await import('ws');
    const target = '/exec/ns/p/c?command=exit&command=0&stdout=true';
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${target}`, [EXEC_PROTOCOL_V4], {
      headers: { Authorization: credential('exec', target) },
    });
    const frames: Buffer[] = [];
    ws.on('message', (d: Buffer) => frames.push(d));
    await new Promise((resolve) => ws.on('close', resolve));
    expect(ws.protocol).toBe(EXEC_PROTOCOL_V4);
    const status = frames.find((f) => f[0] === 3);
    expect(status?.subarray(1).toString()).toBe('{"metadata":{},"status":"Success"}');
  });
});

describe('agent server: port-forward', () => {
  const forward = (target: string, authorization = credential('portforward', target, 'POD')) =>
    connectPortForward(`ws://127.0.0.1:${server.port}${target}`, {
      headers: { Authorization: authorization },
      transportError: (err) => err as Error,
      errorFromResponse,
    });

  it("joins the WebSocket to a connection inside the pod's network, and ends it on hang-up", async () => {
    const conn = await forward('/portForward/ns/p?port=8080');
    let got = '';
    conn.stream.on('data', (d: Buffer) => (got += d.toString()));
    conn.stream.write('hello');
    for (let i = 0; i < 100 && got !== 'HELLO'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got).toBe('HELLO');
    conn.stream.destroy();
    expect(await conn.error).toBeUndefined();
    for (let i = 0; i < 100 && runtime.kills.length === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    // The client left first: the connection's process is ended by the PID it printed.
    expect(runtime.hangups).toContain('8080');
    expect(runtime.kills).toContainEqual(['kill', '42']);
  });

  it('says on the error channel why a connection failed', async () => {
    const conn = await forward('/portForward/ns/p?port=1');
    conn.stream.resume();
    expect(await conn.error).toBe(
      'error forwarding port 1 to pod ns/p: failed to connect to localhost:1 inside the pod: Connection refused',
    );
  });

  it('refuses a credential for another verb, bad ports and a plain GET', async () => {
    const target = '/portForward/ns/p?port=8080';
    await expect(forward(target, credential('exec', target, 'POD'))).rejects.toSatisfy(
      (e) => e instanceof ApiError && e.code === 401,
    );
    const bad = '/portForward/ns/p?port=0';
    await expect(forward(bad)).rejects.toThrow(
      'invalid port "0" in port: ports are numbers from 1 to 65535',
    );
    const plain = await get(target, credential('portforward', target, 'POD'));
    expect(plain.code).toBe(400);
    expect(JSON.parse(plain.body)).toMatchObject({
      message: 'port-forward needs a WebSocket upgrade with subprotocol v4.channel.k8s.io',
    });
  });
});

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** Where `slipway up` keeps its state unless told otherwise. */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return join(env.HOME ?? homedir(), '.slipway', 'data');
}

export const DEFAULT_LISTEN = '127.0.0.1:8443';

/** Written by a running all-in-one server once it listens; read by `up` and `down`. */
export interface Endpoint {
  pid: number;
  url: string;
  startedAt: string;
}

export function endpointFile(dataDir: string): string {
  return join(dataDir, 'endpoint.json');
}

export function logFile(dataDir: string): string {
  return join(dataDir, 'slipway.log');
}

export async function writeEndpoint(dataDir: string, endpoint: Endpoint): Promise<void> {
  await writeFile(endpointFile(dataDir), `${JSON.stringify(endpoint, null, 2)}\n`, { mode: 0o600 });
}

export async function removeEndpoint(dataDir: string, pid: number): Promise<void> {
  const current = await readEndpoint(dataDir);
  if (current?.pid === pid) await rm(endpointFile(dataDir), { force: true });
}

export async function readEndpoint(dataDir: string): Promise<Endpoint | undefined> {
  try {
    return JSON.parse(await readFile(endpointFile(dataDir), 'utf8')) as Endpoint;
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** The running server for a data dir, if any. */
export async function runningServer(dataDir: string): Promise<Endpoint | undefined> {
  const ep = await readEndpoint(dataDir);
  return ep && isAlive(ep.pid) ? ep : undefined;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export interface StartedServer {
  endpoint: Endpoint;
  log: string;
}

/**
 * Starts `slipway server` detached from this process, logging to the data dir, and waits until
 * it answers /healthz. Fails with the log's last lines when it exits first.
 */
export async function startDetached(
  dataDir: string,
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<StartedServer> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const log = logFile(dir);
  const fd = openSync(log, 'a', 0o600);
  const bin = fileURLToPath(new URL('../../bin/slipway.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'server', '--data-dir', dir, ...args], {
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let exited: number | null | undefined;
  child.once('exit', (code, signal) => {
    exited = code ?? (signal ? 128 : 1);
  });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new Error(
        `the server exited during start-up (code ${exited}); last lines of ${log}:\n${tail(log, 15)}`,
      );
    }
    const ep = await readEndpoint(dir);
    if (ep && ep.pid === child.pid && (await healthy(ep.url))) return { endpoint: ep, log };
    await sleep(100);
  }
  if (child.pid) process.kill(child.pid, 'SIGTERM');
  throw new Error(`the server did not become ready within ${timeoutMs / 1000}s; see ${log}`);
}

/** Stops the server of a data dir: SIGTERM, then SIGKILL after the grace period. */
export async function stopServer(dataDir: string, graceMs = 20_000): Promise<Endpoint | undefined> {
  const ep = await runningServer(resolve(dataDir));
  if (!ep) return undefined;
  process.kill(ep.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(ep.pid)) return ep;
    await sleep(100);
  }
  process.kill(ep.pid, 'SIGKILL');
  while (isAlive(ep.pid)) await sleep(50);
  await rm(endpointFile(resolve(dataDir)), { force: true });
  return ep;
}

// Runs the BUILT `slipway` command as a subprocess, the way users run it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE = join(ROOT, 'node_modules', '.bin', 'node');

/** bin/slipway.js once the composition root is built; until then a small entry over dist/src/cli. */
export function slipwayEntry(): string {
  if (existsSync(join(ROOT, 'dist', 'cmd', 'slipway.js'))) return join(ROOT, 'bin', 'slipway.js');
  return join(ROOT, 'test', 'cli', 'support', 'entry.mjs');
}

/** Fails when dist/ is missing or older than the CLI and client sources it runs. */
export function assertBuilt(): void {
  const stale: string[] = [];
  for (const dir of ['src/cli', 'src/client', 'src/api']) {
    const walk = (d: string): void => {
      for (const entry of readdirSync(join(ROOT, d), { withFileTypes: true })) {
        const rel = join(d, entry.name);
        if (entry.isDirectory()) walk(rel);
        else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
          const out = join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
          if (!existsSync(out) || statSync(out).mtimeMs < statSync(join(ROOT, rel)).mtimeMs)
            stale.push(rel);
        }
      }
    };
    walk(dir);
  }
  if (stale.length > 0) {
    throw new Error(
      `dist/ is missing or older than ${stale
        .slice(0, 3)
        .map((f) => relative(ROOT, join(ROOT, f)))
        .join(', ')}${stale.length > 3 ? ', ...' : ''}; run "npm run build" first`,
    );
  }
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env: Record<string, string>;
  stdin?: string;
  timeoutMs?: number;
}

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SLIPWAY_')) base[k] = v;
  return { ...base, ...env };
}

/** Starts `slipway ARGS...`; the caller reads and stops it (for `get -w`). */
export function startSlipway(args: readonly string[], options: RunOptions): ChildProcess {
  return spawn(NODE, [slipwayEntry(), ...args], {
    cwd: ROOT,
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs `slipway ARGS...` to completion. */
export function slipway(args: readonly string[], options: RunOptions): Promise<Result> {
  const child = startSlipway(args, options);
  return collect(child, options);
}

export function collect(
  child: ChildProcess,
  options: Pick<RunOptions, 'stdin' | 'timeoutMs'> = {},
): Promise<Result> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin?.end(options.stdin ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `slipway did not finish within ${options.timeoutMs ?? 20_000} ms; stdout: ${stdout}; stderr: ${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * `slipway port-forward ARGS` running, once it printed its first `Forwarding from 127.0.0.1:...`
 * line: the local port and the pod's port. Stop it with `child.kill('SIGINT')`.
 */
export async function startPortForward(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; exited: Promise<Result>; local: number; remote: number }> {
  const child = startSlipway(['port-forward', ...args], { env });
  const exited = collect(child, { timeoutMs: 60_000 });
  let out = '';
  const forwarding = await new Promise<{ local: number; remote: number }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "Forwarding from" line within 20 s; stdout: ${out}`)),
      20_000,
    );
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /^Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ local: Number(m[1]), remote: Number(m[2]) });
      }
    });
    void exited.then((r) => {
      clearTimeout(timer);
      reject(new Error(`port-forward exited with ${r.code}: ${r.stderr}`));
    }, reject);
  });
  return { child, exited, ...forwarding };
}

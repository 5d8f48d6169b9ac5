/**
 * `cp [NS/]POD:SRC DEST` and `cp SRC [NS/]POD:DEST`, as kubectl cp: files and directory trees
 * between this machine and a container, as a tar stream through `exec` (the container needs
 * `tar`, as it does for kubectl). What comes out of a container is untrusted: it is unpacked with
 * the same checks as a binary build's upload (src/util/safe-extract.ts), so entries that leave
 * the destination, links out of it, devices and the like are refused and nothing is written
 * outside it. Paths name what is copied and what the copy is called, as `cp -r` does: into DEST
 * when it is an existing local directory (or a remote one written with a trailing `/`), else as
 * DEST.
 */
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import type { ExecConnection } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';

/** A `[NS/]POD:PATH` argument, or a local path. */
export type CpSpec =
  { kind: 'pod'; namespace?: string; pod: string; path: string } | { kind: 'local'; path: string };

const REMOTE = /^(?:([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/)?([a-z0-9]([-a-z0-9.]*[a-z0-9])?):(.*)$/;

export function parseCpSpec(arg: string): CpSpec {
  const m = REMOTE.exec(arg);
  if (!m) return { kind: 'local', path: arg };
  const path = m[5]!;
  if (path === '') throw new CliError(`"${arg}": a path in the container is required (POD:PATH)`);
  return { kind: 'pod', ...(m[1] ? { namespace: m[1] } : {}), pod: m[3]!, path };
}

/** Splits a container path into the directory tar runs in and the name it copies. */
export function splitRemote(path: string): { dir: string; name: string } {
  const clean = posix.normalize(path).replace(/\/+$/, '');
  const name = posix.basename(clean);
  if (!name || name === '.' || name === '..') {
    throw new CliError(`"${path}": name a file or directory to copy, not "${name || '/'}"`);
  }
  return { dir: posix.dirname(clean), name };
}

interface ExecResult {
  exitCode: number;
  stderr: string;
}

/** Runs `command` in the container with `stdin` fed from `input` and stdout to `output`. */
async function execStream(
  ctx: CliContext,
  target: { namespace: string; pod: string; container: string | undefined },
  command: string[],
  io: { input?: AsyncIterable<unknown>; output?: PassThrough },
): Promise<ExecResult> {
  const client = await ctx.client();
  let stderr = '';
  const conn: ExecConnection = await client.execInPod(
    target.namespace,
    target.pod,
    { container: target.container, command, stdin: io.input !== undefined, tty: false },
    {
      stdout: (data) => io.output?.write(data),
      stderr: (data) => {
        if (stderr.length < 16 * 1024) stderr += data.toString('utf8');
      },
    },
  );
  const feeding = (async () => {
    if (!io.input) return;
    for await (const chunk of io.input) await conn.writeStdin(chunk as Uint8Array);
    conn.closeStdin();
  })();
  const outcome = await conn.done;
  io.output?.end();
  await feeding.catch(() => undefined);
  if (outcome.kind === 'error') {
    const missingTar = /executable file not found|no such file or directory/i.test(outcome.message);
    throw new CliError(
      missingTar
        ? `cp needs tar in the container: ${outcome.message}`
        : `cp failed in the container: ${outcome.message}`,
    );
  }
  return { exitCode: outcome.exitCode, stderr };
}

function tarFailure(what: string, result: ExecResult): CliError {
  const detail = result.stderr.trim().split('\n').slice(-3).join('; ');
  return new CliError(`${what} (tar exited with ${result.exitCode})${detail ? `: ${detail}` : ''}`);
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/** Container -> here. */
async function download(
  ctx: CliContext,
  source: Extract<CpSpec, { kind: 'pod' }>,
  namespace: string,
  container: string | undefined,
  dest: string,
): Promise<void> {
  const { dir, name } = splitRemote(source.path);
  const local = resolve(dest);
  const target = (await isDirectory(local)) ? join(local, name) : local;
  const parent = dirname(target);
  if (!(await isDirectory(parent))) throw new CliError(`"${parent}" is not a directory`);
  // Unpacked beside the target first: only the named entry is kept, under the target's name.
  // The tar code is loaded by cp alone: every other command starts without it.
  const { ArchiveTooLargeError, extractSafely, UnsafeArchiveError } =
    await import('../../util/safe-extract.js');
  const staging = await mkdtemp(join(parent, '.slipway-cp-'));
  try {
    const output = new PassThrough();
    const unpacked = extractSafely(output, staging, {
      gzip: false,
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    unpacked.catch(() => undefined);
    let result: ExecResult;
    try {
      result = await execStream(
        ctx,
        { namespace, pod: source.pod, container },
        ['tar', 'cf', '-', '-C', dir, name],
        { output },
      );
    } catch (err) {
      output.destroy();
      throw err;
    }
    try {
      await unpacked;
    } catch (err) {
      if (err instanceof UnsafeArchiveError || err instanceof ArchiveTooLargeError) {
        throw new CliError(`refusing what the container sent: ${err.message}; nothing was copied`);
      }
      if (result.exitCode !== 0) throw tarFailure(`cannot copy ${source.path}`, result);
      throw new CliError(`cannot unpack what the container sent: ${(err as Error).message}`);
    }
    if (result.exitCode !== 0) throw tarFailure(`cannot copy ${source.path}`, result);
    const copied = join(staging, name);
    if (!(await stat(copied).catch(() => undefined))) {
      throw new CliError(`the container sent no "${name}"; nothing was copied`);
    }
    await rm(target, { recursive: true, force: true });
    await rename(copied, target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Here -> container. */
async function upload(
  ctx: CliContext,
  source: string,
  dest: Extract<CpSpec, { kind: 'pod' }>,
  namespace: string,
  container: string | undefined,
): Promise<void> {
  const local = resolve(source);
  if (!(await stat(local).catch(() => undefined))) {
    throw new CliError(`"${source}": no such file or directory`);
  }
  const into = dest.path.endsWith('/');
  const { dir, name } = into
    ? { dir: posix.normalize(dest.path), name: basename(local) }
    : splitRemote(dest.path);
  const from = basename(local);
  const { pack } = await import('tar-fs');
  const archive = pack(dirname(local), {
    entries: [from],
    // The copy is called `name` in the container.
    map: (header) => {
      header.name = name + header.name.slice(from.length);
      return header;
    },
  });
  const result = await execStream(
    ctx,
    { namespace, pod: dest.pod, container },
    ['tar', 'xf', '-', '-C', dir],
    { input: archive },
  );
  if (result.exitCode !== 0) throw tarFailure(`cannot copy to ${dest.path}`, result);
}

interface CpOptions {
  container?: string;
  namespace?: string;
}

export function registerCpCommand(program: Command, ctx: CliContext): void {
  program
    .command('cp')
    .description(
      'Copy files and directories to and from containers: cp [NS/]POD:SRC DEST, cp SRC [NS/]POD:DEST',
    )
    .argument('<source>', 'a local path, or [NS/]POD:PATH')
    .argument('<destination>', 'a local path, or [NS/]POD:PATH')
    .option('-c, --container <name>', 'the container; needed when the pod has several')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action(async (sourceArg: string, destArg: string, opts: CpOptions) => {
      const source = parseCpSpec(sourceArg);
      const dest = parseCpSpec(destArg);
      if ((source.kind === 'pod') === (dest.kind === 'pod')) {
        throw new CliError(
          'one of source and destination must be a container path ([NS/]POD:PATH) and the other a local path',
        );
      }
      if (source.kind === 'pod') {
        const namespace = await ctx.namespace(source.namespace ?? opts.namespace);
        await download(ctx, source, namespace, opts.container, dest.path);
      } else if (dest.kind === 'pod') {
        const namespace = await ctx.namespace(dest.namespace ?? opts.namespace);
        await upload(ctx, source.path, dest, namespace, opts.container);
      }
    });
}

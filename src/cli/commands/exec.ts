import type { Command } from 'commander';
import type { ExecConnection, TerminalSize } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { parsePodArg, resolvePod, type PodArg } from '../pod-target.js';
import { writeBytes } from '../io.js';

/** The parts of a terminal the CLI uses, when its stdin/stdout are one (process.stdin/stdout). */
interface TtyIn {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
}
interface TtyOut {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  on?(event: 'resize', fn: () => void): unknown;
  off?(event: 'resize', fn: () => void): unknown;
}

export const NOT_A_TERMINAL =
  'Unable to use a TTY - input is not a terminal or the right kind of file';

export interface ExecRequest {
  namespace: string;
  pod: PodArg;
  /** Ends the session (default: the CLI's own interrupt signal, if it has one). */
  signal?: AbortSignal;
  container: string | undefined;
  command: string[];
  stdin: boolean;
  tty: boolean;
}

function terminalSize(out: TtyOut): TerminalSize | undefined {
  return out.isTTY && out.columns && out.rows
    ? { width: out.columns, height: out.rows }
    : undefined;
}

const STOP: unique symbol = Symbol('stop');

/** Copies the CLI's stdin to the exec until it ends (then closes the remote stdin) or the exec
 * is over (`stopped`), whichever comes first. */
async function pumpStdin(
  ctx: CliContext,
  conn: ExecConnection,
  stopped: Promise<unknown>,
): Promise<void> {
  const iterator = ctx.io.stdin[Symbol.asyncIterator]();
  const stop = stopped.then((): typeof STOP => STOP);
  try {
    for (;;) {
      const read = iterator.next();
      // A read cut short when the stream is destroyed below is not an error.
      read.catch(() => undefined);
      const next = await Promise.race([read, stop]);
      if (next === STOP) return;
      if (next.done) break;
      const chunk = next.value;
      const sent = conn.writeStdin(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      if ((await Promise.race([sent, stop])) === STOP) return;
    }
    // v4 cannot end the remote stdin; the command then runs until it exits on its own.
    conn.closeStdin();
  } finally {
    // A read still pending holds the stream (and the process) open: destroying the stream
    // ends it, so the CLI can exit while its stdin (a terminal, say) has nothing more to say.
    (ctx.io.stdin as { destroy?(): void }).destroy?.();
    iterator.return?.()?.catch(() => undefined);
  }
}

/**
 * Runs a command in a container through the master, wiring the CLI's stdin, stdout, stderr and
 * terminal to it. Sets the CLI's exit code to the command's; failures throw.
 */
export async function runExec(ctx: CliContext, req: ExecRequest): Promise<void> {
  const client = await ctx.client();
  const { name: pod } = await resolvePod(ctx, client, req.namespace, req.pod);
  const stdin = ctx.io.stdin as unknown as TtyIn;
  const stdout = ctx.io.stdout as unknown as TtyOut;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  const interrupt = req.signal ?? ctx.io.signal;
  interrupt?.addEventListener('abort', onAbort, { once: true });
  const conn = await client.execInPod(
    req.namespace,
    pod,
    {
      container: req.container,
      command: req.command,
      stdin: req.stdin,
      tty: req.tty,
      signal: controller.signal,
    },
    {
      stdout: (data) => writeBytes(ctx.io.stdout, data),
      stderr: (data) => writeBytes(ctx.io.stderr, data),
    },
  );
  controller.signal.addEventListener('abort', () => conn.close(), { once: true });
  const raw = req.tty && req.stdin && stdin.isTTY === true && !!stdin.setRawMode;
  const onResize = (): void => {
    const size = terminalSize(stdout);
    if (size) conn.resize(size);
  };
  try {
    if (raw) stdin.setRawMode!(true);
    if (req.tty) {
      onResize();
      stdout.on?.('resize', onResize);
    }
    const pump = req.stdin ? pumpStdin(ctx, conn, conn.done) : Promise.resolve();
    const outcome = await conn.done;
    await pump.catch(() => undefined);
    if (outcome.kind === 'error') {
      if (controller.signal.aborted) return;
      throw new CliError(outcome.message);
    }
    ctx.exitCode = outcome.exitCode;
    if (outcome.exitCode !== 0) ctx.err(`command terminated with exit code ${outcome.exitCode}`);
  } finally {
    if (req.tty) stdout.off?.('resize', onResize);
    if (raw) stdin.setRawMode!(false);
    interrupt?.removeEventListener('abort', onAbort);
  }
}

interface ExecOptions {
  container?: string;
  stdin?: boolean;
  tty?: boolean;
  namespace?: string;
}

interface RshOptions {
  container?: string;
  tty?: boolean;
  shell: string;
  namespace?: string;
}

export function registerExecCommands(program: Command, ctx: CliContext): void {
  program
    .command('exec')
    .description('Run a command in a container: exec POD [-c C] [-i] [-t] -- COMMAND [ARGS...]')
    .argument('<pod>', 'POD, pod/NAME, or svc/NAME, dc/NAME... (one of their pods)')
    .argument('[command...]', 'the command and its arguments, after --')
    .option('-c, --container <name>', 'the container; needed when the pod has several')
    .option('-i, --stdin', 'pass stdin to the command')
    .option('-t, --tty', 'run the command in a terminal (stdin must be one)')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action(async (podArg: string, command: string[], opts: ExecOptions) => {
      const pod = parsePodArg(ctx, podArg, 'exec into');
      if (command.length === 0) {
        throw new CliError('you must specify at least one command for the container');
      }
      let tty = opts.tty === true;
      if (tty && (ctx.io.stdin as unknown as TtyIn).isTTY !== true) {
        ctx.err(NOT_A_TERMINAL);
        tty = false;
      }
      await runExec(ctx, {
        namespace: await ctx.namespace(opts.namespace),
        pod,
        container: opts.container,
        command,
        stdin: opts.stdin === true,
        tty,
      });
    });

  program
    .command('rsh')
    .description('Open a shell in a container: rsh POD [-c C] [COMMAND [ARGS...]]')
    .argument('<pod>', 'POD, pod/NAME, or svc/NAME, dc/NAME... (one of their pods)')
    .argument('[command...]', 'run this instead of the shell')
    .option('-c, --container <name>', 'the container; needed when the pod has several')
    .option('-t, --tty', 'force a terminal, even for a command or when stdin is not one')
    .option('-T, --no-tty', 'never use a terminal')
    .option('--shell <path>', 'the shell to start', '/bin/sh')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action(async (podArg: string, command: string[], opts: RshOptions) => {
      const pod = parsePodArg(ctx, podArg, 'rsh into');
      const isTerminal = (ctx.io.stdin as unknown as TtyIn).isTTY === true;
      // oc rsh: a terminal for an interactive shell on a terminal; -t forces one, -T none.
      const tty = opts.tty ?? (command.length === 0 && isTerminal);
      await runExec(ctx, {
        namespace: await ctx.namespace(opts.namespace),
        pod,
        container: opts.container,
        command: command.length > 0 ? command : [opts.shell],
        stdin: true,
        tty,
      });
    });
}

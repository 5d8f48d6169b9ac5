import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { interruptSignal } from '../io.js';
import { resolveKind } from '../resources.js';

/** `web-1`, `pod/web-1`, `po/web-1`: the pod's name. Other kinds have no logs (yet). */
export function parsePodArg(ctx: CliContext, arg: string, verb: string): string {
  const slash = arg.indexOf('/');
  if (slash < 0) return arg;
  const def = resolveKind(ctx.registry, arg.slice(0, slash));
  const name = arg.slice(slash + 1);
  if (def.group !== '' || def.plural !== 'pods') {
    throw new CliError(`cannot ${verb} ${def.plural}; only pods are supported`);
  }
  if (!name) throw new CliError(`arguments in resource/name form must have a name: "${arg}"`);
  return name;
}

/** `30s`, `5m`, `1h30m`: Go durations as kubectl's --since takes them, in whole seconds. */
export function parseSince(value: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value.trim());
  if (!m || value.trim() === '') {
    throw new CliError(`invalid argument "${value}" for "--since": a duration like 30s, 5m or 2h`);
  }
  const seconds = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return Math.max(1, seconds);
}

/** Writes bytes to a CLI output (the process's streams take them as they are; the CliIo type
 * names strings, and test doubles that append them turn bytes into text). */
export function writeBytes(
  out: { write(chunk: Uint8Array | string): unknown },
  chunk: Uint8Array,
): void {
  out.write(chunk);
}

interface LogsOptions {
  container?: string;
  follow?: boolean;
  previous?: boolean;
  tail: string;
  timestamps?: boolean;
  since?: string;
  namespace?: string;
}

export function registerLogsCommand(program: Command, ctx: CliContext): void {
  program
    .command('logs')
    .description('Print the logs of a container in a pod')
    .argument('<pod>', 'POD or pod/NAME')
    .argument('[container]', 'the container (same as -c)')
    .option('-c, --container <name>', 'the container; needed when the pod has several')
    .option('-f, --follow', 'keep streaming new lines until the container stops or Ctrl-C')
    .option('-p, --previous', 'the previous (terminated) instance of the container')
    .option('--tail <lines>', 'only the last N lines; -1 for all', '-1')
    .option('--timestamps', 'start each line with its RFC 3339 timestamp')
    .option('--since <duration>', 'only lines newer than this, like 30s, 5m or 2h')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action(async (podArg: string, containerArg: string | undefined, opts: LogsOptions) => {
      const name = parsePodArg(ctx, podArg, 'get the logs of');
      if (containerArg && opts.container && containerArg !== opts.container) {
        throw new CliError('only one of -c or an inline container name is allowed');
      }
      const tail = Number(opts.tail);
      if (!Number.isInteger(tail) || tail < -1) {
        throw new CliError(
          `invalid argument "${opts.tail}" for "--tail": a number of lines, or -1`,
        );
      }
      const sinceSeconds = opts.since === undefined ? undefined : parseSince(opts.since);
      const client = await ctx.client();
      const namespace = await ctx.namespace(opts.namespace);
      const { signal, release } = interruptSignal(ctx.io);
      try {
        const stream = await client.podLogs(namespace, name, {
          container: opts.container ?? containerArg,
          follow: opts.follow,
          previous: opts.previous,
          tailLines: tail >= 0 ? tail : undefined,
          timestamps: opts.timestamps,
          sinceSeconds,
          signal,
        });
        for await (const chunk of stream) writeBytes(ctx.io.stdout, chunk);
      } finally {
        release();
      }
    });
}

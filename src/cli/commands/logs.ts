import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { interruptSignal, writeBytes } from '../io.js';
import { parsePodArg, resolvePod } from '../pod-target.js';
import { buildLogTarget, newestBuildName, streamBuildLog } from './builds.js';

/** `30s`, `5m`, `1h30m`: Go durations as kubectl's --since takes them, in whole seconds. */
export function parseSince(value: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value.trim());
  if (!m || value.trim() === '') {
    throw new CliError(`invalid argument "${value}" for "--since": a duration like 30s, 5m or 2h`);
  }
  const seconds = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return Math.max(1, seconds);
}

function parseTail(value: string): number | undefined {
  const tail = Number(value);
  if (!Number.isInteger(tail) || tail < -1) {
    throw new CliError(`invalid argument "${value}" for "--tail": a number of lines, or -1`);
  }
  return tail >= 0 ? tail : undefined;
}

async function buildLogs(
  ctx: CliContext,
  target: { kind: 'build' | 'buildconfig'; name: string },
  opts: LogsOptions,
): Promise<void> {
  if (opts.previous) throw new CliError('--previous is not supported for builds');
  const client = await ctx.client();
  const namespace = await ctx.namespace(opts.namespace);
  const name =
    target.kind === 'build'
      ? target.name
      : await newestBuildName(client, ctx, namespace, target.name);
  const { signal, release } = interruptSignal(ctx.io);
  try {
    await streamBuildLog(client, ctx, namespace, name, {
      follow: opts.follow,
      tailLines: parseTail(opts.tail),
      timestamps: opts.timestamps,
      signal,
    });
  } finally {
    release();
  }
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
    .argument(
      '<pod>',
      'POD, pod/NAME, svc/NAME, dc/NAME (one of their pods), build/NAME or bc/NAME (its newest build)',
    )
    .argument('[container]', 'the container (same as -c)')
    .option('-c, --container <name>', 'the container; needed when the pod has several')
    .option('-f, --follow', 'keep streaming new lines until the container stops or Ctrl-C')
    .option('-p, --previous', 'the previous (terminated) instance of the container')
    .option('--tail <lines>', 'only the last N lines; -1 for all', '-1')
    .option('--timestamps', 'start each line with its RFC 3339 timestamp')
    .option('--since <duration>', 'only lines newer than this, like 30s, 5m or 2h')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action(async (podArg: string, containerArg: string | undefined, opts: LogsOptions) => {
      const build = buildLogTarget(ctx, podArg);
      if (build) {
        await buildLogs(ctx, build, opts);
        return;
      }
      const target = parsePodArg(ctx, podArg, 'get the logs of');
      if (containerArg && opts.container && containerArg !== opts.container) {
        throw new CliError('only one of -c or an inline container name is allowed');
      }
      const tail = parseTail(opts.tail);
      const sinceSeconds = opts.since === undefined ? undefined : parseSince(opts.since);
      const client = await ctx.client();
      const namespace = await ctx.namespace(opts.namespace);
      const { name } = await resolvePod(ctx, client, namespace, target);
      const { signal, release } = interruptSignal(ctx.io);
      try {
        const stream = await client.podLogs(namespace, name, {
          container: opts.container ?? containerArg,
          follow: opts.follow,
          previous: opts.previous,
          tailLines: tail,
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

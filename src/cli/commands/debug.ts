/**
 * `debug TYPE/NAME [-c C] [-- COMMAND...]`, as `oc debug`: a copy of a pod (or of a workload's
 * pod template) that idles instead of running the application, so that a container that crashes
 * at start can be looked into. The copy has no labels (no Service or controller picks it up), no
 * probes, no node and `restartPolicy: Never`; its chosen container runs a shell that waits. Once
 * it runs, COMMAND (default `/bin/sh`, interactive) runs in it through exec, and the copy is
 * deleted when that ends or the command is interrupted. The CLI exits with COMMAND's status.
 */
import type { Command } from 'commander';
import { isApiError } from '../../api/errors.js';
import { podKind } from '../../api/kinds/index.js';
import type { PodTemplateSpec } from '../../api/kinds/pod-template.js';
import type { ApiObject, Container, Pod } from '../../api/index.js';
import type { ApiClient } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { interruptSignal } from '../io.js';
import { parsePodArg } from '../pod-target.js';
import { NOT_A_TERMINAL, runExec } from './exec.js';

/** What the debug container runs while the session lasts: a shell waiting to be stopped. */
export const IDLE_COMMAND = ['/bin/sh', '-c', "trap 'exit 0' TERM INT; sleep 86400 & wait"];

const SOURCE_CONTAINER = 'debug.openshift.io/source-container';
const SOURCE_RESOURCE = 'debug.openshift.io/source-resource';

/** Reasons a waiting container will not get past without a change to its pod. */
const STUCK = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

function withoutProbes(c: Container): Container {
  const { livenessProbe: _l, readinessProbe: _r, startupProbe: _s, ...rest } = c;
  return rest;
}

/** The debug copy of `template` (a pod's or a workload's), idling in `container`. */
export function debugPod(
  source: { resource: string; name: string },
  template: PodTemplateSpec,
  container: string | undefined,
): { pod: Pod; container: string } {
  const containers = template.spec.containers ?? [];
  const chosen = container ?? containers[0]?.name;
  if (!chosen || !containers.some((c) => c.name === chosen)) {
    throw new CliError(
      container
        ? `container "${container}" not found in ${source.resource}/${source.name}; choose one of: ${containers.map((c) => c.name).join(', ')}`
        : `${source.resource}/${source.name} has no containers`,
    );
  }
  const { nodeName: _node, ...spec } = template.spec;
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${source.name}-debug-`,
      annotations: {
        [SOURCE_CONTAINER]: chosen,
        [SOURCE_RESOURCE]: `${source.resource}/${source.name}`,
      },
    },
    spec: {
      ...spec,
      restartPolicy: 'Never',
      containers: containers.map((c) => {
        const plain = withoutProbes(c);
        if (c.name !== chosen) return plain;
        const { args: _args, ...rest } = plain;
        return { ...rest, command: [...IDLE_COMMAND] };
      }),
    },
  };
  return { pod, container: chosen };
}

/** The pod template `TYPE/NAME` stands for: a pod's own, or a workload's `spec.template`. */
async function templateOf(
  client: ApiClient,
  namespace: string,
  arg: ReturnType<typeof parsePodArg>,
): Promise<PodTemplateSpec> {
  const obj = await client.get<ApiObject>(arg.def, arg.name, { namespace });
  if (arg.def.group === '' && arg.def.plural === 'pods') {
    const pod = obj as Pod;
    return { metadata: pod.metadata, spec: pod.spec };
  }
  const template = (obj.spec as { template?: PodTemplateSpec } | undefined)?.template;
  if (!template?.spec) {
    throw new CliError(
      `cannot debug ${arg.def.plural}: ${arg.def.singular}/${arg.name} has no pod template`,
    );
  }
  return template;
}

/** Polls the pod until it runs; CliError when it cannot. */
async function waitRunning(
  client: ApiClient,
  namespace: string,
  name: string,
  container: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pod = await client.get<Pod>(podKind, name, { namespace, signal });
    const phase = pod.status?.phase;
    if (phase === 'Running') return;
    if (phase === 'Failed' || phase === 'Succeeded') {
      throw new CliError(`the debug pod ${name} ended before it ran (phase ${phase})`);
    }
    const waiting = (pod.status?.containerStatuses ?? []).find((s) => s.name === container)?.state
      ?.waiting;
    if (waiting?.reason && STUCK.has(waiting.reason)) {
      throw new CliError(
        `the debug pod ${name} cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`,
      );
    }
    if (Date.now() > deadline) {
      throw new CliError(`the debug pod ${name} did not start within ${timeoutMs / 1000} s`);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 500);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (signal.aborted) throw new CliError('interrupted before the debug pod started');
  }
}

interface DebugOptions {
  container?: string;
  stdin?: boolean;
  tty?: boolean;
  namespace?: string;
  timeout: string;
}

export function registerDebugCommand(program: Command, ctx: CliContext): void {
  program
    .command('debug')
    .description(
      'Start an idle copy of a pod or workload and run a shell (or COMMAND) in it: debug TYPE/NAME [-- COMMAND...]',
    )
    .argument('<target>', 'POD, pod/NAME, dc/NAME, deployment/NAME, rc/NAME or rs/NAME')
    .argument('[command...]', 'what to run instead of a shell, after --')
    .option('-c, --container <name>', 'the container to debug (default: the first)')
    .option('-i, --stdin', 'pass stdin to COMMAND (always for the shell)')
    .option('-t, --tty', 'run in a terminal (default for the shell when stdin is one)')
    .option('--timeout <seconds>', 'how long to wait for the copy to start', '300')
    .option('-n, --namespace <namespace>', 'the project (default: the current project)')
    .action(async (targetArg: string, command: string[], opts: DebugOptions) => {
      const arg = parsePodArg(ctx, targetArg, 'debug');
      if (arg.def.group === '' && arg.def.plural === 'services') {
        throw new CliError('cannot debug services; name the pod or workload behind it');
      }
      const timeout = Number(opts.timeout);
      if (!Number.isInteger(timeout) || timeout < 1) {
        throw new CliError(`--timeout "${opts.timeout}": a number of seconds`);
      }
      const client = await ctx.client();
      const namespace = await ctx.namespace(opts.namespace);
      const template = await templateOf(client, namespace, arg);
      const { pod, container } = debugPod(
        { resource: arg.def.plural, name: arg.name },
        template,
        opts.container,
      );
      const shell = command.length === 0;
      const isTerminal = (ctx.io.stdin as { isTTY?: boolean }).isTTY === true;
      let tty = opts.tty ?? (shell && isTerminal);
      if (tty && !isTerminal) {
        ctx.err(NOT_A_TERMINAL);
        tty = false;
      }
      const created = await client.create<Pod>(podKind, pod, { namespace });
      const name = created.metadata.name ?? '';
      ctx.err(`Starting pod/${name} ...`);
      const { signal, release } = interruptSignal(ctx.io);
      try {
        await waitRunning(client, namespace, name, container, signal, timeout * 1000);
        await runExec(ctx, {
          namespace,
          pod: { def: podKind, name },
          container,
          command: shell ? ['/bin/sh'] : command,
          stdin: shell || opts.stdin === true,
          tty,
          // Ctrl-C (without a terminal) ends the session, and the copy is still removed.
          signal,
        });
      } finally {
        release();
        ctx.err('Removing debug pod ...');
        await client.delete(podKind, name, { namespace }).catch((err: unknown) => {
          if (!isApiError(err, 'NotFound')) throw err;
        });
      }
    });
}

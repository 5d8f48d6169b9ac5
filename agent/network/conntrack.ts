/**
 * UDP flows the host's connection tracking still sends to endpoints a service port no longer
 * has, and their removal: kube-proxy's conntrack clean-up.
 *
 * The nat table sees only a flow's first packet: later packets of a UDP flow follow its
 * conntrack entry, so a client that keeps sending from one socket (a syslog or metrics sender, a
 * game or VPN client, a resolver reusing its port) would go on sending to a removed pod, or past
 * a ClusterIP whose rules did not exist yet, for as long as it keeps the entry alive. After each
 * sync the service proxy lists the UDP flows of every service port whose endpoints changed (all
 * of them on its first sync, which cannot know what changed while the agent was down) and
 * deletes those answered by none of the current endpoints. TCP needs none of this: a connection
 * to a gone pod fails and the client opens another, which the rules then place.
 *
 * The flows are read and deleted with `conntrack` (Debian's conntrack package). Where it is
 * missing the proxy says so once and carries on: such flows then keep their old target until
 * their conntrack entry times out.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SAFE_PATH } from '../builds/git-fetch.js';
import type { Backend, ServicePortEntry } from './service-ports.js';

const execFileAsync = promisify(execFile);
const TIMEOUT_MS = 30_000;

/** One tracked UDP flow: its original direction and the source of its replies (after DNAT,
 * the endpoint; for a flow no rule translated, its original destination). */
export interface UdpFlow {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  replySrc: string;
  replySport: number;
}

/** What to list: flows whose original destination port is `dport`, to `dst` if given. */
export interface FlowFilter {
  dst?: string;
  dport: number;
}

/** What to delete: flows of `filter` answered from `replySrc:replySport`. */
export interface FlowDeletion extends FlowFilter {
  replySrc: string;
  replySport: number;
}

/** What the service proxy needs of the host's connection tracking. */
export interface ConntrackTools {
  /** The tracked UDP flows matching `filter`. */
  listUdp(filter: FlowFilter): Promise<UdpFlow[]>;
  /** Deletes the tracked UDP flows matching `deletion`; resolves with how many went. */
  deleteUdp(deletion: FlowDeletion): Promise<number>;
}

/** Thrown when the `conntrack` command is not installed. */
export class ConntrackMissingError extends Error {}

const TUPLE = /\bsrc=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/g;

/** The flows in `conntrack -L -p udp` output (entries without both tuples are skipped). */
export function parseFlows(output: string): UdpFlow[] {
  const flows: UdpFlow[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('udp')) continue;
    const [orig, reply] = [...line.matchAll(TUPLE)];
    if (!orig || !reply) continue;
    flows.push({
      src: orig[1]!,
      dst: orig[2]!,
      sport: Number(orig[3]),
      dport: Number(orig[4]),
      replySrc: reply[1]!,
      replySport: Number(reply[3]),
    });
  }
  return flows;
}

function filterArgs(filter: FlowFilter): string[] {
  return [
    '-p',
    'udp',
    ...(filter.dst ? ['--orig-dst', filter.dst] : []),
    '--orig-port-dst',
    String(filter.dport),
  ];
}

async function conntrack(args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync('conntrack', args, {
      env: { PATH: SAFE_PATH },
      timeout: TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new ConntrackMissingError('conntrack is not installed');
    // "0 flow entries have been deleted." comes with exit code 1: nothing matched.
    if (/\b0 flow entries have been deleted/.test(e.stderr ?? '')) {
      return { stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
    throw new Error(`conntrack ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`, {
      cause: err,
    });
  }
}

/** The host's `conntrack`, run from a fixed PATH with nothing else in the environment. */
export const hostConntrack: ConntrackTools = {
  async listUdp(filter) {
    return parseFlows((await conntrack(['-L', ...filterArgs(filter)])).stdout);
  },
  async deleteUdp(deletion) {
    const { stderr } = await conntrack([
      '-D',
      ...filterArgs(deletion),
      '--reply-src',
      deletion.replySrc,
      '--reply-port-src',
      String(deletion.replySport),
    ]);
    return Number(/(\d+) flow entries have been deleted/.exec(stderr)?.[1] ?? 0);
  },
};

/** A UDP service port as the clean-up sees it: where clients send, and who may answer. */
export interface UdpTarget {
  /** The ClusterIP and port; absent for a nodePort a service no longer has. */
  cluster?: { ip: string; port: number };
  nodePort?: number;
  backends: Backend[];
}

interface UdpPort {
  clusterIP: string;
  port: number;
  nodePort: number | undefined;
  backends: string;
  target: UdpTarget;
}

function udpPorts(entries: readonly ServicePortEntry[]): Map<string, UdpPort> {
  const out = new Map<string, UdpPort>();
  for (const e of entries) {
    if (e.protocol !== 'udp') continue;
    out.set(`${e.clusterIP}:${e.port}`, {
      clusterIP: e.clusterIP,
      port: e.port,
      nodePort: e.nodePort,
      backends: e.backends.map((b) => `${b.ip}:${b.port}`).join(','),
      target: {
        cluster: { ip: e.clusterIP, port: e.port },
        ...(e.nodePort ? { nodePort: e.nodePort } : {}),
        backends: e.backends,
      },
    });
  }
  return out;
}

/**
 * The UDP service ports whose flows need a look after a sync from `before` to `after`
 * (`before` undefined: the first sync, every UDP port): those whose endpoints or nodePort
 * changed, and those that went away, which nobody may answer now (nor a nodePort given up).
 */
export function changedUdpTargets(
  before: readonly ServicePortEntry[] | undefined,
  after: readonly ServicePortEntry[],
): UdpTarget[] {
  const now = udpPorts(after);
  if (!before) return [...now.values()].map((p) => p.target);
  const then = udpPorts(before);
  const changed: UdpTarget[] = [];
  for (const [key, p] of now) {
    const old = then.get(key);
    if (old && old.backends === p.backends && old.nodePort === p.nodePort) continue;
    changed.push(p.target);
    if (old?.nodePort && old.nodePort !== p.nodePort) {
      changed.push({ nodePort: old.nodePort, backends: [] });
    }
  }
  for (const [key, old] of then) {
    if (now.has(key)) continue;
    changed.push({ ...old.target, backends: [] });
  }
  return changed;
}

/**
 * The deletions that leave `target`'s flows answered only by its current endpoints: to the
 * ClusterIP, every flow answered by anyone else (a removed endpoint, or the ClusterIP itself
 * when no rule translated it); to the nodePort, every translated flow answered by anyone else.
 * One deletion per stale answering address.
 */
export function staleDeletions(
  target: UdpTarget,
  clusterFlows: readonly UdpFlow[],
  nodePortFlows: readonly UdpFlow[],
): FlowDeletion[] {
  const current = new Set(target.backends.map((b) => `${b.ip}:${b.port}`));
  const out = new Map<string, FlowDeletion>();
  const add = (filter: FlowFilter, f: UdpFlow): void => {
    const from = `${f.replySrc}:${f.replySport}`;
    if (current.has(from)) return;
    const key = `${filter.dst ?? '*'}:${filter.dport}<${from}`;
    if (!out.has(key)) out.set(key, { ...filter, replySrc: f.replySrc, replySport: f.replySport });
  };
  const { cluster, nodePort } = target;
  if (cluster) {
    for (const f of clusterFlows) {
      if (f.dst === cluster.ip && f.dport === cluster.port) {
        add({ dst: cluster.ip, dport: cluster.port }, f);
      }
    }
  }
  if (nodePort) {
    for (const f of nodePortFlows) {
      const translated = f.replySrc !== f.dst || f.replySport !== f.dport;
      if (f.dport === nodePort && translated) add({ dport: nodePort }, f);
    }
  }
  return [...out.values()];
}

/**
 * Deletes the stale flows of each target; resolves with how many flows went. A missing
 * `conntrack` rejects with ConntrackMissingError before anything else is tried.
 */
export async function removeStaleUdpFlows(
  tools: ConntrackTools,
  targets: readonly UdpTarget[],
): Promise<number> {
  let removed = 0;
  for (const target of targets) {
    const { cluster } = target;
    const clusterFlows = cluster
      ? await tools.listUdp({ dst: cluster.ip, dport: cluster.port })
      : [];
    const nodePortFlows = target.nodePort ? await tools.listUdp({ dport: target.nodePort }) : [];
    for (const deletion of staleDeletions(target, clusterFlows, nodePortFlows)) {
      removed += await tools.deleteUdp(deletion);
    }
  }
  return removed;
}

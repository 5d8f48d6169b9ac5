/**
 * The iptables rules of the service proxy, rendered as `iptables-restore --noflush` input. Pure:
 * from the service ports, the node name and what `iptables-save` shows now.
 *
 * kube-proxy's iptables mode, simplified. Every chain carries an 8-digit hash of the node name,
 * so two agents on one host (tests) never touch each other's rules:
 *
 *   nat    SLW-SVC-<h>   jumped to from PREROUTING and OUTPUT: one rule per service port,
 *                        `-d VIP/32 -p P --dport N`, to its SLW-S chain; last, traffic to any
 *                        local address of the node but loopback (`-m addrtype --dst-type LOCAL
 *                        ! -d 127.0.0.0/8`) to SLW-NP
 *          SLW-NP-<h>    per nodePort of a service port with endpoints: `-p P --dport NODEPORT`
 *                        to SLW-MARK (the reply must come back through this node to be
 *                        un-NATed), then to the port's SLW-S chain. A nodePort without
 *                        endpoints needs no rule: nothing listens there, the kernel refuses
 *          SLW-S-<h>-<x> per service port: picks an endpoint chain with `-m statistic --mode
 *                        random --probability 1/n` for the first n-1, the last unconditionally;
 *                        with ClientIP affinity, first the endpoint a client used last (`-m
 *                        recent --rcheck` on the endpoint's list, which its DNAT rule `--set`s)
 *          SLW-E-<h>-<x> per endpoint: marks traffic from the endpoint itself for SNAT
 *                        (hairpin), then DNAT to podIP:port
 *          SLW-MARK-<h>  sets the SNAT mark; SLW-POST-<h> (from POSTROUTING) masquerades what
 *                        carries it
 *   filter SLW-FW-<h>    jumped to from FORWARD and OUTPUT for new connections: REJECT for
 *                        service ports without a ready endpoint, so clients are refused at once
 *          SLW-FWD-<h>   jumped to from FORWARD only, for new connections: ACCEPT for traffic
 *                        carrying the SNAT mark (kube-proxy's KUBE-FORWARD): Docker's FORWARD
 *                        policy is DROP and it accepts published container ports only, so a
 *                        nodePort connection from another host, DNATed to a pod, would be
 *                        dropped. The mark is set in nat PREROUTING, before filter FORWARD, and
 *                        cleared in SLW-POST (POSTROUTING), after it. What the node itself
 *                        sends never meets this ACCEPT (OUTPUT rules after ours still apply)
 *
 * NodePorts answer on every address of the node except 127.0.0.0/8: the kernel does not route
 * a packet from a loopback address off the host unless `route_localnet` is set (one DNATed to a
 * pod would be dropped, its client left waiting), and the proxy leaves it off (kube-proxy sets
 * it, which also exposes services bound to localhost to the node's neighbours). A connection to
 * 127.0.0.1:NODEPORT is refused at once, as nothing listens there.
 *
 * The jumps from the built-in chains carry a comment naming the node. A sync declares every
 * owned chain (which flushes it), writes its rules, deletes owned chains no longer needed and
 * adds missing jumps, all in one restore: the tables change at once or not at all. Rules the
 * proxy does not own are never named.
 */
import { createHash } from 'node:crypto';
import type { Backend, Protocol, ServicePortEntry } from './service-ports.js';

/** The mark for "masquerade this" (kube-proxy's bit). */
export const MASQ_MARK = '0x4000';

/** 8 upper-case hex digits of the node name's hash. */
export function nodeHash(nodeName: string): string {
  return createHash('sha256').update(nodeName).digest('hex').slice(0, 8).toUpperCase();
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12).toUpperCase();
}

export interface NodeChains {
  /** nat: the services' entry point. */
  services: string;
  /** nat: masquerade marked traffic (from POSTROUTING). */
  postrouting: string;
  /** nat: set the masquerade mark. */
  mark: string;
  /** nat: the nodePorts (from the services chain, for local addresses). */
  nodePorts: string;
  /** filter: reject service ports without endpoints. */
  reject: string;
  /** filter, from FORWARD only: accept forwarded service traffic (marked for SNAT). */
  forward: string;
}

export function nodeChains(nodeName: string): NodeChains {
  const h = nodeHash(nodeName);
  return {
    services: `SLW-SVC-${h}`,
    postrouting: `SLW-POST-${h}`,
    mark: `SLW-MARK-${h}`,
    nodePorts: `SLW-NP-${h}`,
    reject: `SLW-FW-${h}`,
    forward: `SLW-FWD-${h}`,
  };
}

export function servicePortChain(nodeName: string, entry: ServicePortEntry): string {
  return `SLW-S-${nodeHash(nodeName)}-${shortHash(`${entry.id}/${entry.protocol}`)}`;
}

export function endpointChain(nodeName: string, entry: ServicePortEntry, b: Backend): string {
  return `SLW-E-${nodeHash(nodeName)}-${shortHash(`${entry.id}/${entry.protocol}/${b.ip}:${b.port}`)}`;
}

/** Whether `chain` is one of this node's (any kind, any version of the proxy). */
export function isOwnedChain(chain: string, nodeName: string): boolean {
  return new RegExp(`^SLW-[A-Z]+-${nodeHash(nodeName)}(-[0-9A-F]+)?$`).test(chain);
}

/** The comment on the jumps from the built-in chains. */
export function jumpComment(nodeName: string): string {
  return `slipway services of node ${nodeName}`;
}

/** One jump from a built-in chain into an owned one. */
export interface JumpRule {
  table: 'nat' | 'filter';
  chain: string;
  target: string;
  /** The rule's arguments, without `-A CHAIN`. */
  spec: string;
}

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '')}"`;
}

export function jumpRules(nodeName: string): JumpRule[] {
  const c = nodeChains(nodeName);
  const comment = `-m comment --comment ${quote(jumpComment(nodeName))}`;
  const newOnly = '-m conntrack --ctstate NEW';
  return [
    { table: 'nat', chain: 'PREROUTING', target: c.services, spec: `${comment} -j ${c.services}` },
    { table: 'nat', chain: 'OUTPUT', target: c.services, spec: `${comment} -j ${c.services}` },
    {
      table: 'nat',
      chain: 'POSTROUTING',
      target: c.postrouting,
      spec: `${comment} -j ${c.postrouting}`,
    },
    {
      table: 'filter',
      chain: 'FORWARD',
      target: c.reject,
      spec: `${newOnly} ${comment} -j ${c.reject}`,
    },
    {
      table: 'filter',
      chain: 'OUTPUT',
      target: c.reject,
      spec: `${newOnly} ${comment} -j ${c.reject}`,
    },
    {
      table: 'filter',
      chain: 'FORWARD',
      target: c.forward,
      spec: `${newOnly} ${comment} -j ${c.forward}`,
    },
  ];
}

/** What `iptables-save` shows of the tables the proxy writes. */
export interface SavedTables {
  /** Chains per table. */
  chains: Map<string, Set<string>>;
  /** Rules per table, as saved (`-A CHAIN ...`). */
  rules: Map<string, string[]>;
}

export function parseSave(text: string): SavedTables {
  const chains = new Map<string, Set<string>>();
  const rules = new Map<string, string[]>();
  let table: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      table = line.slice(1);
      if (!chains.has(table)) chains.set(table, new Set());
      if (!rules.has(table)) rules.set(table, []);
    } else if (!table || line === '' || line.startsWith('#') || line === 'COMMIT') {
      continue;
    } else if (line.startsWith(':')) {
      const name = line.slice(1).split(/\s+/)[0];
      if (name) chains.get(table)!.add(name);
    } else if (line.startsWith('-A ')) {
      rules.get(table)!.push(line);
    }
  }
  return { chains, rules };
}

/**
 * The backends this node's saved rules send a service port to (`id` and `protocol` as in
 * ServicePortEntry): what an earlier run of the proxy programmed.
 */
export function programmedBackends(
  saved: SavedTables,
  nodeName: string,
  id: string,
  protocol: Protocol,
): Backend[] {
  const prefix = `-A SLW-E-${nodeHash(nodeName)}-`;
  const comment = `--comment ${quote(`${id} ${protocol}`)} `;
  const out: Backend[] = [];
  for (const rule of saved.rules.get('nat') ?? []) {
    if (!rule.startsWith(prefix) || !rule.includes(comment)) continue;
    const to = / -j DNAT --to-destination (\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(rule);
    if (to) out.push({ ip: to[1]!, port: Number(to[2]) });
  }
  return out;
}

/** Saved rules of `chain` in `table` that jump to `target`. */
function savedJumps(saved: SavedTables, table: string, chain: string, target: string): string[] {
  return (saved.rules.get(table) ?? []).filter(
    (r) => r.startsWith(`-A ${chain} `) && r.endsWith(` -j ${target}`),
  );
}

/** Saved rules in chains the proxy does not own that jump into one it owns. */
function foreignJumps(
  saved: SavedTables,
  table: string,
  nodeName: string,
): { rule: string; target: string }[] {
  const out: { rule: string; target: string }[] = [];
  for (const rule of saved.rules.get(table) ?? []) {
    const target = / -j (\S+)$/.exec(rule)?.[1];
    const chain = /^-A (\S+) /.exec(rule)?.[1];
    if (target && chain && isOwnedChain(target, nodeName) && !isOwnedChain(chain, nodeName))
      out.push({ rule, target });
  }
  return out;
}

/** Owned chains that exist now, per table. */
function ownedChains(saved: SavedTables, table: string, nodeName: string): string[] {
  return [...(saved.chains.get(table) ?? [])].filter((c) => isOwnedChain(c, nodeName)).sort();
}

/** Jumps to add (missing) and remove (duplicates) so each exists once. */
function jumpFixes(saved: SavedTables, nodeName: string, table: string): string[] {
  const lines: string[] = [];
  for (const jump of jumpRules(nodeName).filter((j) => j.table === table)) {
    const existing = savedJumps(saved, table, jump.chain, jump.target);
    if (existing.length === 0) lines.push(`-I ${jump.chain} 1 ${jump.spec}`);
    for (const extra of existing.slice(1)) lines.push(extra.replace(/^-A /, '-D '));
  }
  return lines;
}

function probability(n: number): string {
  return (1 / n).toFixed(10);
}

function portMatch(entry: ServicePortEntry): string {
  return `-p ${entry.protocol} -m ${entry.protocol} --dport ${entry.port}`;
}

/**
 * The restore input that makes this node's rules exactly `entries`: every owned chain declared
 * (flushed) and written, stale owned chains deleted, missing jumps added.
 */
export function renderSync(options: {
  nodeName: string;
  entries: readonly ServicePortEntry[];
  saved: SavedTables;
}): string {
  const { nodeName, entries, saved } = options;
  const c = nodeChains(nodeName);

  const natChains = [c.services, c.postrouting, c.mark, c.nodePorts];
  const natRules: string[] = [
    `-A ${c.postrouting} -m mark ! --mark ${MASQ_MARK}/${MASQ_MARK} -j RETURN`,
    `-A ${c.postrouting} -j MARK --xor-mark ${MASQ_MARK}`,
    `-A ${c.postrouting} -m comment --comment ${quote('slipway service traffic requiring SNAT')} -j MASQUERADE`,
    `-A ${c.mark} -j MARK --or-mark ${MASQ_MARK}`,
  ];
  const filterRules: string[] = [];
  const nodePortRules: string[] = [];
  for (const entry of entries) {
    const comment = `-m comment --comment ${quote(`${entry.id} ${entry.protocol}`)}`;
    const vip = `-d ${entry.clusterIP}/32 ${portMatch(entry)}`;
    if (entry.backends.length === 0) {
      filterRules.push(
        `-A ${c.reject} -m comment --comment ${quote(`${entry.id} ${entry.protocol} has no endpoints`)} ${vip} -j REJECT --reject-with icmp-port-unreachable`,
      );
      continue;
    }
    const svcChain = servicePortChain(nodeName, entry);
    natChains.push(svcChain);
    natRules.push(`-A ${c.services} ${comment} ${vip} -j ${svcChain}`);
    if (entry.nodePort !== undefined) {
      const np = `-p ${entry.protocol} -m ${entry.protocol} --dport ${entry.nodePort}`;
      nodePortRules.push(
        `-A ${c.nodePorts} ${comment} ${np} -j ${c.mark}`,
        `-A ${c.nodePorts} ${comment} ${np} -j ${svcChain}`,
      );
    }
    const n = entry.backends.length;
    if (entry.affinitySeconds !== undefined) {
      for (const b of entry.backends) {
        const epChain = endpointChain(nodeName, entry, b);
        natRules.push(
          `-A ${svcChain} ${comment} -m recent --name ${epChain} --rcheck --seconds ${entry.affinitySeconds} --reap -j ${epChain}`,
        );
      }
    }
    const remember = (epChain: string): string =>
      entry.affinitySeconds === undefined ? '' : `-m recent --name ${epChain} --set `;
    entry.backends.forEach((b, i) => {
      const epChain = endpointChain(nodeName, entry, b);
      natChains.push(epChain);
      const pick =
        i < n - 1 ? `-m statistic --mode random --probability ${probability(n - i)} ` : '';
      natRules.push(`-A ${svcChain} ${comment} ${pick}-j ${epChain}`);
      natRules.push(`-A ${epChain} ${comment} -s ${b.ip}/32 -j ${c.mark}`);
      natRules.push(
        `-A ${epChain} ${comment} ${remember(epChain)}-p ${entry.protocol} -m ${entry.protocol} -j DNAT --to-destination ${b.ip}:${b.port}`,
      );
    });
  }
  // Last: traffic to a virtual IP has met its rule by now; what is left and addressed to the
  // node itself may be for a nodePort.
  natRules.push(
    `-A ${c.services} -m comment --comment ${quote('slipway service nodeports')} -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j ${c.nodePorts}`,
    ...nodePortRules,
  );
  filterRules.push(
    `-A ${c.forward} -m comment --comment ${quote('slipway service traffic, marked for SNAT')} -m mark --mark ${MASQ_MARK}/${MASQ_MARK} -j ACCEPT`,
  );

  const render = (table: 'nat' | 'filter', wanted: string[], rules: string[]): string[] => {
    const keep = new Set(wanted);
    const stale = ownedChains(saved, table, nodeName).filter((ch) => !keep.has(ch));
    const staleSet = new Set(stale);
    return [
      `*${table}`,
      ...wanted.map((ch) => `:${ch} - [0:0]`),
      ...stale.map((ch) => `:${ch} - [0:0]`),
      ...rules,
      // Jumps from chains the proxy does not own into stale ones would keep them alive.
      ...foreignJumps(saved, table, nodeName)
        .filter((j) => staleSet.has(j.target))
        .map((j) => j.rule.replace(/^-A /, '-D ')),
      ...stale.map((ch) => `-X ${ch}`),
      ...jumpFixes(saved, nodeName, table),
      'COMMIT',
    ];
  };
  return [
    ...render('nat', natChains, natRules),
    ...render('filter', [c.reject, c.forward], filterRules),
    '',
  ].join('\n');
}

/**
 * The restore input that removes everything of this node: its jumps, then its chains.
 * Undefined when there is nothing to remove.
 */
export function renderCleanup(options: {
  nodeName: string;
  saved: SavedTables;
}): string | undefined {
  const { nodeName, saved } = options;
  const lines: string[] = [];
  for (const table of ['nat', 'filter'] as const) {
    const owned = ownedChains(saved, table, nodeName);
    const jumps = foreignJumps(saved, table, nodeName);
    if (owned.length === 0 && jumps.length === 0) continue;
    lines.push(
      `*${table}`,
      ...jumps.map((j) => j.rule.replace(/^-A /, '-D ')),
      ...owned.map((ch) => `:${ch} - [0:0]`),
      ...owned.map((ch) => `-X ${ch}`),
      'COMMIT',
    );
  }
  return lines.length > 0 ? [...lines, ''].join('\n') : undefined;
}

// Service virtual IPs and cluster DNS on a real node: the agent's iptables rules and its DNS
// server, with pods on the real engine. Every run uses a service range of its own
// (10.<100-250>.<0-255>.0/24) so concurrent runs on this host do not share virtual IPs, and sends
// traffic to a virtual IP only once this node's rules for it are in place (without them the
// packets would leave the host). The run's rules are removed at the end. A NodePort is reached
// from the node and from a client "on another host": a network namespace of the run's own, wired
// to the host by a veth pair, removed at the end.
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import dnsPacket, { type DecodedPacket, type RecordType } from 'dns-packet';
import { afterAll, describe, expect, it } from 'vitest';
import { hostIptables } from '../../agent/network/iptables.js';
import { nodeHash, renderSync, parseSave } from '../../agent/network/iptables-rules.js';
import { parseResolvConf } from '../../agent/network/resolv-conf.js';
import { removeServiceRules } from '../../agent/network/service-proxy.js';
import {
  endpointsKind,
  podKind,
  serviceKind,
  type Endpoints,
  type Pod,
  type Service,
} from '../../src/api/index.js';
import { dockerClient, ensureImage } from '../support/docker.js';
import {
  containerStatus,
  createPod,
  eventually,
  isReady,
  podFor,
  sh,
  useClusterWithAgent,
  waitForPod,
  type Cluster,
} from './cluster.js';
import { randomServiceRange } from '../support/service-range.js';

const docker = dockerClient();
let cluster: Cluster;
const { cidr: serviceCidr, prefix } = randomServiceRange();
const dnsIP = `${prefix}.10`;
const otherNode = `other-${process.pid}-${Math.floor(Math.random() * 1e6)}`;

useClusterWithAgent(docker, (c) => (cluster = c), {
  master: { controllers: true, serviceCidr },
});

afterAll(async () => {
  await removeServiceRules(otherNode);
});

const execFileAsync = promisify(execFile);

async function run(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { timeout: 60_000 });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || (err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * A LAN client of the node: a network namespace and a veth pair named after this process, on a
 * /30 of 10.130.252.0/22 (test/support/engine.ts takes its /30s from 10.130.100-249.X).
 */
const outside = {
  netns: `slipway-np${process.pid}`,
  hostIf: `snp${process.pid}h`,
  nsIf: `snp${process.pid}n`,
  hostAddress: '',
};

afterAll(async () => {
  // Deleting the namespace deletes its end of the pair, and so the pair.
  await run('ip', ['link', 'del', outside.hostIf]).catch(() => undefined);
  await run('ip', ['netns', 'del', outside.netns]).catch(() => undefined);
});

/** Creates the namespace, wired to the host; sets `outside.hostAddress`. */
async function createOutside(): Promise<void> {
  const used = [
    ...(await run('ip', ['-4', '-o', 'addr', 'show'])).matchAll(/\b10\.130\.(\d+)\.(\d+)/g),
    ...(await run('ip', ['-4', 'route', 'show'])).matchAll(/\b10\.130\.(\d+)\.(\d+)/g),
  ].map((m) => `${m[1]}.${Math.floor(Number(m[2]) / 4)}`);
  let net: { c: number; d: number } | undefined;
  for (let i = 0; i < 50 && !net; i++) {
    const c = 252 + Math.floor(Math.random() * 4);
    const d = 4 * Math.floor(Math.random() * 64);
    if (!used.includes(`${c}.${d / 4}`)) net = { c, d };
  }
  if (!net) throw new Error('no free /30 in 10.130.252.0/22');
  outside.hostAddress = `10.130.${net.c}.${net.d + 1}`;
  const clientAddress = `10.130.${net.c}.${net.d + 2}`;
  const inNs = (args: string[]): Promise<string> =>
    run('nsenter', [`--net=/var/run/netns/${outside.netns}`, ...args]);
  await run('ip', ['netns', 'add', outside.netns]);
  await run('ip', ['link', 'add', outside.hostIf, 'type', 'veth', 'peer', 'name', outside.nsIf]);
  await run('ip', ['link', 'set', outside.nsIf, 'netns', outside.netns]);
  await run('ip', ['addr', 'add', `${outside.hostAddress}/30`, 'dev', outside.hostIf]);
  await run('ip', ['link', 'set', outside.hostIf, 'up']);
  await inNs(['ip', 'addr', 'add', `${clientAddress}/30`, 'dev', outside.nsIf]);
  await inNs(['ip', 'link', 'set', outside.nsIf, 'up']);
  await inNs(['ip', 'link', 'set', 'lo', 'up']);
}

/** Up to `count` HTTP GETs from the namespace, each on a new connection: the bodies, until the
 * first request that gets nothing ("FAIL ...", the last). */
async function outsideGets(host: string, port: number, count: number): Promise<string[]> {
  const script = `
    const http = require('node:http');
    const get = () => new Promise((resolve) => {
      const req = http.get({ host: ${JSON.stringify(host)}, port: ${port}, path: '/', timeout: 5000, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body.trim()));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => resolve('FAIL ' + (err.code ?? err.message)));
    });
    (async () => {
      for (let i = 0; i < ${count}; i++) {
        const body = await get();
        console.log(body);
        if (body.startsWith('FAIL')) break;
      }
    })();
  `;
  const out = await run('nsenter', [
    `--net=/var/run/netns/${outside.netns}`,
    process.execPath,
    '-e',
    script,
  ]);
  return out.trim().split('\n');
}

/** A port of the upper nodePort range that no rule on this host names and nothing listens on. */
async function freeNodePort(): Promise<number> {
  const rules = await iptablesSave();
  const listening = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A') listening.add(parseInt(fields[1]?.split(':').at(-1) ?? '', 16));
    }
  }
  for (let i = 0; i < 100; i++) {
    const port = 32000 + Math.floor(Math.random() * 768);
    if (!listening.has(port) && !rules.includes(`--dport ${port} `)) return port;
  }
  throw new Error('no free nodePort in 32000-32767');
}

const ns = (): string => cluster.namespace;

async function iptablesSave(): Promise<string> {
  return hostIptables.save(['nat', 'filter']);
}

/** Waits until this node's rules satisfy `ok` (so traffic to the VIPs stays on this host). */
/** This node's saved rules. */
async function myRules(): Promise<string> {
  const hash = nodeHash(cluster.nodeName);
  return (await iptablesSave())
    .split('\n')
    .filter((l) => l.includes(hash))
    .join('\n');
}

async function rulesWhere(ok: (rules: string) => boolean, what: string): Promise<string> {
  return eventually(
    async () => {
      const mine = await myRules();
      return ok(mine) ? mine : undefined;
    },
    20_000,
    what,
  );
}

function webPod(name: string, labels: Record<string, string>): Pod {
  const pod = podFor(cluster, name, {
    containers: [
      sh(
        'web',
        'mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www',
        {
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        },
      ),
    ],
  });
  pod.metadata.labels = labels;
  return pod;
}

function service(name: string, spec: Service['spec']): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns() }, spec };
}

async function containerId(podName: string, container: string): Promise<string> {
  const pod = await waitForPod(
    cluster,
    podName,
    (p) => !!containerStatus(p, container)?.state.running,
    30_000,
  );
  return containerStatus(pod, container)!.containerID!.replace('docker://', '');
}

async function exec(id: string, script: string): Promise<{ exitCode: number; stdout: string }> {
  const r = await cluster.runtime.execInContainer(id, ['sh', '-c', script], { timeoutMs: 40_000 });
  return { exitCode: r.exitCode, stdout: r.stdout };
}

/** `count` HTTP GETs from the Debian client (bash's /dev/tcp, the glibc resolver): the
 * answering pods' names, one per line ("FAIL" for a request that got nothing). */
function clientGets(target: string, count: number): string {
  return [
    'for i in $(seq ' + count + '); do',
    `  out=$(timeout 5 bash -c 'exec 3<>/dev/tcp/${target}/80 && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && tail -n1 <&3')`,
    '  echo "${out:-FAIL}"',
    'done',
  ].join('\n');
}

function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body.trim()));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** A pod answering every UDP datagram on port 5353 with its name (Debian's perl), ready while
 * /tmp/ready exists. */
function udpEchoPod(name: string): Pod {
  const pod = podFor(cluster, name, {
    containers: [
      {
        name: 'echo',
        image: 'slipway/debian:bookworm',
        imagePullPolicy: 'IfNotPresent',
        command: [
          'sh',
          '-c',
          "touch /tmp/ready && exec perl -MIO::Socket::INET -e '" +
            'my $s = IO::Socket::INET->new(LocalPort => 5353, Proto => "udp") or die "bind: $!"; ' +
            "chomp(my $me = `hostname`); while (defined $s->recv(my $m, 512)) { $s->send($me) }'",
        ],
        ports: [{ name: 'echo', containerPort: 5353, protocol: 'UDP' }],
        readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1 },
      },
    ],
  });
  pod.metadata.labels = { app: 'udp-echo' };
  return pod;
}

/**
 * A UDP client on the node that keeps one socket (one source port) and sends a datagram every
 * 100 ms. `nextAnswers(n, from)` resolves with the next `n` answers; with `from`, with the next
 * `n` in a row from `from`, whatever came before (bounded: 20 s).
 */
async function udpClient(
  host: string,
  port: number,
): Promise<{ nextAnswers(n: number, from?: string): Promise<string[]>; close(): void }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, r));
  let waiter: ((answer: string) => void) | undefined;
  socket.on('message', (msg) => waiter?.(msg.toString('utf8').trim()));
  // ICMP errors (no endpoint yet, a gone pod's address) surface as socket errors: keep sending.
  socket.on('error', () => undefined);
  const timer = setInterval(() => socket.send('ping', port, host, () => undefined), 100);
  return {
    nextAnswers(n, from) {
      return new Promise((resolve, reject) => {
        const got: string[] = [];
        const deadline = setTimeout(() => {
          waiter = undefined;
          reject(
            new Error(
              `wanted ${n} answers${from ? ` in a row from ${from}` : ''}; got ${JSON.stringify(got.slice(-10))}`,
            ),
          );
        }, 20_000);
        waiter = (answer) => {
          got.push(answer);
          const run = from ? got.slice(-n) : got;
          if (run.length === n && (!from || run.every((a) => a === from))) {
            clearTimeout(deadline);
            waiter = undefined;
            resolve(run);
          }
        };
      });
    },
    close() {
      clearInterval(timer);
      socket.close();
    },
  };
}

/** A DNS resolver on `host`:53 (UDP) answering every A question with 192.0.2.55. */
async function fakeResolver(host: string): Promise<{ asked: string[]; close(): void }> {
  const asked: string[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const name = q.questions?.[0]?.name ?? '';
    asked.push(name);
    const answer = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.RECURSION_AVAILABLE,
      questions: q.questions,
      answers: [{ type: 'A', name, ttl: 5, class: 'IN', data: '192.0.2.55' }],
    });
    socket.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(53, host, () => resolve());
  });
  return { asked, close: () => socket.close() };
}

let nextId = 1;
/** One DNS question over UDP to `server:53`. */
function dnsQuery(server: string, name: string, type: RecordType = 'A'): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const id = nextId++;
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no DNS answer from ${server} for ${name}`));
    }, 5000);
    socket.on('message', (msg) => {
      const packet = dnsPacket.decode(msg);
      if (packet.id !== id) return;
      clearTimeout(timer);
      socket.close();
      resolve(packet);
    });
    socket.send(
      dnsPacket.encode({
        type: 'query',
        id,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type, name }],
      }),
      53,
      server,
    );
  });
}

function aRecords(p: DecodedPacket): string[] {
  return (p.answers ?? [])
    .filter((a) => a.type === 'A')
    .map((a) => (a as { data: string }).data)
    .sort();
}

function rcode(p: DecodedPacket): string {
  return (p as { rcode?: string }).rcode ?? '';
}

const state = {
  vip: '',
  ipA: '',
  ipB: '',
  client: '',
  webA: '',
};

describe('services and DNS on the node', () => {
  it('serves a ClusterIP from the node, balanced over the ready pods', async () => {
    await ensureImage('debian');
    await createPod(cluster, webPod('web-a', { app: 'web', which: 'a' }));
    await createPod(cluster, webPod('web-b', { app: 'web', which: 'b' }));
    const web = await cluster.admin.create<Service>(
      serviceKind,
      service('web', {
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      }),
      { namespace: ns() },
    );
    state.vip = web.spec.clusterIP!;
    expect(state.vip.startsWith(`${prefix}.`)).toBe(true);
    const a = await waitForPod(cluster, 'web-a', isReady, 30_000, 'web-a Ready');
    const b = await waitForPod(cluster, 'web-b', isReady, 30_000, 'web-b Ready');
    state.ipA = a.status!.podIP!;
    state.ipB = b.status!.podIP!;
    await rulesWhere(
      (r) =>
        r.includes(`-d ${state.vip}/32`) &&
        r.includes(`--to-destination ${state.ipA}:8080`) &&
        r.includes(`--to-destination ${state.ipB}:8080`),
      'rules for both backends',
    );
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await httpGet(state.vip, 80));
    expect([...seen].sort()).toEqual(['web-a', 'web-b']);
  });

  it('refuses connections to a service port without endpoints at once', async () => {
    const idle = await cluster.admin.create<Service>(
      serviceKind,
      service('idle', { selector: { app: 'nothing' }, ports: [{ port: 80 }] }),
      { namespace: ns() },
    );
    const vip = idle.spec.clusterIP!;
    await rulesWhere((r) => r.includes(`-d ${vip}/32`) && r.includes('REJECT'), 'a REJECT rule');
    const err = await httpGet(vip, 80).catch((e: unknown) => e as NodeJS.ErrnoException);
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('gives pods the cluster DNS and resolves service names from them', async () => {
    await createPod(
      cluster,
      podFor(cluster, 'client', {
        containers: [
          {
            name: 'client',
            image: 'slipway/debian:bookworm',
            imagePullPolicy: 'IfNotPresent',
            command: ['sleep', '3600'],
          },
        ],
      }),
    );
    state.client = await containerId('client', 'client');
    const conf = await exec(state.client, 'cat /etc/resolv.conf');
    expect(conf.stdout).toContain(`nameserver ${dnsIP}`);
    expect(conf.stdout).toMatch(
      new RegExp(
        `^search ${ns()}\\.svc\\.cluster\\.local svc\\.cluster\\.local cluster\\.local`,
        'm',
      ),
    );
    expect(conf.stdout).toMatch(/^options ndots:5$/m);

    for (const name of ['web', `web.${ns()}`, `web.${ns()}.svc`, `web.${ns()}.svc.cluster.local`]) {
      const r = await exec(state.client, `getent hosts ${name}`);
      expect(r.stdout.split(/\s+/)[0], name).toBe(state.vip);
    }
    const missing = await exec(state.client, `getent hosts nope.${ns()}.svc.cluster.local`);
    expect(missing.exitCode).toBe(2);
  });

  it('balances pod requests to the names and to the ClusterIP over both backends', async () => {
    for (const target of ['web', `web.${ns()}`, `web.${ns()}.svc.cluster.local`, state.vip]) {
      const r = await exec(state.client, clientGets(target, 20));
      const answers = r.stdout.trim().split('\n');
      expect(answers, target).toHaveLength(20);
      expect(new Set(answers), target).toEqual(new Set(['web-a', 'web-b']));
    }
  });

  it('answers reverse lookups of a ClusterIP with the Service name', async () => {
    const r = await exec(state.client, `getent hosts ${state.vip}`);
    expect(r.stdout.trim().split(/\s+/)).toEqual([state.vip, `web.${ns()}.svc.cluster.local`]);
  });

  it('keeps a client on one backend under ClientIP session affinity', async () => {
    await cluster.admin.create<Service>(
      serviceKind,
      service('sticky', {
        selector: { app: 'web' },
        sessionAffinity: 'ClientIP',
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      }),
      { namespace: ns() },
    );
    const sticky = await cluster.admin.get<Service>(serviceKind, 'sticky', { namespace: ns() });
    await rulesWhere(
      (r) =>
        r.includes(`-d ${sticky.spec.clusterIP}/32`) &&
        (r.match(/--rcheck --seconds 10800 --reap/g) ?? []).length >= 2,
      'affinity rules for sticky',
    );
    const r = await exec(state.client, clientGets(sticky.spec.clusterIP!, 20));
    const answers = r.stdout.trim().split('\n');
    expect(answers).toHaveLength(20);
    expect(['web-a', 'web-b']).toContain(answers[0]);
    expect(answers).toEqual(Array<string>(20).fill(answers[0]!));
  });

  it('lets a pod reach a service that picks itself (hairpin)', async () => {
    await cluster.admin.create<Service>(
      serviceKind,
      service('only-a', {
        selector: { app: 'web', which: 'a' },
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      }),
      { namespace: ns() },
    );
    const only = await cluster.admin.get<Service>(serviceKind, 'only-a', { namespace: ns() });
    await rulesWhere(
      (r) => r.includes(`-d ${only.spec.clusterIP}/32`) && r.includes(`-s ${state.ipA}/32`),
      'rules for only-a',
    );
    state.webA = await containerId('web-a', 'web');
    const r = await exec(
      state.webA,
      `for i in 1 2 3 4 5; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${only.spec.clusterIP} 80 | tail -n1; done`,
    );
    expect(r.stdout.trim().split('\n')).toEqual(['web-a', 'web-a', 'web-a', 'web-a', 'web-a']);
  });

  it('serves a NodePort on the node addresses but loopback, also to a client of another host', async () => {
    const nodePort = await freeNodePort();
    const np = await cluster.admin.create<Service>(
      serviceKind,
      service('web-np', {
        type: 'NodePort',
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: 'http', nodePort }],
      }),
      { namespace: ns() },
    );
    expect(np.spec.ports?.[0]?.nodePort).toBe(nodePort);
    // The pods' hostIP: the node's address on the Docker bridge (its InternalIP).
    const hostIP = (await waitForPod(cluster, 'web-a', (p) => !!p.status?.hostIP)).status!.hostIP!;
    await rulesWhere(
      (r) =>
        r.includes(`-d ${np.spec.clusterIP}/32`) &&
        r.includes(`--dport ${nodePort} -j SLW-MARK-`) &&
        r.includes(`--dport ${nodePort} -j SLW-S-`),
      'rules for the nodePort',
    );

    // From the node itself, to its bridge address.
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await httpGet(hostIP, nodePort));
    expect([...seen].sort()).toEqual(['web-a', 'web-b']);

    // From another host: DNAT in PREROUTING, then forwarded to the bridge past Docker's DROP.
    await createOutside();
    const answers = await outsideGets(outside.hostAddress, nodePort, 20);
    expect(new Set(answers)).toEqual(new Set(['web-a', 'web-b']));
    expect(answers).toHaveLength(20);

    // Not on loopback (no route_localnet): nothing listens there.
    const err = await httpGet('127.0.0.1', nodePort).catch((e: unknown) => e as Error);
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('resolves a headless service to the ready pod IPs', async () => {
    await cluster.admin.create<Service>(
      serviceKind,
      service('web-headless', {
        clusterIP: 'None',
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      }),
      { namespace: ns() },
    );
    const want = [state.ipA, state.ipB].sort();
    const fromNode = await eventually(
      async () => {
        const p = await dnsQuery(dnsIP, `web-headless.${ns()}.svc.cluster.local`);
        return aRecords(p).length === 2 ? p : undefined;
      },
      20_000,
      'both pod IPs in DNS',
    );
    expect(aRecords(fromNode)).toEqual(want);
    expect(fromNode.flag_aa).toBe(true);
    const r = await exec(state.client, 'getent ahostsv4 web-headless | cut -d" " -f1 | sort -u');
    expect(r.stdout.trim().split('\n')).toEqual(want);
  });

  it('answers NXDOMAIN in the zone and forwards other names to the host resolver', async () => {
    const nx = await dnsQuery(dnsIP, `nope.${ns()}.svc.cluster.local`);
    expect(rcode(nx)).toBe('NXDOMAIN');
    const aaaa = await dnsQuery(dnsIP, `web.${ns()}.svc.cluster.local`, 'AAAA');
    expect(rcode(aaaa)).toBe('NOERROR');
    expect(aaaa.answers).toEqual([]);

    // What the host's own resolver says about a name the npm registry is reachable by.
    const upstream = parseResolvConf(await readFile('/etc/resolv.conf', 'utf8')).nameservers[0]!;
    const name = 'registry.npmjs.org';
    const direct = await dnsQuery(upstream, name);
    const forwarded = await dnsQuery(dnsIP, name);
    expect(rcode(forwarded)).toBe(rcode(direct));
    expect(forwarded.flag_aa).toBe(false);
    expect(aRecords(forwarded).length).toBeGreaterThan(0);
    expect(aRecords(forwarded)).toEqual(aRecords(direct));
    const fromPod = await exec(state.client, `getent ahostsv4 ${name} | cut -d" " -f1 | sort -u`);
    expect(fromPod.stdout.trim().split('\n')).toEqual(aRecords(direct));
  });

  it('takes a deleted backend out of rotation', async () => {
    await cluster.admin.delete(podKind, 'web-b', { namespace: ns() });
    await eventually(
      async () => {
        const ep = await cluster.admin.get<Endpoints>(endpointsKind, 'web', { namespace: ns() });
        const ips = (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip));
        return ips.length === 1 && ips[0] === state.ipA ? ips : undefined;
      },
      30_000,
      'web-b out of the endpoints',
    );
    await rulesWhere(
      (r) => r.includes(`${state.ipA}:8080`) && !r.includes(`${state.ipB}:8080`),
      'rules without web-b',
    );
    const r = await exec(state.client, clientGets('web', 10));
    expect(r.stdout.trim().split('\n')).toEqual(Array<string>(10).fill('web-a'));
  });

  it('moves a UDP client that keeps its socket off an endpoint that is no longer ready', async () => {
    await createPod(cluster, udpEchoPod('udp-a'));
    const echo = await cluster.admin.create<Service>(
      serviceKind,
      service('echo', {
        selector: { app: 'udp-echo' },
        ports: [{ name: 'echo', port: 53, protocol: 'UDP', targetPort: 'echo' }],
      }),
      { namespace: ns() },
    );
    const vip = echo.spec.clusterIP!;
    const ipA = (await waitForPod(cluster, 'udp-a', isReady, 30_000, 'udp-a Ready')).status!.podIP!;
    await rulesWhere(
      (r) => r.includes(`-d ${vip}/32 -p udp`) && r.includes(`--to-destination ${ipA}:5353`),
      'UDP rules for udp-a',
    );
    // One socket, so one conntrack flow, for the whole test.
    const client = await udpClient(vip, 53);
    try {
      await client.nextAnswers(3, 'udp-a');
      await createPod(cluster, udpEchoPod('udp-b'));
      const ipB = (await waitForPod(cluster, 'udp-b', isReady, 30_000, 'udp-b Ready')).status!
        .podIP!;
      await rulesWhere(
        (r) =>
          r.includes(`--to-destination ${ipA}:5353`) && r.includes(`--to-destination ${ipB}:5353`),
        'UDP rules for both',
      );
      // The nat rules place a flow once: this client stays with udp-a while the flow lives.
      expect(await client.nextAnswers(5)).toEqual(Array<string>(5).fill('udp-a'));

      // udp-a goes on answering but is no longer ready: out of the endpoints, and its flow
      // deleted with it, so the next datagram is placed anew. (A deleted pod's flows go with
      // its container's network: Docker deletes them itself.)
      const udpA = await containerId('udp-a', 'echo');
      await exec(udpA, 'rm /tmp/ready');
      await rulesWhere(
        (r) => !r.includes(`--to-destination ${ipA}:5353`) && r.includes(`${ipB}:5353`),
        'UDP rules without udp-a',
      );
      await client.nextAnswers(3, 'udp-b');
    } finally {
      client.close();
    }
  });

  it("keeps the cluster DNS's port when the agent restarts, and follows the host's resolver settings", async () => {
    const dnsRule = (rules: string): string | undefined =>
      new RegExp(
        `--comment "openshift-dns/dns-default:dns udp" .*-j DNAT --to-destination ([0-9.]+:\\d+)$`,
        'm',
      ).exec(rules)?.[1];
    const target = dnsRule(await rulesWhere((r) => !!dnsRule(r), 'the cluster DNS rule'))!;

    // The agent again, with resolver settings of the test's own (the host's, for now).
    const dir = await mkdtemp(join(tmpdir(), 'slipway-resolv-'));
    try {
      const resolvConf = join(dir, 'resolv.conf');
      await writeFile(resolvConf, await readFile('/etc/resolv.conf', 'utf8'));
      await cluster.stopAgent();
      await cluster.startAgent({ resolvConf });
      // It listens where the rules still send the cluster DNS: had it taken another port, its
      // first sync would have moved the rule before the name resolved.
      const answer = await eventually(
        async () => {
          const p = await dnsQuery(dnsIP, `web.${ns()}.svc.cluster.local`).catch(() => undefined);
          return p && aRecords(p).length === 1 ? p : undefined;
        },
        20_000,
        'the cluster DNS after the restart',
      );
      expect(aRecords(answer)).toEqual([state.vip]);
      expect(dnsRule(await myRules())).toBe(target);

      // The host's resolver moves: names outside the cluster follow it.
      const upstream = await fakeResolver('127.0.0.77');
      try {
        await writeFile(resolvConf, 'nameserver 127.0.0.77\n');
        const moved = await eventually(
          async () => {
            const p = await dnsQuery(dnsIP, 'probe.example.test').catch(() => undefined);
            return p && aRecords(p).includes('192.0.2.55') ? p : undefined;
          },
          20_000,
          'an answer from the new resolver',
        );
        expect(moved.flag_aa).toBe(false);
        expect(upstream.asked).toContain('probe.example.test');
      } finally {
        upstream.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("removes this node's rules when asked, and no other node's", async () => {
    const otherRules = renderSync({
      nodeName: otherNode,
      entries: [
        {
          id: 'x/other',
          namespace: 'x',
          name: 'other',
          protocol: 'tcp',
          clusterIP: `${prefix}.254`,
          port: 80,
          backends: [],
        },
      ],
      saved: parseSave(await iptablesSave()),
    });
    await hostIptables.restore(otherRules);
    const mine = nodeHash(cluster.nodeName);
    const theirs = nodeHash(otherNode);
    expect(await iptablesSave()).toContain(`SLW-SVC-${mine}`);

    await cluster.agent!.close({ removeServiceRules: true });
    const after = await iptablesSave();
    expect(after).not.toContain(mine);
    expect(after).toContain(`SLW-SVC-${theirs}`);
    expect(after).toContain(`SLW-FW-${theirs}`);
    expect(after).toContain(
      `-A PREROUTING -m comment --comment "slipway services of node ${otherNode}"`,
    );

    expect(await removeServiceRules(otherNode)).toBe(true);
    expect(await iptablesSave()).not.toContain(theirs);
  });
});

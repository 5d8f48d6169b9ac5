/**
 * Router benchmark: the same 1 KiB Node backend measured directly, through nginx (upstream
 * keep-alive) and through the Slipway router, in one run, plus the minimal proxies the router's
 * forwarding library was chosen against (http-proxy, http-proxy-3, node:http with a keep-alive
 * agent, undici). Reports:
 *   - throughput and latency under saturation (wrk, or autocannon where wrk is missing);
 *   - p50/p99 at a fixed moderate rate, and the router's added p99;
 *   - route programming latency: route created through the API -> first 200 through the router.
 *
 *   npm run build && npm run bench:router
 *   DURATION=15 RATE=3000 ROUTES=100 WORKERS=4 npm run bench:router
 *   PHASES=latency npm run bench:router      # only some parts: throughput, latency, programming
 *   ROUTER_NODE_FLAGS=--max-semi-space-size=64 npm run bench:router   # Node flags for the router
 *
 * Everything listens on 127.0.0.1 and stops by itself. nginx (Debian's nginx-light) and wrk are
 * installed with apt-get when missing and the bench runs as root.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const DURATION = Number(process.env.DURATION ?? 8);
const WARMUP = Number(process.env.WARMUP ?? 2);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const RATE = Number(process.env.RATE ?? 2000);
/** Seconds of each fixed-rate slice not counted: connections opening, first requests. */
const SLICE_WARMUP = Number(process.env.SLICE_WARMUP ?? 0.25);
const ROUTES = Number(process.env.ROUTES ?? 50);
/** Which parts to run: throughput, latency, programming (all by default). */
const PHASES = new Set(
  (process.env.PHASES ?? 'throughput,latency,programming').split(',').map((p) => p.trim()),
);
/**
 * The multi-process configuration measured beside the single-process one: by default one
 * process per CPU, what `slipway router` and nginx's `worker_processes auto` both run.
 */
const WORKERS = Number(process.env.WORKERS ?? availableParallelism());
const HOST = 'bench.example.com';
/** Node flags for the router's processes only (ROUTER_NODE_FLAGS="--max-semi-space-size=64"). */
const ROUTER_NODE_FLAGS = (process.env.ROUTER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
const children: ChildProcess[] = [];

// ---------------------------------------------------------------------------------------------
// Processes under test

const BACKEND = `
import { createServer } from 'node:http';
const body = Buffer.alloc(1024, 'x');
createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
}).listen(Number(process.argv[1]), '127.0.0.1');
`;

/** Minimal proxies for the library choice: each the fastest sensible use of its library. */
const CANDIDATE = `
import http from 'node:http';
const [kind, port, up] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const target = 'http://127.0.0.1:' + up;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
let handler;
if (kind === 'http-proxy' || kind === 'http-proxy-3') {
  const mod = await import(kind);
  const create = mod.createProxyServer ?? mod.default.createProxyServer;
  const proxy = create({ agent, xfwd: true });
  proxy.on('error', (_e, _req, res) => { try { res.writeHead(502); } catch {} res.end(); });
  handler = (req, res) => proxy.web(req, res, { target });
} else if (kind === 'node-http') {
  handler = (req, res) => {
    const headers = { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress };
    const up = http.request({ host: '127.0.0.1', port: Number(process.argv[3]), method: req.method,
      path: req.url, headers, agent }, (r) => { res.writeHead(r.statusCode, r.rawHeaders); r.pipe(res); });
    up.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end(); });
    req.pipe(up);
  };
} else {
  const { Pool } = await import('undici');
  const pool = new Pool(target, { connections: 256, pipelining: 1 });
  handler = (req, res) => {
    const headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const k = req.rawHeaders[i].toLowerCase();
      if (k !== 'connection' && k !== 'keep-alive') headers.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
    }
    headers.push('x-forwarded-for', req.socket.remoteAddress);
    pool.dispatch({ path: req.url, method: req.method, headers, body: null }, {
      onRequestStart() {},
      onResponseStart(c, status) {
        const raw = c.rawHeaders, out = [];
        for (let i = 0; i < raw.length; i += 2) {
          const k = raw[i].toString('latin1');
          if (k.toLowerCase() !== 'connection' && k.toLowerCase() !== 'keep-alive') out.push(k, raw[i + 1].toString('latin1'));
        }
        res.writeHead(status, out);
      },
      onResponseData(c, chunk) { if (!res.write(chunk)) { c.pause(); res.once('drain', () => c.resume()); } },
      onResponseEnd() { res.end(); },
      onResponseError() { if (!res.headersSent) res.writeHead(502); res.end(); },
    });
  };
}
http.createServer(handler).listen(port, '127.0.0.1');
`;

/**
 * Fixed-rate load: CONNS keep-alive connections, each sending at RATE/CONNS per second on a
 * schedule. A request held back by the previous answer counts from its scheduled time (no
 * coordinated omission); one this process's own timer sent late counts from when it was sent,
 * since Node's millisecond timers would otherwise add their lateness to every target. Requests
 * in the first WARMUP seconds (connections opening, first requests) are not counted. Prints JSON.
 */
const FIXED_RATE = `
import { connect } from 'node:net';
const [port, host, rate, seconds, conns, warmup] = [Number(process.argv[1]), process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6])];
const req = Buffer.from('GET / HTTP/1.1\\r\\nHost: ' + host + '\\r\\n\\r\\n');
const interval = (1000 * conns) / rate;
const samples = [];
let errors = 0;
const from = performance.now() + warmup * 1000;
const end = from + seconds * 1000;
await Promise.all(Array.from({ length: conns }, (_, c) => new Promise((resolve) => {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let buf = Buffer.alloc(0);
  let next = performance.now() + (interval * c) / conns;
  let sentAt = 0;
  let waiting = false;
  let answeredAt = 0;
  const send = () => {
    const now = performance.now();
    if (now >= end) { socket.end(); return resolve(); }
    const delay = next - now;
    if (delay > 0) return void setTimeout(send, delay);
    // Held back by the previous answer: the wait is the server's, counted from the schedule.
    // Sent late by this process's own timer: that lateness is ours, counted from the send.
    sentAt = answeredAt > next ? next : now;
    next += interval;
    waiting = true;
    socket.write(req);
  };
  socket.on('connect', send);
  socket.on('error', () => { errors++; resolve(); });
  socket.on('data', (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      const head = buf.indexOf('\\r\\n\\r\\n');
      if (head < 0) return;
      const m = /content-length: *(\\d+)/i.exec(buf.subarray(0, head).toString('latin1'));
      const total = head + 4 + (m ? Number(m[1]) : 0);
      if (buf.length < total) return;
      if (!buf.subarray(0, 12).toString().startsWith('HTTP/1.1 200')) errors++;
      buf = buf.subarray(total);
      if (waiting) { answeredAt = performance.now(); if (sentAt >= from) samples.push(answeredAt - sentAt); waiting = false; send(); }
    }
  });
})));
console.log(JSON.stringify({ errors, samples: samples.map((s) => Math.round(s * 1000) / 1000) }));
`;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function start(
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...options.env },
  });
  children.push(child);
  return child;
}

/** Waits until GET / with `host` answers 200 (bounded). */
async function until200(port: number, host = HOST, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await get(port, host).catch(() => 0)) === 200) return;
    await sleep(50);
  }
  throw new Error(`127.0.0.1:${port} never answered 200 for ${host}`);
}

function get(port: number, host: string, agent: Agent | false = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Tools

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

async function ensureTools(): Promise<{ wrk: boolean }> {
  const missing = [have('nginx') ? '' : 'nginx-light', have('wrk') ? '' : 'wrk'].filter(Boolean);
  if (missing.length > 0 && process.getuid?.() === 0) {
    process.stderr.write(`installing ${missing.join(' ')} with apt-get...\n`);
    await run('apt-get', ['install', '-y', '-qq', ...missing], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).catch(async () => {
      await run('apt-get', ['update', '-qq']);
      await run('apt-get', ['install', '-y', '-qq', ...missing], {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    });
  }
  if (!have('nginx')) throw new Error('nginx is missing: apt-get install nginx-light');
  return { wrk: have('wrk') };
}

interface Saturation {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time the proxy's processes spent per request (µs): robust to a busy machine. */
  cpuUs?: number;
  requests?: number;
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim()) || 100;

/** User + system CPU time (ms) of a process and all its descendants. */
async function cpuMs(pid: number): Promise<number> {
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    try {
      const fields = (await readFile(`/proc/${p}/stat`, 'utf8')).split(') ')[1]!.split(' ');
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
      const children = await readFile(`/proc/${p}/task/${p}/children`, 'utf8');
      for (const c of children.split(' ')) if (c.trim()) stack.push(Number(c));
    } catch {
      // gone
    }
  }
  return total;
}

function ms(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

async function saturate(port: number, seconds: number, useWrk: boolean): Promise<Saturation> {
  const url = `http://127.0.0.1:${port}/`;
  if (useWrk) {
    const { stdout } = await run(
      'wrk',
      ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-H', `Host: ${HOST}`, url],
      { timeout: (seconds + 30) * 1000 },
    );
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
    const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
    const p50 = ms(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? '');
    const p99 = ms(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? '');
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
    const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
      stdout,
    );
    const errors = non2xx + (sock ? sock.slice(1).reduce((n, v) => n + Number(v), 0) : 0);
    return { rps, p50, p99, errors, requests };
  }
  const { stdout } = await run(
    NODE,
    [
      join(ROOT, 'node_modules', 'autocannon', 'autocannon.js'),
      '--json',
      '-c',
      String(CONNECTIONS),
      '-d',
      String(seconds),
      '-H',
      `host=${HOST}`,
      url,
    ],
    { timeout: (seconds + 30) * 1000, maxBuffer: 64 * 1024 * 1024 },
  );
  const j = JSON.parse(stdout) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
  };
  return {
    rps: j.requests.average,
    p50: j.latency.p50,
    p99: j.latency.p99,
    errors: j.non2xx + j.errors,
  };
}

interface Fixed {
  count: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  /** The median over the slices of each slice's p99: a few disturbed seconds do not move it. */
  sliceP99: number;
}

/** One fixed-rate slice against a port: latencies (ms) from the scheduled send times. */
async function fixedRateSlice(
  port: number,
  seconds: number,
): Promise<{ errors: number; samples: number[] }> {
  const { stdout } = await run(
    NODE,
    [
      '--input-type=module',
      '-e',
      FIXED_RATE,
      String(port),
      HOST,
      String(RATE),
      String(seconds),
      '20',
      String(SLICE_WARMUP),
    ],
    { cwd: ROOT, timeout: (seconds + 30) * 1000, maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as { errors: number; samples: number[] };
}

/**
 * Fixed-rate latency of several targets, measured in interleaved one-second slices so that
 * whatever else the machine does falls on all of them alike.
 */
async function fixedRate(
  targets: readonly (readonly [string, number])[],
  seconds: number,
): Promise<Record<string, Fixed>> {
  const samples: Record<string, number[]> = {};
  const sliceP99s: Record<string, number[]> = {};
  const errors: Record<string, number> = {};
  for (let round = 0; round < seconds; round++) {
    for (const [name, port] of targets) {
      const slice = await fixedRateSlice(port, 1);
      (samples[name] ??= []).push(...slice.samples);
      (sliceP99s[name] ??= []).push(
        pct(
          [...slice.samples].sort((a, b) => a - b),
          99,
        ),
      );
      errors[name] = (errors[name] ?? 0) + slice.errors;
    }
  }
  const out: Record<string, Fixed> = {};
  for (const [name] of targets) {
    const sorted = samples[name]!.sort((a, b) => a - b);
    out[name] = {
      count: sorted.length,
      errors: errors[name]!,
      p50: pct(sorted, 50),
      p99: pct(sorted, 99),
      max: sorted.at(-1)!,
      sliceP99: pct(
        sliceP99s[name]!.sort((a, b) => a - b),
        50,
      ),
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The master and the router

interface Master {
  url: string;
  token: string;
  dataDir: string;
}

async function startMaster(): Promise<Master> {
  const dataDir = await mkdtemp(join(tmpdir(), 'slipway-bench-router-'));
  const child = start(NODE, [
    join(ROOT, 'bin', 'slipway.js'),
    'server',
    '--no-agent',
    '--no-router',
    '--data-dir',
    dataDir,
    '--listen',
    '127.0.0.1:0',
    '--log-level',
    'warn',
  ]);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    try {
      const ep = JSON.parse(await readFile(join(dataDir, 'endpoint.json'), 'utf8')) as {
        url: string;
      };
      const tokens = JSON.parse(await readFile(join(dataDir, 'tokens.json'), 'utf8')) as {
        tokens: { user: string; token: string }[];
      };
      const token = tokens.tokens.find((t) => t.user === 'admin')?.token;
      if (token && (await fetch(`${ep.url}/healthz`)).ok) return { url: ep.url, token, dataDir };
    } catch {
      // not ready yet
    }
    await sleep(100);
  }
  throw new Error('the server did not become ready');
}

async function api(m: Master, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${m.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${m.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}

function route(name: string, host: string): unknown {
  return {
    apiVersion: 'route.openshift.io/v1',
    kind: 'Route',
    metadata: { name },
    spec: { host, to: { kind: 'Service', name: 'web' } },
  };
}

async function programming(m: Master, routerPort: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  for (let i = 0; i < ROUTES; i++) {
    const host = `r${i}.${HOST}`;
    const started = performance.now();
    await api(
      m,
      'POST',
      '/apis/route.openshift.io/v1/namespaces/bench/routes',
      route(`r${i}`, host),
    );
    const deadline = started + 10_000;
    while ((await get(routerPort, host, agent)) !== 200) {
      if (performance.now() > deadline) throw new Error(`route ${host} never served`);
    }
    samples.push(performance.now() - started);
  }
  agent.destroy();
  return samples;
}

// ---------------------------------------------------------------------------------------------

function pct(sorted: number[], p: number): number {
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ]!;
}

function f(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

async function main(): Promise<void> {
  const tools = await ensureTools();
  const tmp = await mkdtemp(join(tmpdir(), 'slipway-bench-nginx-'));
  const ports = {
    backend: await freePort(),
    nginx: await freePort(),
    'nginx-n': await freePort(),
    router: await freePort(),
    'router-n': await freePort(),
    'http-proxy': await freePort(),
    'http-proxy-3': await freePort(),
    'node-http': await freePort(),
    undici: await freePort(),
  };
  let master: Master | undefined;
  const pids: Record<string, number> = {};
  try {
    pids.backend = start(NODE, ['--input-type=module', '-e', BACKEND, String(ports.backend)]).pid!;
    for (const [name, workers, port] of [
      ['nginx', 1, ports.nginx],
      ['nginx-n', WORKERS, ports['nginx-n']],
    ] as const) {
      await writeFile(
        join(tmp, `${name}.conf`),
        `worker_processes ${workers};
pid ${tmp}/${name}.pid;
error_log ${tmp}/${name}-error.log;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp}/${name}-body;
  proxy_temp_path ${tmp}/${name}-proxy;
  upstream backend { server 127.0.0.1:${ports.backend}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
}
`,
      );
      pids[name] = start('nginx', ['-c', join(tmp, `${name}.conf`), '-p', tmp]).pid!;
    }
    for (const kind of ['http-proxy', 'http-proxy-3', 'node-http', 'undici'] as const) {
      pids[kind] = start(NODE, [
        '--input-type=module',
        '-e',
        CANDIDATE,
        kind,
        String(ports[kind]),
        String(ports.backend),
      ]).pid!;
    }
    master = await startMaster();
    await api(master, 'POST', '/apis/project.openshift.io/v1/projectrequests', {
      apiVersion: 'project.openshift.io/v1',
      kind: 'ProjectRequest',
      metadata: { name: 'bench' },
    });
    await api(master, 'POST', '/api/v1/namespaces/bench/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      // Selectorless: its Endpoints are the benchmark's own (the backend on loopback).
      spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    await api(master, 'POST', '/api/v1/namespaces/bench/endpoints', {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web' },
      subsets: [
        { addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'http', port: ports.backend }] },
      ],
    });
    await api(
      master,
      'POST',
      '/apis/route.openshift.io/v1/namespaces/bench/routes',
      route('web', HOST),
    );
    for (const [name, port, workers] of [
      ['router', ports.router, 1],
      ['router-n', ports['router-n'], WORKERS],
    ] as const) {
      pids[name] = start(NODE, [
        ...ROUTER_NODE_FLAGS,
        join(ROOT, 'bin', 'slipway.js'),
        'router',
        '--server',
        master.url,
        '--token',
        master.token,
        '--listen',
        `127.0.0.1:${port}`,
        '--stats-listen',
        '127.0.0.1:0',
        '--workers',
        String(workers),
        '--no-require-admission',
        '--allow-loopback-endpoints',
        '--log-level',
        'warn',
      ]).pid!;
    }
    for (const port of Object.values(ports)) await until200(port);

    const targets: [string, number, number][] = [
      ['direct', ports.backend, pids.backend],
      ['nginx', ports.nginx, pids.nginx!],
      ['router', ports.router, pids.router!],
      [`nginx x${WORKERS}`, ports['nginx-n'], pids['nginx-n']!],
      [`router x${WORKERS}`, ports['router-n'], pids['router-n']!],
      ['http-proxy', ports['http-proxy'], pids['http-proxy']!],
      ['http-proxy-3', ports['http-proxy-3'], pids['http-proxy-3']!],
      ['node:http', ports['node-http'], pids['node-http']!],
      ['undici (bare)', ports.undici, pids.undici!],
    ];
    // At a fixed rate: the baselines, both router configurations, and the bare undici
    // forwarder (what any Node.js proxy costs, before routing).
    const LATENCY_TARGETS = ['direct', 'nginx', 'router', `router x${WORKERS}`, 'undici (bare)'];
    const tool = tools.wrk ? `wrk -t2 -c${CONNECTIONS}` : `autocannon -c${CONNECTIONS}`;
    process.stdout.write(
      `Router benchmark: 1 KiB responses, loopback, ${tool}, ${DURATION}s per run (load before: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})\n\n`,
    );
    const sat: Record<string, Saturation> = {};
    if (PHASES.has('throughput')) {
      for (const [name, port, pid] of targets) {
        await saturate(port, WARMUP, tools.wrk);
        const before = await cpuMs(pid);
        const result = await saturate(port, DURATION, tools.wrk);
        const used = (await cpuMs(pid)) - before;
        result.cpuUs = result.requests ? (used * 1000) / result.requests : NaN;
        sat[name] = result;
        process.stdout.write(
          `  ${name.padEnd(14)} ${f(result.rps, 0).padStart(7)} req/s   p50 ${f(result.p50)} ms   p99 ${f(result.p99)} ms   CPU ${f(result.cpuUs, 1).padStart(6)} µs/req   errors ${result.errors}\n`,
        );
      }
    }
    let fixed: Record<string, Fixed> | undefined;
    if (PHASES.has('latency')) {
      process.stdout.write(
        `\nFixed rate ${RATE} req/s, 20 keep-alive connections, ${DURATION} interleaved 1 s slices each (after ${SLICE_WARMUP} s not counted):\n`,
      );
      const measured = targets.filter(([name]) => LATENCY_TARGETS.includes(name));
      fixed = await fixedRate(
        measured.map(([name, port]) => [name, port] as const),
        DURATION,
      );
      for (const [name] of measured) {
        const r = fixed[name]!;
        process.stdout.write(
          `  ${name.padEnd(14)} p50 ${f(r.p50, 3)} ms   p99 ${f(r.p99, 3)} ms   median slice p99 ${f(r.sliceP99, 3)} ms   max ${f(r.max, 1)} ms   (${r.count} requests, ${r.errors} errors)\n`,
        );
      }
    }
    let prog: number[] | undefined;
    if (PHASES.has('programming')) {
      prog = (await programming(master, ports.router)).sort((a, b) => a - b);
      process.stdout.write(
        `\nRoute programming (${ROUTES} routes, POST -> first 200 through the router): p50 ${f(pct(prog, 50), 1)} ms, p99 ${f(pct(prog, 99), 1)} ms, max ${f(prog.at(-1)!, 1)} ms\n`,
      );
    }

    const check = (ok: boolean): string => (ok ? 'ok' : 'MISSED');
    const lines: string[] = [];
    if (sat.router) {
      const ratio = sat.router.rps / sat.nginx!.rps;
      const ratioN = sat[`router x${WORKERS}`]!.rps / sat[`nginx x${WORKERS}`]!.rps;
      const ratioMixed = sat[`router x${WORKERS}`]!.rps / sat.nginx!.rps;
      lines.push(
        `throughput router/nginx, ${WORKERS} processes each      ${f(ratioN)}x  (target >= 0.5x)  ${check(ratioN >= 0.5)}  (both defaults: one per CPU)`,
        `throughput router/nginx, 1 process each        ${f(ratio)}x`,
        `throughput router x${WORKERS} / nginx x1              ${f(ratioMixed)}x`,
        `throughput router/direct                      ${f(sat.router.rps / sat.direct!.rps)}x`,
        `throughput router/http-proxy                  ${f(sat.router.rps / sat['http-proxy']!.rps)}x`,
        `CPU per request router/nginx                  ${f(sat.router.cpuUs! / sat.nginx!.cpuUs!)}x (${f(sat.router.cpuUs!, 1)} vs ${f(sat.nginx!.cpuUs!, 1)} µs)`,
        `CPU per request router/bare undici            ${f(sat.router.cpuUs! / sat['undici (bare)']!.cpuUs!)}x`,
      );
    }
    if (fixed) {
      const at = fixed;
      const addedBy = (name: string): number => at[name]!.sliceP99 - at.direct!.sliceP99;
      const added = addedBy('router');
      const addedN = addedBy(`router x${WORKERS}`);
      lines.push(
        `added p99 at ${RATE} req/s (median slice)       ${f(added, 3)} ms (nginx adds ${f(addedBy('nginx'), 3)} ms)  (target < 1 ms)  ${check(added < 1)}`,
        `added p99, router x${WORKERS}                        ${f(addedN, 3)} ms  (target < 1 ms)  ${check(addedN < 1)}`,
        `added p99, bare undici forwarder              ${f(addedBy('undici (bare)'), 3)} ms`,
        `added p50 at ${RATE} req/s                      ${f(fixed.router!.p50 - fixed.direct!.p50, 3)} ms (nginx adds ${f(fixed.nginx!.p50 - fixed.direct!.p50, 3)} ms)`,
      );
    }
    if (prog) {
      const progP99 = pct(prog, 99);
      lines.push(
        `route programming p99                         ${f(progP99, 1)} ms  (target < 100 ms)  ${check(progP99 < 100)}`,
      );
    }
    lines.push(
      `load after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    process.stdout.write(`\nSummary\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await sleep(300);
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await rm(tmp, { recursive: true, force: true });
    if (master) await rm(master.dataDir, { recursive: true, force: true });
  }
}

await main();

// `slipway expose` and `slipway create route` with the built CLI against a real master: services
// become routes (secured ones too), pods and workloads become services, as `oc` makes them.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  isApiError,
  routeKind,
  serviceKind,
  type Route,
  type Service,
} from '../../src/api/index.js';
import { ApiClient } from '../../src/client/index.js';
import { selfSigned } from '../support/pki.js';
import { startCliTestMaster, type CliTestMaster } from './support/master.js';
import { cliSession } from './support/session.js';
import { assertBuilt } from './support/slipway.js';

let master: CliTestMaster;
let admin: ApiClient;
let ns: string;

const cli = cliSession({ name: 'expose-test', oneLineErrors: true, quietFailures: true });
const { ok, fails } = cli;

async function apply(yaml: string): Promise<void> {
  const file = join(cli.dir, `objects-${Date.now()}.yaml`);
  await writeFile(file, yaml);
  await ok(['create', '-f', file]);
}

const WEB_SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {app: web, tier: frontend}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
`;

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: hello-1
  labels: {app: hello}
spec:
  containers:
  - name: app
    image: registry.local/hello:1
    ports:
    - containerPort: 8080
`;

const DC = `apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata:
  name: frontend
  labels: {app: frontend}
spec:
  replicas: 1
  selector: {deploymentconfig: frontend}
  template:
    metadata:
      labels: {deploymentconfig: frontend, app: frontend}
    spec:
      containers:
      - name: web
        image: registry.local/frontend:1
        ports:
        - {containerPort: 8080, protocol: TCP}
        - {containerPort: 8443, protocol: TCP}
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 1
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: registry.local/api:1
        ports:
        - containerPort: 9000
`;

beforeAll(async () => {
  assertBuilt();
  master = await startCliTestMaster();
  admin = new ApiClient({ server: master.url, token: master.adminToken });
});

afterAll(async () => {
  await master?.close();
});

let project = 0;
beforeEach(async () => {
  await cli.open();
  project += 1;
  ns = `expose-${project}`;
  await cli.login(master.url, master.adminToken, ns);
});

afterEach(async () => {
  await cli.close();
});

describe('slipway expose svc', () => {
  it("creates a route to the service's first port, with its labels", async () => {
    await apply(WEB_SERVICE);
    expect(await ok(['expose', 'svc/web'])).toBe('route.route.openshift.io/web exposed\n');
    const route = await admin.get<Route>(routeKind, 'web', { namespace: ns });
    expect(route.metadata.labels).toEqual({ app: 'web', tier: 'frontend' });
    expect(route.spec).toMatchObject({
      host: `web-${ns}.apps.localhost`,
      to: { kind: 'Service', name: 'web', weight: 100 },
      port: { targetPort: 'http' },
    });
    expect(await ok(['get', 'routes'])).toMatch(
      new RegExp(`^web\\s+web-${ns}\\.apps\\.localhost\\s+web\\s+http\\s+None$`, 'm'),
    );
  });

  it('takes --name, --hostname, --path, --port and -l, and --dry-run creates nothing', async () => {
    await apply(WEB_SERVICE.replace('{name: http, port: 80, targetPort: 8080}', '{port: 80}'));
    expect(await ok(['expose', 'service', 'web'])).toBe('route.route.openshift.io/web exposed\n');
    // An unnamed port: the route names its target port by number.
    const plain = await admin.get<Route>(routeKind, 'web', { namespace: ns });
    expect(plain.spec.port).toEqual({ targetPort: 80 });

    expect(
      await ok([
        'expose',
        'svc/web',
        '--name',
        'api',
        '--hostname',
        'api.example.com',
        '--path',
        '/v1',
        '--port',
        '80',
        '-l',
        'team=shop',
      ]),
    ).toBe('route.route.openshift.io/api exposed\n');
    const api = await admin.get<Route>(routeKind, 'api', { namespace: ns });
    expect(api.metadata.labels).toEqual({ team: 'shop' });
    expect(api.spec).toMatchObject({
      host: 'api.example.com',
      path: '/v1',
      to: { name: 'web' },
      port: { targetPort: 80 },
    });

    const yaml = parse(
      await ok(['expose', 'svc/web', '--name', 'preview', '--dry-run', '-o', 'yaml']),
    ) as Route;
    expect(yaml).toMatchObject({
      apiVersion: 'route.openshift.io/v1',
      kind: 'Route',
      metadata: { name: 'preview', namespace: ns },
      spec: { to: { kind: 'Service', name: 'web' } },
    });
    expect(await ok(['expose', 'svc/web', '--name', 'preview', '--dry-run=client'])).toBe(
      'route.route.openshift.io/preview exposed (dry run)\n',
    );
    await expect(admin.get(routeKind, 'preview', { namespace: ns })).rejects.toSatisfy((err) =>
      isApiError(err, 'NotFound'),
    );
  });

  it('refuses a taken name, a service without ports and what cannot be exposed', async () => {
    await apply(WEB_SERVICE);
    await ok(['expose', 'svc/web']);
    expect(await fails(['expose', 'svc/web'])).toBe(
      'Error from server (AlreadyExists): routes.route.openshift.io "web" already exists; choose another name with --name',
    );
    await apply(
      'apiVersion: v1\nkind: Service\nmetadata: {name: headless}\nspec: {clusterIP: None, selector: {app: x}}\n',
    );
    expect(await fails(['expose', 'svc/headless'])).toBe(
      'error: service "headless" has no TCP port to route to; add a port to the service first',
    );
    expect(await fails(['expose', 'svc/missing'])).toBe(
      'Error from server (NotFound): services "missing" not found',
    );
    await apply('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n');
    expect(await fails(['expose', 'cm/settings'])).toBe('error: cannot expose a ConfigMap');
    expect(await fails(['expose', 'svc/web', '--target-port', '8080'])).toBe(
      'error: --target-port applies to exposing a workload as a service, not to routes',
    );
    expect(await fails(['expose', 'svc/web', 'svc/other'])).toBe(
      'error: multiple resources provided: svc/web svc/other',
    );
  });
});

describe('slipway expose pod, dc and deployment', () => {
  it('creates services that select the pods, on their container ports', async () => {
    await apply(POD);
    expect(await ok(['expose', 'pod/hello-1'])).toBe('service/hello-1 exposed\n');
    const pod = await admin.get<Service>(serviceKind, 'hello-1', { namespace: ns });
    expect(pod.metadata.labels).toEqual({ app: 'hello' });
    expect(pod.spec.selector).toEqual({ app: 'hello' });
    expect(pod.spec.ports).toEqual([{ protocol: 'TCP', port: 8080, targetPort: 8080 }]);
    expect(pod.spec.clusterIP).toMatch(/^172\.30\.\d+\.\d+$/);

    await apply(DC);
    expect(await ok(['expose', 'dc/frontend'])).toBe('service/frontend exposed\n');
    const dc = await admin.get<Service>(serviceKind, 'frontend', { namespace: ns });
    expect(dc.metadata.labels).toEqual({ app: 'frontend' });
    expect(dc.spec.selector).toEqual({ deploymentconfig: 'frontend' });
    expect(dc.spec.ports).toEqual([
      { name: 'port-1', protocol: 'TCP', port: 8080, targetPort: 8080 },
      { name: 'port-2', protocol: 'TCP', port: 8443, targetPort: 8443 },
    ]);
    expect(
      await ok([
        'expose',
        'dc/frontend',
        '--name',
        'frontend-http',
        '--port',
        '80',
        '--target-port',
        '8080',
      ]),
    ).toBe('service/frontend-http exposed\n');
    const http = await admin.get<Service>(serviceKind, 'frontend-http', { namespace: ns });
    expect(http.spec.ports).toEqual([{ protocol: 'TCP', port: 80, targetPort: 8080 }]);

    // --type NodePort: the master gives the port a node port from its range.
    await ok([
      'expose',
      'dc/frontend',
      '--name',
      'frontend-np',
      '--port',
      '80',
      '--type',
      'nodeport',
    ]);
    const np = await admin.get<Service>(serviceKind, 'frontend-np', { namespace: ns });
    expect(np.spec.type).toBe('NodePort');
    expect(np.spec.ports?.[0]?.nodePort).toBeGreaterThanOrEqual(30000);
    expect(np.spec.ports?.[0]?.nodePort).toBeLessThanOrEqual(32767);
    expect(await ok(['get', 'svc', 'frontend-np', '--no-headers'])).toMatch(
      new RegExp(
        `^frontend-np +NodePort +172\\.30\\.\\S+ +<none> +80:${np.spec.ports?.[0]?.nodePort}/TCP `,
      ),
    );
    expect(await fails(['expose', 'dc/frontend', '--name', 'x', '--type', 'External'])).toContain(
      '--type "External": must be ClusterIP, NodePort, LoadBalancer',
    );

    await apply(DEPLOYMENT);
    expect(await ok(['expose', 'deployment', 'api', '-o', 'name'])).toBe('service/api\n');
    const api = await admin.get<Service>(serviceKind, 'api', { namespace: ns });
    expect(api.spec.selector).toEqual({ app: 'api' });
    expect(api.spec.ports).toEqual([{ protocol: 'TCP', port: 9000, targetPort: 9000 }]);

    // And the service on to a route: the first port's name.
    expect(await ok(['expose', 'svc/frontend'])).toBe(
      'route.route.openshift.io/frontend exposed\n',
    );
    const route = await admin.get<Route>(routeKind, 'frontend', { namespace: ns });
    expect(route.spec.port).toEqual({ targetPort: 'port-1' });
  });

  it('refuses a workload without ports or a pod without labels', async () => {
    await apply(POD.replace('    ports:\n    - containerPort: 8080\n', ''));
    expect(await fails(['expose', 'pod/hello-1'])).toBe(
      `error: couldn't find port via --port flag or introspection: pod "hello-1" declares no container ports`,
    );
    expect(await ok(['expose', 'pod/hello-1', '--port', '8080'])).toBe('service/hello-1 exposed\n');
    await apply(POD.replace('hello-1', 'bare').replace('  labels: {app: hello}\n', ''));
    expect(await fails(['expose', 'pod/bare'])).toBe(
      'error: the pod "bare" has no labels and cannot be exposed',
    );
    expect(await fails(['expose', 'pod/hello-1', '--hostname', 'x.example.com'])).toBe(
      'error: --hostname applies to routes: expose the service to make one',
    );
  });
});

describe('slipway create route', () => {
  const pemFiles = async (host: string) => {
    const made = await selfSigned(cli.dir, host);
    return { cert: made.certFile, key: made.keyFile };
  };

  it('creates edge, passthrough and reencrypt routes from PEM files, as oc create route', async () => {
    await apply(WEB_SERVICE);
    const pem = await pemFiles('secure.example.com');
    expect(
      await ok([
        'create',
        'route',
        'edge',
        '--service',
        'web',
        '--hostname',
        'secure.example.com',
        '--cert',
        pem.cert,
        '--key',
        pem.key,
        '--insecure-policy',
        'redirect',
      ]),
    ).toBe('route.route.openshift.io/web created\n');
    const edge = await admin.get<Route>(routeKind, 'web', { namespace: ns });
    expect(edge.metadata.labels).toEqual({ app: 'web', tier: 'frontend' });
    expect(edge.spec).toMatchObject({
      host: 'secure.example.com',
      to: { kind: 'Service', name: 'web' },
      port: { targetPort: 'http' },
      tls: {
        termination: 'edge',
        certificate: await readFile(pem.cert, 'utf8'),
        key: await readFile(pem.key, 'utf8'),
        insecureEdgeTerminationPolicy: 'Redirect',
      },
    });

    await ok(['create', 'route', 'passthrough', 'web-pass', '--service', 'web']);
    const pass = await admin.get<Route>(routeKind, 'web-pass', { namespace: ns });
    expect(pass.spec.tls).toEqual({ termination: 'passthrough' });
    expect(pass.spec.host).toBe(`web-pass-${ns}.apps.localhost`);

    await ok([
      'create',
      'route',
      'reencrypt',
      'web-re',
      '--service',
      'web',
      '--dest-ca-cert',
      pem.cert,
      '--port',
      '80',
    ]);
    const re = await admin.get<Route>(routeKind, 'web-re', { namespace: ns });
    expect(re.spec.tls).toEqual({
      termination: 'reencrypt',
      destinationCACertificate: await readFile(pem.cert, 'utf8'),
    });
    expect(re.spec.port).toEqual({ targetPort: 80 });
  });

  it('refuses what cannot be, naming the flag or field, and creates nothing', async () => {
    await apply(WEB_SERVICE);
    const pem = await pemFiles('x.example.com');
    // Passthrough takes no certificates: the flag does not exist.
    const passCert = await cli.run([
      'create',
      'route',
      'passthrough',
      '--service',
      'web',
      '--cert',
      pem.cert,
    ]);
    expect(passCert.code).not.toBe(0);
    expect(passCert.stderr).toMatch(/^error: unknown option '--cert'\n/);
    expect(
      await fails([
        'create',
        'route',
        'edge',
        '--service',
        'web',
        '--cert',
        join(cli.dir, 'nope.crt'),
      ]),
    ).toBe(`error: --cert ${join(cli.dir, 'nope.crt')}: ENOENT`);
    expect(
      await fails([
        'create',
        'route',
        'edge',
        '--service',
        'web',
        '--insecure-policy',
        'Sometimes',
      ]),
    ).toBe('error: --insecure-policy "Sometimes": must be None, Allow or Redirect');
    // A key that is not the certificate's: the server says which field, without the PEM.
    const other = await pemFiles('y.example.com');
    const mismatch = await fails([
      'create',
      'route',
      'edge',
      '--service',
      'web',
      '--cert',
      pem.cert,
      '--key',
      other.key,
    ]);
    expect(mismatch).toBe(
      'Error from server (Invalid): Route "web" is invalid: spec.tls.key: Invalid value: "redacted key data": the key does not match the certificate',
    );
    expect(await fails(['create', 'route', 'edge', '--service', 'missing'])).toBe(
      'Error from server (NotFound): services "missing" not found',
    );
    expect(await fails(['create', 'route', 'edge'])).toBe(
      "error: required option '--service <name>' not specified",
    );
    expect((await cli.run(['get', 'routes'])).stderr).toBe(
      `No resources found in ${ns} namespace.\n`,
    );
  });
});

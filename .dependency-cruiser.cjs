// Architecture boundaries, checked by `npm run lint`:
//   depcruise --config .dependency-cruiser.cjs src master agent router cmd
//
//   src/      shared core: imports none of master/, agent/, router/, cmd/
//   master/, agent/, router/: import src/ only, never each other, never cmd/
//   cmd/      the composition root: may import everything, is imported by nothing
//   dockerode only under agent/docker/; the router's upstream client (undici, or http-proxy)
//   only in router/proxy/upstream.ts
//   no cycles, no imports that do not resolve, no devDependencies in shipped code
/** @type {import('dependency-cruiser').IConfiguration} */

const COMPONENTS = ['master', 'agent', 'router'];
// Shipped code: everything under the source roots except unit tests and their helpers.
const TEST_FILE = '(\\.test\\.ts$|(^|/)testing/)';

module.exports = {
  forbidden: [
    {
      name: 'core-is-standalone',
      comment:
        'src/ is the shared core; it must not depend on a component or the composition root.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(master|agent|router|cmd)/' },
    },
    ...COMPONENTS.map((component) => ({
      name: `${component}-stays-in-its-lane`,
      comment:
        `${component}/ talks to the other components only through the HTTP API; ` +
        'it may import src/ but not another component or cmd/.',
      severity: 'error',
      from: { path: `^${component}/` },
      to: {
        path: `^(${COMPONENTS.filter((c) => c !== component).join('|')}|cmd)/`,
      },
    })),
    {
      name: 'dockerode-only-in-agent-docker',
      comment: 'Only agent/docker/ talks to the Docker engine (and maps its errors).',
      severity: 'error',
      from: { pathNot: '^agent/docker/' },
      to: { path: '(^|/)node_modules/(@types/)?(dockerode|docker-modem)/' },
    },
    {
      name: 'upstream-client-only-in-router-upstream',
      comment:
        'Only router/proxy/upstream.ts talks to backends (undici; http-proxy if it ever came back). The benchmark may import them to compare.',
      severity: 'error',
      from: { path: '^(src|master|agent|router|cmd)/', pathNot: '^router/proxy/upstream\\.ts$' },
      to: { path: '(^|/)node_modules/(@types/)?(http-proxy|http-proxy-3|undici)/' },
    },
    {
      name: 'no-circular',
      comment: 'Circular dependency: split the module or invert the dependency.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'This import does not resolve to a file or an installed package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-non-package-json',
      comment:
        'Imports a package that is not in package.json (a transitive dependency): ' +
        'add it to dependencies.',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-dev-dep',
      comment:
        'Shipped code must not import devDependencies (they are absent in production ' +
        'installs). Type-only imports are fine; so are unit tests.',
      severity: 'error',
      from: { path: '^(src|master|agent|router|cmd)/', pathNot: TEST_FILE },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-deprecated-core',
      comment: 'Deprecated Node core module.',
      severity: 'error',
      from: {},
      to: {
        dependencyTypes: ['core'],
        path: '^(punycode|domain|constants|sys|_linklist|_stream_wrap)$',
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|coverage|node_modules)/' },
    // See type-only imports too, so boundaries hold for types as well.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};

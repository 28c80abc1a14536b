// The import architecture, checked by dependency-cruiser: `npm run lint:arch`, and in `npm test` by
// test/unit/architecture.test.ts. Dependencies point down, from the entry points to the pure core:
//
//   bin, cli, bench -> api -> workflows, worker -> activities -> dns -> core, infra
//
// A directory may import its own files and any layer below it, never one above it or beside it
// (except bin -> cli, and worker -> workflows, which it registers). core/ imports nothing of ours
// outside core/; test/ may import anything, and only bench/ imports test/ (its harness). There are no
// import cycles, and workflow code (loaded in Temporal's deterministic sandbox) uses no Node-only module.

/** Our top-level source directories but test/ (which has a rule of its own). */
const PRODUCTION = '^(bin|cli|bench|api|workflows|worker|activities|dns|core|infra|examples)/';

/**
 * What each directory may import of ours (besides itself). test/ is free and core/ has a stricter rule
 * of its own (core-is-self-contained): both are left out.
 */
const ALLOWED = {
  infra: ['core'],
  dns: ['core', 'infra'],
  activities: ['dns', 'core', 'infra'],
  workflows: ['activities', 'dns', 'core', 'infra'],
  worker: ['workflows', 'activities', 'dns', 'core', 'infra'],
  api: ['workflows', 'worker', 'activities', 'dns', 'core', 'infra'],
  cli: ['api', 'workflows', 'worker', 'activities', 'dns', 'core', 'infra'],
  bench: ['api', 'workflows', 'worker', 'activities', 'dns', 'core', 'infra'],
  bin: ['cli', 'api', 'workflows', 'worker', 'activities', 'dns', 'core', 'infra'],
  examples: [],
};

/**
 * The Route 53 zone workflow's messages and types: the workflow and its callers (activities) both
 * import it, so it lives at the lower of the two layers and is the one value import workflows/ makes
 * from activities/.
 */
const ROUTE53_CONTRACT = 'activities/dns/route53/contract.ts';

/** Node-only npm packages: none of them loads in the workflow sandbox. */
const NODE_ONLY_PACKAGES = [
  'better-sqlite3',
  'pino',
  '@aws-sdk/',
  '@temporalio/(activity|client|worker|testing)',
  'hono',
  '@hono/',
  'dns-packet',
  'commander',
  'tsx',
  'aws-cdk-lib',
];

const exactly = (path) => `^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
const anyOf = (directories) => (directories.length === 0 ? [] : [`^(${directories.join('|')})/`]);

const layerRules = Object.entries(ALLOWED).map(([directory, below]) => ({
  name: `${directory}-imports-downwards`,
  severity: 'error',
  comment:
    below.length === 0
      ? `${directory}/ imports nothing of ours outside ${directory}/`
      : `${directory}/ may import ${below.map((d) => `${d}/`).join(', ')} (and itself), nothing above or beside it`,
  from: { path: `^${directory}/` },
  to: { path: PRODUCTION, pathNot: [`^${directory}/`, ...anyOf(below)] },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'no import cycles, type-only imports included',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-self-contained',
      severity: 'error',
      comment:
        'core/ is pure and loads in the workflow sandbox: it imports core/ and npm packages only (no relative import leaving core/, no Node built-in)',
      from: { path: '^core/' },
      to: { pathNot: ['^core/', '(^|/)node_modules/'] },
    },
    ...layerRules,
    {
      name: 'workflows-import-layers-below-for-types-only',
      severity: 'error',
      comment:
        'the workflow bundle loads core/ and workflows/ only: imports from activities/, dns/ and infra/ are type-only (erased at build)',
      from: { path: '^workflows/' },
      to: { path: '^(activities|dns|infra)/', pathNot: [exactly(ROUTE53_CONTRACT)], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'route53-contract-loads-in-the-sandbox',
      severity: 'error',
      comment:
        'the Route 53 zone workflow\'s contract is shared by the workflow (bundled) and its clients in activities/: it imports @temporalio/workflow and, of ours, types only',
      from: { path: exactly(ROUTE53_CONTRACT) },
      to: { pathNot: ['(^|/)node_modules/@temporalio/workflow/'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'workflow-sandbox-no-node-builtins',
      severity: 'error',
      comment: 'workflow code and core/ run in Temporal\'s deterministic sandbox: no Node built-in (node:fs, net, crypto...)',
      from: { path: '^(workflows|bench/workflows|core)/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'workflow-sandbox-no-node-only-packages',
      severity: 'error',
      comment: 'workflow code and core/ run in Temporal\'s deterministic sandbox: no Node-only package',
      from: { path: '^(workflows|bench/workflows|core)/' },
      to: { path: `(^|/)node_modules/(${NODE_ONLY_PACKAGES.join('|')})` },
    },
    {
      name: 'production-never-imports-test',
      severity: 'error',
      comment: 'test/ may import anything; of the rest only bench/ (which measures with the test harness: moto, its proxy) imports test/',
      from: { path: PRODUCTION, pathNot: '^bench/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'every import resolves (an unresolved one would escape the rules above)',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // `import type` counts: types from a layer above tie core to it just as much.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: '(^|/)node_modules/' },
    exclude: { path: '^(node_modules|\\.tools|\\.ci|\\.git)/|(^|/)cdk\\.out/' },
    moduleSystems: ['es6', 'cjs'],
    // Resolve packages as Node does (their `exports` subpaths: hono/body-limit, tsx/esm/api).
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};

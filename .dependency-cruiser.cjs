// The import architecture, checked by dependency-cruiser: `npm run lint:arch`, and in `npm test` by
// test/unit/architecture.test.ts. Dependencies point down, from the entry points to the pure core:
//
//   bin, cli, bench -> api -> workflows, worker -> activities -> dns -> core, infra
//
// A directory may import its own files and any layer below it, never one above it or beside it
// (except bin -> cli, and worker -> workflows, which it registers). core/ imports nothing of ours
// outside core/; test/ may import anything and nothing else imports test/. There are no import cycles,
// and workflow code (loaded in Temporal's deterministic sandbox) uses no Node-only module.

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
 * Imports that break a rule today and are being fixed elsewhere: each one file pair, named, with why.
 * Remove an entry as soon as its import is gone.
 */
const TEMPORARY_EXCEPTIONS = [
  {
    // TEMPORARY: the Route 53 zone workflow's messages are being moved out of workflows/ so that
    // the provider (activities) no longer imports upwards. Remove this entry with that move.
    from: 'activities/dns/route53/provider.ts',
    to: 'workflows/route53-messages.ts',
  },
  {
    // TEMPORARY: as above, the zone workflow's input types (a type-only import), part of the same move.
    from: 'activities/dns/route53/provider.ts',
    to: 'workflows/route53-zone.ts',
  },
  {
    // TEMPORARY: the Route 53 bench scenario reuses the tests' moto-backed Route 53 (a server and
    // its proxy); production code must not import test/. To go once that harness lives outside test/.
    from: 'bench/scenarios/route53.ts',
    to: 'test/harness/route53.ts',
  },
  {
    // TEMPORARY: as above.
    from: 'bench/scenarios/route53.ts',
    to: 'test/harness/route53-proxy.ts',
  },
];

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

/**
 * A rule whose `from` covers several files, minus the files a temporary exception names; each such
 * file gets the same rule with its one extra allowed target, so the exception covers that pair only.
 */
function withExceptions(rule) {
  const fromPath = new RegExp(rule.from.path);
  const toPath = new RegExp(rule.to.path);
  const exceptions = TEMPORARY_EXCEPTIONS.filter((e) => fromPath.test(e.from) && toPath.test(e.to));
  if (exceptions.length === 0) return [rule];
  const files = [...new Set(exceptions.map((e) => e.from))];
  const general = { ...rule, from: { ...rule.from, pathNot: [...(rule.from.pathNot ?? []), ...files.map(exactly)] } };
  const perFile = files.map((file) => ({
    ...rule,
    comment: `${rule.comment} (${file}: temporary exception, see TEMPORARY_EXCEPTIONS)`,
    from: { path: exactly(file) },
    to: { ...rule.to, pathNot: [...(rule.to.pathNot ?? []), ...exceptions.filter((e) => e.from === file).map((e) => exactly(e.to))] },
  }));
  return [general, ...perFile];
}

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
    ...layerRules.flatMap(withExceptions),
    {
      name: 'workflows-import-layers-below-for-types-only',
      severity: 'error',
      comment:
        'the workflow bundle loads core/ and workflows/ only: imports from activities/, dns/ and infra/ are type-only (erased at build)',
      from: { path: '^workflows/' },
      to: { path: '^(activities|dns|infra)/', dependencyTypesNot: ['type-only'] },
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
    ...withExceptions({
      name: 'production-never-imports-test',
      severity: 'error',
      comment: 'test/ may import anything, but nothing outside test/ imports test/',
      from: { path: PRODUCTION },
      to: { path: '^test/' },
    }),
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

/**
 * Import rules: the layering of docs/decisions/0006-layering.md, checked by `npm run lint`.
 *
 *   telemetry, drizzle      the bottom: import nothing of the project
 *   collector               agent and simulator: may import telemetry
 *   server                  may import drizzle and telemetry (and, for `npm run demo` only,
 *                           the simulator); inside it only http/, routes/, app.ts and the
 *                           ingest routes import server/http
 *   dashboard               may import drizzle/schema and, type-only, the server modules
 *                           that define the API's shapes
 *   test, bench             may import anything; nothing imports them
 *
 * Each forbidden direction is its own rule, so no two top-level folders import each other.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'telemetry-imports-nothing',
      comment: 'telemetry/ is the shared kernel (parsers, sample types, series key, time parsing); it imports no other project folder.',
      severity: 'error',
      from: { path: '^telemetry/' },
      to: { path: '^(server|collector|dashboard|drizzle|bench|test)/' },
    },
    {
      name: 'drizzle-imports-nothing',
      comment: 'drizzle/ (schema, client, migrations) is the bottom layer; it imports no other project folder.',
      severity: 'error',
      from: { path: '^drizzle/' },
      to: { path: '^(server|collector|dashboard|telemetry|bench|test)/' },
    },
    {
      name: 'collector-not-to-server',
      comment: 'collector/ (agent, simulator) runs outside the server and speaks to it over HTTP only; it may import telemetry/.',
      severity: 'error',
      from: { path: '^collector/' },
      to: { path: '^(server|dashboard|drizzle|bench|test)/' },
    },
    {
      name: 'server-not-to-collector',
      comment: 'server/ does not import the collector programs; the demo (server/demo.ts) alone drives the simulator.',
      severity: 'error',
      from: { path: '^server/', pathNot: '^server/demo\\.ts$' },
      to: { path: '^collector/' },
    },
    {
      name: 'server-not-to-dashboard',
      comment: 'server/ serves the built dashboard from disk; it never imports its sources.',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^dashboard/' },
    },
    {
      name: 'dashboard-server-shapes-only',
      comment: 'dashboard/ may read the API shapes from these server modules (type-only), nothing else of the server.',
      severity: 'error',
      from: { path: '^dashboard/' },
      to: {
        path: '^server/',
        pathNot: '^server/(schemas/resources|routes/fleet|routes/appliance-health|services/tickets/core|live/events)\\.ts$',
      },
    },
    {
      name: 'dashboard-server-type-only',
      comment: 'what the dashboard takes from the server is types: nothing of the server may ship in the bundle.',
      severity: 'error',
      from: { path: '^dashboard/' },
      to: { path: '^server/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'dashboard-drizzle-schema-only',
      comment: 'dashboard/ may take enum values and column types from drizzle/schema, never the client.',
      severity: 'error',
      from: { path: '^dashboard/' },
      to: { path: '^drizzle/', pathNot: '^drizzle/schema/' },
    },
    {
      name: 'dashboard-not-to-collector-or-telemetry',
      severity: 'error',
      from: { path: '^dashboard/' },
      to: { path: '^(collector|telemetry)/' },
    },
    {
      name: 'http-only-from-the-edge',
      comment:
        'server/http (router, middleware, error bodies, scope guard, dashboard mount) is the HTTP edge: only routes, the app and the ingest routes use it. The dependency bag is in server/composition.ts, cursors in server/lib/cursor.ts.',
      severity: 'error',
      from: { path: '^server/', pathNot: '^server/(http/|routes/|app\\.ts$|ingest/routes\\.ts$)' },
      to: { path: '^server/http/' },
    },
    {
      name: 'not-to-test-or-bench',
      comment: 'tests and the benchmark may import anything; product code imports neither.',
      severity: 'error',
      from: { path: '^(server|collector|dashboard|drizzle|telemetry)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'an import that resolves to nothing is a typo or a moved file.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|^dashboard/dist/|^data/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    extraExtensionsToScan: ['.svelte'],
  },
};

import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const require = createRequire(import.meta.url);

/** Tests of the PostgreSQL engine itself: they need a server, so they run in the `postgres` project only. */
const POSTGRES_ONLY = ['test/postgres-*.test.ts'];

/**
 * Test files that also run on PostgreSQL (the `postgres` project, DIFFUSION_NEXUS_TEST_ENGINE=postgres): their
 * servers run over a fresh PostgreSQL database holding the same seeded rows (see `test/helpers/server.ts`). Files
 * join this list as their paths are ported; those about SQLite itself (backups, WAL, desktop-app files) never will.
 */
const ON_BOTH_ENGINES = [
  'test/read-api-lists.test.ts',
  'test/read-api-objects.test.ts',
  'test/hash-lookup.test.ts',
  'test/demo-catalog.test.ts',
  'test/compiled-execution.test.ts',
  'test/search.test.ts',
  'test/search-ranking.test.ts',
  'test/mutations.test.ts',
  'test/civitai-import.test.ts',
  'test/civitai-sync.test.ts',
  'test/import-conflicts.test.ts',
  'test/cli-import.test.ts',
  'test/metadata-history.test.ts',
  'test/thumbnails.test.ts',
  'test/thumbnail-uploads.test.ts',
  'test/library-api.test.ts',
  'test/library-scan.test.ts',
  'test/rescan-cost.test.ts',
  'test/loading-strategy.test.ts',
  'test/row-field-plans.test.ts',
  'test/downloads.test.ts',
  'test/downloads-processes.test.ts',
  'test/security.test.ts',
  'test/server.test.ts',
  'test/http-conformance.test.ts',
  'test/bad-input.test.ts',
  'test/hostile-text.test.ts',
  'test/query-turns.test.ts',
  'test/hostile-requests.test.ts',
  'test/catalog-revision.test.ts',
  'test/direct-answer.test.ts',
  'test/persisted-queries.test.ts',
  'test/deferred-fields.test.ts',
  'test/example-script.test.ts',
  'test/lock-wait.test.ts',
  'test/startup-failures.test.ts',
  'test/shutdown.test.ts',
  'test/concurrency.test.ts',
  'test/crash.test.ts',
  'test/civitai-shared-fixtures.test.ts',
  'test/hostile-files.test.ts',
  'test/built-cli.test.ts',
  'test/soak.test.ts',
  'test/catalog-changes.test.ts',
  'test/history-sync-defects.test.ts',
  'test/history-cli-defects.test.ts',
  'test/search-index-building.test.ts',
  'test/search-baselines.test.ts',
  'test/request-catalog.test.ts',
];

/**
 * Files that measure time — /health while hostile work runs, a soak's latencies, lock waits, shutdown and start-up
 * bounds — run one at a time after the rest, alone on the machine. The rest run two at a time (CI has two cores; a
 * test's time is largely spent waiting on a server, PostgreSQL or a child process). The benchmark smoke runs judge
 * no numbers (they check that every scenario runs and agrees), so they share the machine with the rest.
 */
const TIMED = [
  'test/hostile-files.test.ts',
  'test/hostile-requests.test.ts',
  'test/hostile-text.test.ts',
  'test/search-index-building.test.ts',
  'test/soak.test.ts',
  'test/lock-wait.test.ts',
  'test/query-turns.test.ts',
  'test/shutdown.test.ts',
  'test/startup-failures.test.ts',
  'test/compiled-execution.test.ts',
  'test/thumbnail-uploads.test.ts',
  'test/civitai-sync.test.ts',
  'test/postgres-engine.test.ts',
  'test/postgres-instances.test.ts',
];

/**
 * The untimed files that take minutes (a benchmark smoke run, the copies between engines), started first: two at a
 * time, a long file started last keeps one core busy long after the other has run out of files. Vitest orders by its
 * cache of last durations, which a fresh clone (CI) does not have, and then by file size.
 */
const LONGEST_FIRST = [
  'test/postgres-bench-smoke.test.ts',
  'test/bench-smoke.test.ts',
  'test/postgres-transfer.test.ts',
];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const index = LONGEST_FIRST.findIndex((name) => file.moduleId.endsWith(name));
      return index < 0 ? LONGEST_FIRST.length : index;
    };
    const sorted = await super.sort(files);
    const group = (file: TestSpecification) => file.project.config.sequence.groupOrder;
    // Stable: within a group, the long files first, the rest in vitest's order.
    return sorted
      .map((file, order) => ({ file, order }))
      .sort((a, b) => group(a.file) - group(b.file) || rank(a.file) - rank(b.file) || a.order - b.order)
      .map(({ file }) => file);
  }
}

const inPostgresProject = [...ON_BOTH_ENGINES, ...POSTGRES_ONLY];
const POSTGRES_ENV = { DIFFUSION_NEXUS_TEST_ENGINE: 'postgres' };
// Untimed files share their worker process with the files run before them in it (`isolate: false`): importing the
// server's modules took each file 2–3 s of a CPU the two workers keep busy. What a file opens is closed when it has
// run (`test/setup-file.ts`), so nothing of one file outlives it.
const UNTIMED = { sequence: { groupOrder: 0 }, maxWorkers: 2, isolate: false };
const ALONE = { sequence: { groupOrder: 1 }, maxWorkers: 1 };

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (index.js) and ESM (index.mjs) side by side without an exports map. Node loads the CJS
    // one for every package; Vite would hand our sources the ESM one, and `instanceof GraphQLError` would then
    // fail between our code and yoga. Pin everyone to the file Node uses, as in production.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    // Native better-sqlite3 and the schema engine's WASM are happiest in child processes.
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-file.ts'],
    testTimeout: 60_000,
    sequence: { sequencer: LongestFirst },
    hookTimeout: 60_000,
    // `--project 'sqlite*'` runs one engine's files.
    projects: [
      {
        extends: true,
        test: { name: 'sqlite', include: ['test/**/*.test.ts'], exclude: [...POSTGRES_ONLY, ...TIMED], ...UNTIMED },
      },
      {
        extends: true,
        test: { name: 'postgres', include: inPostgresProject, exclude: TIMED, env: POSTGRES_ENV, ...UNTIMED },
      },
      {
        extends: true,
        test: { name: 'sqlite-timed', include: TIMED, exclude: POSTGRES_ONLY, ...ALONE },
      },
      {
        extends: true,
        test: {
          name: 'postgres-timed',
          include: TIMED.filter((file) => ON_BOTH_ENGINES.includes(file) || file.startsWith('test/postgres-')),
          env: POSTGRES_ENV,
          ...ALONE,
        },
      },
    ],
  },
});

import { builder } from './builder.ts';
import type { HealthReport } from '../db/health.ts';
import type { SearchIndexProgress } from '../search/search-index.ts';
import { healthQueries } from '../resolvers/health.ts';
import { notCoveredByRevision } from './revision-coverage.ts';

const SearchIndexState = builder.objectRef<SearchIndexProgress>('SearchIndexState').implement({
  description: "The search index's build under way, if any.",
  fields: (t) => ({
    building: t.exposeBoolean('building', {
      description: 'True while models wait for their search documents and the server builds them.',
    }),
    done: t.exposeInt('done', { description: 'Documents built so far by the build under way (0 when none runs).' }),
    total: t.exposeInt('total', {
      description: 'Models that waited for their document when the build began (0 when none runs).',
    }),
  }),
});

const Health = builder.objectRef<HealthReport>('Health').implement({
  description: 'Liveness of the server and its database.',
  extensions: notCoveredByRevision('the state of the server and its database, not the catalog'),
  fields: (t) => ({
    ok: t.exposeBoolean('ok', { description: 'True when the database answered a query.' }),
    schemaVersion: t.exposeString('schemaVersion', {
      nullable: true,
      description: 'Name of the newest applied migration.',
    }),
    engine: t.exposeString('engine', { description: 'The catalog database engine: sqlite or postgres.' }),
    serverVersion: t.exposeString('serverVersion', {
      description: "The engine's version (SQLite's library, or the PostgreSQL server's).",
    }),
    sqliteVersion: t.exposeString('sqliteVersion', { description: 'SQLite only; empty on PostgreSQL.' }),
    journalMode: t.exposeString('journalMode', { description: 'SQLite only; empty on PostgreSQL.' }),
    searchIndex: t.field({
      type: SearchIndexState,
      description: 'The search index build under way; searches answer SEARCH_INDEX_BUILDING while a large one runs.',
      resolve: (health) => health.searchIndex,
    }),
  }),
});

builder.queryField('health', (t) =>
  t.field({
    type: Health,
    description: 'Checks that the database answers; cheap enough for monitoring.',
    resolve: healthQueries.health,
  }),
);

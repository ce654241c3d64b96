/**
 * Where search time goes, measured inside SQLite on each catalog: counting an FTS5 query's matches (walking the
 * terms' doclists) against ranking them (FTS5's bm25 over every match, after one pass per term to count the documents
 * holding it for its idf). This is the evidence for how search latency follows the number of matching documents.
 */
import Database from 'better-sqlite3';
import { CACHE_PRAGMA } from '../src/db/catalog-database.ts';
import { toMatchExpression } from '../src/search/query.ts';
import type { BenchCatalog } from './catalog.ts';
import { median } from './load.ts';
import { SEARCH_WORDS, type ScenarioInputs } from './scenarios.ts';

export interface SearchCostRow {
  catalog: string;
  inputs: string;
  /** Medians over the inputs. */
  matches: number;
  countMs: number;
  rankedTop20Ms: number;
}

function meanMs(run: () => unknown, repeats: number): number {
  for (let i = 0; i < 3; i++) run();
  const start = process.hrtime.bigint();
  for (let i = 0; i < repeats; i++) run();
  return Number(process.hrtime.bigint() - start) / 1e6 / repeats;
}

export function measureSearchCost(catalog: BenchCatalog, inputs: ScenarioInputs, repeats = 20): SearchCostRow[] {
  const db = new Database(catalog.databasePath, { readonly: true });
  try {
    db.pragma(CACHE_PRAGMA);
    const count = db.prepare('SELECT COUNT(*) FROM "ModelSearch" WHERE "ModelSearch" MATCH ?').pluck();
    const ranked = db
      .prepare('SELECT rowid FROM "ModelSearch" WHERE "ModelSearch" MATCH ? ORDER BY rank LIMIT 21')
      .pluck();
    const sets: [string, readonly string[]][] = [
      ['common words', SEARCH_WORDS],
      ['model names', inputs.modelNames],
    ];
    return sets.map(([label, texts]) => {
      const expressions = texts.map(toMatchExpression);
      return {
        catalog: catalog.label,
        inputs: label,
        matches: median(expressions.map((e) => Number(count.get(e)))),
        countMs: median(expressions.map((e) => meanMs(() => count.get(e), repeats))),
        rankedTop20Ms: median(expressions.map((e) => meanMs(() => ranked.all(e), repeats))),
      };
    });
  } finally {
    db.close();
  }
}

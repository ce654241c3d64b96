/**
 * Untrusted text is processed in linear time (hardening round 2, finding 3): every function that reads text from a
 * payload, a sidecar, a model header or a request handles a megabyte of adversarial input in well under a second,
 * and importing such text neither blocks the server nor holds the write lock.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { integrityProblems } from '../src/db/backup.ts';
import { parseStoredTimestamp } from '../src/db/timestamps.ts';
import { mapBaseModel, mapCommercialUse } from '../src/civitai/mapping.ts';
import { baseModelFromHints, headerFacts, typeFromFolders } from '../src/library/safetensors-facts.ts';
import { payloadFromCmInfo, payloadFromLoraManager } from '../src/library/sidecars.ts';
import { documentVector } from '../src/db/postgres/text-search.ts';
import { SEARCH_COLUMNS } from '../src/db/search.ts';
import { highlight } from '../src/search/highlight.ts';
import { searchTerms, toMatchExpression } from '../src/search/query.ts';
import { escapeHtml, spaceCjk, stripHtml, tokens } from '../src/search/text.ts';
import { seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { TEST_ENGINE } from './helpers/postgres.ts';
import { startChildServer, whileProbingHealth, type ChildServer } from './helpers/hostile.ts';

const MB = 1024 * 1024;
const repeat = (unit: string, bytes = MB) => unit.repeat(Math.ceil(bytes / unit.length));

/** Inputs that make backtracking regular expressions and naive scanners quadratic. */
const HOSTILE = [
  repeat('<'),
  repeat('‹'),
  repeat('<a'),
  repeat('<script'),
  repeat('<style>'),
  repeat('<!--'),
  `&${repeat('a')}`,
  repeat('&#'),
  repeat('&#x'),
  repeat('flux'),
  repeat('flux '),
  repeat('sd3'),
  repeat('xl-'),
  repeat('sd_v'),
  repeat('stable-diffusion-'),
  repeat('lycoris'),
  repeat(' '),
  repeat('東'),
  repeat('a,'),
  repeat('"'),
  repeat('a'),
  repeat('{set'),
  repeat('2025-01-01 '),
];

/**
 * Milliseconds of this process's CPU time (user + system) that `fn` took: unlike wall time, it does not grow when
 * other test files share the machine's cores, while a quadratic scan of a megabyte still takes minutes of it.
 */
function timed(fn: () => unknown): number {
  const started = process.cpuUsage();
  fn();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000;
}

describe('text functions on a megabyte of hostile input', () => {
  const functions: [string, (text: string) => unknown][] = [
    ['stripHtml', stripHtml],
    ['spaceCjk', spaceCjk],
    ['tokens', tokens],
    ['escapeHtml', escapeHtml],
    ['baseModelFromHints', (text) => baseModelFromHints(text, text, text)],
    [
      'headerFacts',
      (text) =>
        headerFacts({
          ss_base_model_version: text,
          'modelspec.architecture': text,
          ss_sd_model_name: text,
          ss_network_module: text,
          'modelspec.trigger_phrase': text,
          ss_output_name: text,
          ss_num_train_images: '10',
          ss_tag_frequency: JSON.stringify({ set: { [text.slice(0, 1000)]: 10 } }),
        }),
    ],
    [
      'headerFacts (tag frequency)',
      // Tens of thousands of distinct tags, and one a megabyte long: the top tags are picked in one pass.
      (text) =>
        headerFacts({
          ss_tag_frequency: JSON.stringify({
            a: Object.fromEntries(
              Array.from({ length: 20_000 }, (_, i) => [`${text.slice(i * 50, i * 50 + 50)}${i}`, i % 7]),
            ),
            b: { [text]: 3 },
          }),
        }),
    ],
    ['typeFromFolders', (text) => typeFromFolders([text, text])],
    ['mapBaseModel', mapBaseModel],
    ['mapCommercialUse', (text) => mapCommercialUse(`{${text}}`)],
    ['parseStoredTimestamp', parseStoredTimestamp],
    [
      'toMatchExpression',
      (text) => {
        try {
          toMatchExpression(text);
        } catch {
          /* too long: refused, which is fine */
        }
      },
    ],
    [
      // PostgreSQL's documents and highlights are built in this process, not by the database.
      'documentVector',
      (text) => documentVector({ ...Object.fromEntries(SEARCH_COLUMNS.map((c) => [c, 'x'])), name: text } as never),
    ],
    [
      'highlight',
      (text) =>
        highlight(
          searchTerms('a* l* f* "flux flux" 東 s*'),
          SEARCH_COLUMNS.map((_, i) => (i === 0 ? text : 'x')),
          '<',
          '>',
        ),
    ],
    [
      'payloadFromCmInfo',
      (text) =>
        payloadFromCmInfo(
          { ModelId: 1, VersionId: 2, ModelName: text, Tags: text, TrainedWords: text, BaseModel: text },
          'x.safetensors',
        ),
    ],
    [
      'payloadFromLoraManager',
      (text) =>
        payloadFromLoraManager({
          model_name: text,
          tags: text,
          civitai: { id: 2, modelId: 1, model: { name: text, tags: text } },
        }),
    ],
  ];
  for (const [name, fn] of functions) {
    it(`${name} stays linear`, () => {
      for (const input of HOSTILE) {
        const ms = timed(() => fn(input));
        expect(ms, `${name} on ${JSON.stringify(input.slice(0, 12))}…`).toBeLessThan(1000);
      }
    });
  }
});

describe('importing hostile text through the server', () => {
  let catalog: SeededCatalog;
  let server: ChildServer;
  beforeAll(async () => {
    catalog = await seededCatalog({ models: 200, thumbnails: 'none' });
    server = await startChildServer(catalog.dataDir);
  }, 60_000);

  const post = (query: string, variables: Record<string, unknown> = {}) =>
    fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(60_000),
    }).then((r) => r.json() as Promise<{ data?: any; errors?: unknown[] }>);

  it('a description of a million "<" imports in seconds, without holding the write lock, and stays searchable', async () => {
    const description = `findme ${repeat('<', MB)}${repeat('‹', 200_000)}`;
    const payload = {
      id: 660_001,
      name: 'Angle Brackets',
      type: 'LORA',
      description,
      modelVersions: [{ id: 660_002, name: 'v1', files: [], images: [] }],
    };
    const { result, health } = await whileProbingHealth(server.origin, async () => {
      const started = performance.now();
      const imported = post('mutation($p: JSON!) { importCivitaiPayload(payload: $p) { created failed } }', {
        p: payload,
      });
      // Another writer at the same time must not get DATABASE_LOCKED.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const other = await post('mutation { setIgnoreUpdates(id: "TW9kZWw6MQ==", ignore: true) { ignoreUpdates } }');
      return { imported: await imported, other, ms: performance.now() - started };
    });
    expect(result.imported).toEqual({ data: { importCivitaiPayload: { created: 1, failed: 0 } } });
    expect(result.other).toEqual({ data: { setIgnoreUpdates: { ignoreUpdates: true } } });
    expect(result.ms).toBeLessThan(5000);
    expect(health.maxMs).toBeLessThan(1000);

    const id = Buffer.from('Model:201').toString('base64');
    const { result: after, health: health2 } = await whileProbingHealth(server.origin, async () => {
      const started = performance.now();
      const tags = await post('mutation($id: ID!) { setModelTags(id: $id, tags: ["brackets"]) { name } }', { id });
      const found = await post('{ search(query: "findme") { totalCount edges { snippet node { name } } } }');
      return { tags, found, ms: performance.now() - started };
    });
    expect(after.tags).toEqual({ data: { setModelTags: { name: 'Angle Brackets' } } });
    expect(after.found.data.search).toMatchObject({ totalCount: 1, edges: [{ node: { name: 'Angle Brackets' } }] });
    expect(after.ms).toBeLessThan(5000);
    expect(health2.maxMs).toBeLessThan(1000);
    // SQLite's own check of its file; a PostgreSQL server keeps its pages itself.
    if (TEST_ENGINE === 'sqlite')
      expect(integrityProblems(path.join(catalog.dataDir, 'Diffusion_Nexus-core.db'))).toEqual([]);
  });
});

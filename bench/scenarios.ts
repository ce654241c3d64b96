/**
 * The query scenarios: for each, the GraphQL request our server gets and the equivalent request to the baseline,
 * over a rotating list of inputs (pages, ids, hash batches, search words) so neither side answers one hot row.
 */
import Database from 'better-sqlite3';

export interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

export interface Scenario {
  name: string;
  title: string;
  /** Request number i (inputs rotate) for our server and for the baseline. */
  ours(i: number): HttpRequest;
  baseline(i: number): HttpRequest;
  /** Whether the answer is JSON to compare (thumbnails compare as bytes). */
  json: boolean;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

function graphql(query: string, variables: Record<string, unknown>): HttpRequest {
  return { method: 'POST', path: '/graphql', body: JSON.stringify({ query, variables }), headers: JSON_HEADERS };
}

export const LIST_QUERY = `query ListPage($first: Int!, $after: String) {
  models(first: $first, after: $after) {
    pageInfo { endCursor hasNextPage }
    edges { cursor node {
      id name type creator { username } tags { name }
      versions(first: 3) { nodes {
        id name baseModel
        files { fileName sizeKB hashes { sha256 } }
        images(first: 2) { nodes { id width height thumbnail { url } } }
      } }
    } }
  }
}`;

/** The wide list page an outside benchmarker measured (issue 14): more fields per level, trigger words, `nodes`. */
export const LIST_WIDE_QUERY = `query ListWide($first: Int!, $after: String) {
  models(first: $first, after: $after) { nodes {
    databaseId name type isNsfw createdAt creator { username } tags { name }
    versions(first: 3) { nodes {
      databaseId name baseModel files { databaseId fileName sizeKB hashes { sha256 } }
      images(first: 2) { nodes { databaseId sortOrder thumbnail { url width height } } }
      triggerWords { word }
    } }
  } }
}`;

export const DETAIL_QUERY = `query ModelDetail($id: Int!) {
  model(databaseId: $id) {
    id databaseId civitaiId name description type isNsfw isPoi mode source createdAt updatedAt lastSyncedAt
    allowNoCredit allowCommercialUse allowDerivatives allowDifferentLicense versionCount totalDownloads
    creator { id username avatarUrl }
    tags { id name }
    versions(first: 10) { nodes {
      id databaseId civitaiId name description baseModel baseModelRaw createdAt updatedAt publishedAt downloadUrl earlyAccessDays
      downloadCount ratingCount rating thumbsUpCount thumbsDownCount
      triggerWords { word order }
      files {
        id databaseId civitaiId fileName sizeKB fileType isPrimary format precision sizeType pickleScanResult virusScanResult scannedAt
        localPath isLocalFileValid hashes { autoV1 autoV2 autoV3 sha256 crc32 blake3 }
      }
      images(first: 10) { nodes {
        id databaseId url isNsfw nsfwLevel width height blurHash sortOrder createdAt prompt negativePrompt seed steps sampler cfgScale
        generationModel denoisingStrength likeCount heartCount commentCount thumbnail { url width height byteSize }
      } }
    } }
  }
}`;

export const HASHES_QUERY = `query Hashes($hashes: [String!]!) {
  filesByHashes(hashes: $hashes, algorithm: SHA256) {
    hash
    file { id fileName sizeKB version { id name model { id name } } }
  }
}`;

export const SEARCH_QUERY = `query Search($query: String!, $first: Int!) {
  search(query: $query, first: $first) {
    pageInfo { hasNextPage }
    edges { cursor score node { id name type } }
  }
}`;

/** The cheapest GraphQL request there is: one field answered without reading anything. */
export const FLOOR_QUERY = '{ __typename }';
export const FLOOR_SCENARIO = 'floor';

export const HASH_BATCH = 1000;
/** Words the generator spreads over most of the catalog (prompts, tags): every search ranks thousands of matches at L. */
export const SEARCH_WORDS = [
  'neon',
  'velvet portraits',
  'anime style',
  'chrome',
  'frost lighting',
  'watercolor',
  'aurora',
  'cyberpunk',
  'moss',
  'pixel art',
  'landscape',
  'ember mix',
];

/** Inputs drawn from the catalog itself (deterministic for a given catalog). */
export interface ScenarioInputs {
  /** `after` cursors of consecutive list pages (null = first page). */
  listCursors: (string | null)[];
  modelIds: number[];
  hashBatches: string[][];
  imageIds: number[];
  /** Names of models spread over the catalog: what a user types to find one model again (a handful of matches). */
  modelNames: string[];
}

export function readScenarioInputs(databasePath: string, listCursors: (string | null)[]): ScenarioInputs {
  const db = new Database(databasePath, { readonly: true });
  try {
    const count = Number(db.prepare('SELECT COUNT(*) FROM "Models"').pluck().get());
    const stride = Math.max(1, Math.floor(count / 64));
    const modelIds = db
      .prepare(`SELECT "Id" FROM "Models" WHERE "Id" % ? = 0 ORDER BY "Id" LIMIT 64`)
      .pluck()
      .all(stride) as number[];
    const shas = db
      .prepare(`SELECT "HashSHA256" FROM "ModelFiles" WHERE "HashSHA256" IS NOT NULL ORDER BY "Id"`)
      .pluck()
      .all() as string[];
    const hashBatches: string[][] = [];
    for (let b = 0; b < 8; b++) {
      const batch: string[] = [];
      // Three of four hashes are in the catalog (spread over the whole table); the rest are unknown.
      for (let i = 0; i < HASH_BATCH; i++) {
        batch.push(
          i % 4 === 3
            ? `${(b * HASH_BATCH + i).toString(16).padStart(8, '0')}`.repeat(8).toUpperCase()
            : shas[(b * 7919 + i * 104_729) % shas.length]!,
        );
      }
      hashBatches.push(batch);
    }
    const imageIds = db
      .prepare(
        `SELECT "Id" FROM "ModelImages" WHERE "ThumbnailData" IS NOT NULL AND "Id" % 37 = 0 ORDER BY "Id" LIMIT 256`,
      )
      .pluck()
      .all() as number[];
    const modelNames = db
      .prepare(
        `SELECT "Name" FROM "Models" WHERE "Id" IN (${modelIds.filter((_, i) => i % 4 === 0).join(',')}) ORDER BY "Id"`,
      )
      .pluck()
      .all() as string[];
    return { listCursors, modelIds, hashBatches, imageIds, modelNames };
  } finally {
    db.close();
  }
}

const at = <T>(list: readonly T[], i: number): T => list[i % list.length]!;

export function scenarios(
  inputs: ScenarioInputs,
  options: { listPageSize?: number; hashBatch?: number } = {},
): Scenario[] {
  const first = options.listPageSize ?? 20;
  const hashBatch = options.hashBatch ?? HASH_BATCH;
  return [
    {
      name: 'list',
      title: 'List page (20 models, nested)',
      json: true,
      ours: (i) => graphql(LIST_QUERY, { first, after: at(inputs.listCursors, i) }),
      baseline: (i) => ({
        method: 'POST',
        path: '/list',
        body: JSON.stringify({ first, after: at(inputs.listCursors, i) }),
        headers: JSON_HEADERS,
      }),
    },
    {
      name: 'list-wide',
      title: 'List page, wide (20 models, more fields, trigger words)',
      json: true,
      ours: (i) => graphql(LIST_WIDE_QUERY, { first, after: at(inputs.listCursors, i) }),
      baseline: (i) => ({
        method: 'POST',
        path: '/list-wide',
        body: JSON.stringify({ first, after: at(inputs.listCursors, i) }),
        headers: JSON_HEADERS,
      }),
    },
    {
      name: 'detail',
      title: 'Model detail (everything nested)',
      json: true,
      ours: (i) => graphql(DETAIL_QUERY, { id: at(inputs.modelIds, i) }),
      baseline: (i) => ({ method: 'GET', path: `/detail/${at(inputs.modelIds, i)}` }),
    },
    {
      name: 'hashes',
      title: `Hash lookup (${hashBatch} SHA256)`,
      json: true,
      ours: (i) => graphql(HASHES_QUERY, { hashes: at(inputs.hashBatches, i).slice(0, hashBatch) }),
      baseline: (i) => ({
        method: 'POST',
        path: '/hashes',
        body: JSON.stringify(at(inputs.hashBatches, i).slice(0, hashBatch)),
        headers: JSON_HEADERS,
      }),
    },
    {
      name: 'thumbnail',
      title: 'Thumbnail GET',
      json: false,
      ours: (i) => ({ method: 'GET', path: `/thumbnails/${at(inputs.imageIds, i)}` }),
      baseline: (i) => ({ method: 'GET', path: `/thumbnails/${at(inputs.imageIds, i)}` }),
    },
    {
      name: 'search',
      title: 'Search, common words (top 20 of thousands)',
      json: true,
      ours: (i) => graphql(SEARCH_QUERY, { query: at(SEARCH_WORDS, i), first: 20 }),
      baseline: (i) => ({ method: 'GET', path: `/search?q=${encodeURIComponent(at(SEARCH_WORDS, i))}&first=20` }),
    },
    {
      name: 'search-name',
      title: "Search, a model's name (few hits)",
      json: true,
      ours: (i) => graphql(SEARCH_QUERY, { query: at(inputs.modelNames, i), first: 20 }),
      baseline: (i) => ({ method: 'GET', path: `/search?q=${encodeURIComponent(at(inputs.modelNames, i))}&first=20` }),
    },
    {
      // No scenario can do better than this on our side: a GraphQL request that reads nothing. Its throughput over
      // each scenario's baseline is that scenario's ceiling (see `ceilingOf` in report.ts).
      name: FLOOR_SCENARIO,
      title: 'GraphQL floor: `{ __typename }` (reads nothing)',
      json: true,
      ours: () => graphql(FLOOR_QUERY, {}),
      baseline: () => ({ method: 'GET', path: '/typename' }),
    },
  ];
}

/**
 * A scripted client of DiffusionNexus Core, typed end to end by GraphQL Code Generator (`npm run codegen`):
 * pages through every model with cursors, then resolves a list of local file hashes in one call.
 *
 *   node --import tsx examples/catalog-script.ts [--url http://127.0.0.1:4000/graphql] [--page-size 50] [HASH …]
 *
 * Prints one JSON object: the models seen (id, name, type, version count) and, per hash, the matching file.
 */
import { parseArgs } from 'node:util';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { graphql } from '../src/generated/graphql/index.ts';
import type { ExampleModelsPageQuery } from '../src/generated/graphql/graphql.ts';

const ModelsPageDocument = graphql(`
  query ExampleModelsPage($first: Int!, $after: String) {
    models(first: $first, after: $after, orderBy: [{ field: NAME }]) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { databaseId name type versionCount }
    }
  }
`);

const ResolveHashesDocument = graphql(`
  query ExampleResolveHashes($hashes: [String!]!) {
    filesByHashes(hashes: $hashes) {
      hash
      algorithm
      file { databaseId fileName version { name model { name } } }
    }
  }
`);

/** POSTs a typed document; the result type follows from the document. */
export async function request<R, V>(url: string, document: TypedDocumentNode<R, V>, variables: V): Promise<R> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as { data?: R; errors?: { message: string }[] };
  if (body.errors?.length || !body.data)
    throw new Error(`GraphQL error: ${body.errors?.map((e) => e.message).join('; ') ?? response.statusText}`);
  return body.data;
}

export async function run(url: string, pageSize: number, hashes: string[]) {
  const models: { databaseId: number; name: string; type: string; versionCount: number }[] = [];
  let after: string | null = null;
  let totalCount = 0;
  do {
    const page: ExampleModelsPageQuery = await request(url, ModelsPageDocument, { first: pageSize, after });
    totalCount = page.models.totalCount;
    models.push(...page.models.nodes);
    after = page.models.pageInfo.hasNextPage ? (page.models.pageInfo.endCursor ?? null) : null;
  } while (after !== null);
  const matches = hashes.length === 0 ? [] : (await request(url, ResolveHashesDocument, { hashes })).filesByHashes;
  return { totalCount, models, matches };
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain) {
  const { values, positionals } = parseArgs({
    options: { url: { type: 'string' }, 'page-size': { type: 'string' } },
    allowPositionals: true,
  });
  const result = await run(
    values.url ?? 'http://127.0.0.1:4000/graphql',
    Number(values['page-size'] ?? 50),
    positionals,
  );
  console.log(JSON.stringify(result, null, 2));
}

/**
 * The Pothos builder and its plugins. Types live in one file per entity beside this one; this file defines none.
 */
import SchemaBuilder from '@pothos/core';
import { getNamedType, getNullableType, isListType } from 'graphql';
import ComplexityPlugin from '@pothos/plugin-complexity';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import type PrismaTypes from '../generated/pothos-prisma-types.ts';
import { getDatamodel } from '../generated/pothos-prisma-types.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { GraphQLContext } from '../resolvers/context.ts';
import { limitExceeded } from '../errors.ts';
import { decodeNodeId, encodeNodeId } from '../catalog/global-id.ts';
import { QUERY_LIMITS } from '../catalog/query-limits.ts';
import type { CatalogRevision } from '../db/revision.ts';
import { rememberComplexityMeasures } from './complexity-memo.ts';

export interface SchemaTypes {
  PrismaTypes: PrismaTypes;
  Context: GraphQLContext;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    BigInt: { Input: bigint; Output: bigint | number | string };
    JSON: { Input: unknown; Output: unknown };
    Revision: { Input: CatalogRevision; Output: CatalogRevision };
    ID: { Input: string; Output: string | number };
  };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  /** Every connection can count its whole result set, lazily: only when `totalCount` is selected. */
  Connection: { totalCount: () => number | Promise<number> };
}

// An operation's measure is kept per operation and variables: see `complexity-memo.ts` (why the functions below read
// their arguments and the field, never the context).
rememberComplexityMeasures();

export const builder = new SchemaBuilder<SchemaTypes>({
  plugins: [ComplexityPlugin, RelayPlugin, PrismaPlugin],
  defaultFieldNullability: false,
  prisma: {
    // Prisma Client does not run at request time: rows come from the loaders (src/loaders), and the plugin serves
    // the object types. A field that would fall back to Prisma fails loudly instead of opening a second read path.
    client: (): PrismaClient => {
      throw new Error('Prisma Client is not used at request time; read rows through the loaders.');
    },
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodesOnConnection: true,
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    encodeGlobalID: encodeNodeId,
    decodeGlobalID: decodeNodeId,
    // `nodes(ids:)` is a page: bounded, and what is selected under it costs once per id.
    nodesQueryOptions: {
      complexity: (args: { ids: readonly unknown[] }) => ({ field: 1, multiplier: Math.max(1, args.ids.length) }),
      resolve: (_root, args, ctx, _info, resolveNodes) => {
        const { nodeIds } = ctx.settings.queryLimits;
        if (args.ids.length > nodeIds) {
          throw limitExceeded(`\`nodes\` takes at most ${nodeIds} ids, got ${args.ids.length}. Ask in pages.`, nodeIds);
        }
        return resolveNodes(args.ids);
      },
    },
  },
  complexity: {
    // Connections multiply what is selected under them by the page size they ask for (see `pageComplexity`);
    // their own `edges`/`nodes` lists must not multiply again.
    fieldComplexity: (_args, _ctx, field) => {
      const isList = isListType(getNullableType(field.type));
      const isConnectionList =
        (field.name === 'edges' && getNamedType(field.type).name.endsWith('Edge')) || field.name === 'nodes';
      if (isConnectionList) return { field: 0, multiplier: 1 };
      return { field: 1, multiplier: isList ? QUERY_LIMITS.listMultiplier : 1 };
    },
    limit: ({ settings: { queryLimits } }) => ({
      complexity: queryLimits.complexity,
      depth: queryLimits.depth,
      breadth: queryLimits.breadth,
    }),
    complexityError: (kind, result) => {
      const measure = kind.toLowerCase() as 'complexity' | 'depth' | 'breadth';
      const max = result[`max${kind}` as 'maxComplexity'] ?? QUERY_LIMITS[measure];
      const actual = result[measure];
      return limitExceeded(
        `Query ${measure} ${actual} exceeds the limit of ${max}. ` +
          (measure === 'complexity'
            ? 'Ask for smaller pages (`first`) or fewer nested lists.'
            : 'Split the query into smaller ones.'),
        max,
        { actual, measure },
      );
    },
  },
});

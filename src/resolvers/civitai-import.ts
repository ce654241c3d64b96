/** Resolvers of getting data in from Civitai: payload imports and online syncs, and the models they touched. */
import type { GraphQLResolveInfo } from 'graphql';
import { importPayload } from '../civitai/batch-import.ts';
import { syncByHash, syncModel, syncVersion } from '../civitai/sync.ts';
import type { GraphQLContext } from './context.ts';
import { plannedRowFields } from './selection.ts';

/** The model an import or sync outcome names (null when none). */
export function outcomeModel(
  outcome: { modelId: number | null },
  _args: unknown,
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
) {
  return outcome.modelId === null
    ? null
    : ctx.loaders.models.byId(plannedRowFields(info, 'Model')).load(outcome.modelId);
}

type SyncArgs<K extends string, V> = Record<K, V> & { force?: boolean | null };

export const civitaiMutations = {
  importCivitaiPayload: (
    _root: unknown,
    args: { payload?: unknown; imagesVersionCivitaiId?: number | null },
    ctx: GraphQLContext,
  ) =>
    importPayload(ctx.db, args.payload, 'payload', {
      imagesVersionCivitaiId: args.imagesVersionCivitaiId,
      origin: 'request',
      history: { source: 'import', jobId: ctx.requestId },
    }),
  syncCivitaiModel: (_root: unknown, args: SyncArgs<'civitaiId', number>, ctx: GraphQLContext) =>
    syncModel(ctx.db, ctx.civitai, args.civitaiId, { force: args.force ?? false, jobId: ctx.requestId }),
  syncCivitaiVersion: (_root: unknown, args: SyncArgs<'civitaiId', number>, ctx: GraphQLContext) =>
    syncVersion(ctx.db, ctx.civitai, args.civitaiId, { force: args.force ?? false, jobId: ctx.requestId }),
  syncByHash: (_root: unknown, args: SyncArgs<'hash', string>, ctx: GraphQLContext) =>
    syncByHash(ctx.db, ctx.civitai, args.hash, { force: args.force ?? false, jobId: ctx.requestId }),
};

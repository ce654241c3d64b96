/** Resolvers of a model's metadata history (change sets, newest first), its payload archive, and reverts. */
import { encodeCursor, type Ordering, type PageArgs, pageWindow } from '../catalog/pagination.ts';
import {
  type ChangeRow,
  type ChangeSetRow,
  type ChangeSetValues,
  changeSetCount,
  changeSetsOfModel,
  changesOfSets,
  HISTORY_ORDERING,
  type ModelPayloadRow,
  payloadBodies,
  payloadsOfModel,
} from '../db/tables/metadata-history.ts';
import { parseStoredTimestamp } from '../db/timestamps.ts';
import { AppError, limitExceeded } from '../errors.ts';
import type { Model } from '../generated/prisma/client.ts';
import { payloadText } from '../history/payload-archive.ts';
import { revertChangeSet } from '../history/revert.ts';
import type { GraphQLContext } from './context.ts';

export interface FieldChange {
  entity: string;
  entityId: number;
  field: string;
  oldValue: unknown;
  newValue: unknown;
}

export interface ChangeSet extends ChangeSetValues {
  id: number;
  changes: FieldChange[];
}

export interface ArchivedPayloadInfo {
  id: number;
  origin: string;
  source: string;
  fetchedAt: Date;
  kind: string;
  byteSize: number;
  storedBytes: number;
  contentHash: string;
}

const parse = (json: string | null): unknown => (json === null ? null : JSON.parse(json));

function toChangeSet(row: ChangeSetRow, changes: readonly ChangeRow[]): ChangeSet {
  return {
    id: row.Id,
    modelId: row.ModelId,
    source: row.Source,
    detail: row.Detail,
    jobId: row.JobId,
    revertsChangeSetId: row.RevertsChangeSetId,
    createdAt: parseStoredTimestamp(row.CreatedAt)!,
    changes: changes.map((c) => ({
      entity: c.Entity,
      entityId: c.EntityId,
      field: c.Field,
      oldValue: parse(c.OldValue),
      newValue: parse(c.NewValue),
    })),
  };
}

/** Most payloads `Model.payloads` lists at once. */
export const MAX_PAYLOADS = 50;

export const historyFields = {
  history: async (m: Model, args: PageArgs, ctx: GraphQLContext) => {
    const ordering: Ordering = HISTORY_ORDERING;
    const window = pageWindow(args, ordering);
    if (window.direction === 'backward' || window.before)
      throw new AppError('BAD_USER_INPUT', 'History pages go from newest to oldest: use `first` and `after`.');
    // The ordering's one key is the id, which `decodeCursor` has checked is a positive integer.
    const beforeId = window.after ? (window.after[0] as number) : null;
    const rows = await changeSetsOfModel(ctx.db.kysely, m.id, beforeId, window.limit + 1);
    const page = rows.slice(0, window.limit);
    const changes = await changesOfSets(
      ctx.db.kysely,
      page.map((r) => r.Id),
    );
    const edges = page.map((row) => ({
      cursor: encodeCursor(ordering, [row.Id]),
      node: toChangeSet(
        row,
        changes.filter((c) => c.ChangeSetId === row.Id),
      ),
    }));
    return {
      totalCount: () => changeSetCount(ctx.db.kysely, m.id),
      edges,
      pageInfo: {
        hasNextPage: rows.length > window.limit,
        hasPreviousPage: beforeId !== null,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  },
  payloads: async (m: Model, args: { first?: number | null }, ctx: GraphQLContext): Promise<ArchivedPayloadInfo[]> => {
    const first = args.first ?? 10;
    if (!Number.isInteger(first) || first < 0)
      throw new AppError('BAD_USER_INPUT', `\`first\` must be a non-negative integer, got ${first}.`);
    if (first > MAX_PAYLOADS)
      throw limitExceeded(`\`first\` is at most ${MAX_PAYLOADS} payloads, got ${first}.`, MAX_PAYLOADS);
    const rows = await payloadsOfModel(ctx.db.kysely, m.id, first);
    return rows.map((r: ModelPayloadRow) => ({
      id: r.Id,
      origin: r.Origin,
      source: r.Source,
      fetchedAt: parseStoredTimestamp(r.FetchedAt)!,
      kind: r.Kind,
      byteSize: Number(r.ByteSize),
      storedBytes: Number(r.StoredBytes),
      contentHash: r.ContentHash,
    }));
  },
  payloadJson: async (p: ArchivedPayloadInfo, _args: unknown, ctx: GraphQLContext): Promise<unknown> => {
    const body = (await payloadBodies(ctx.db.kysely, [p.id])).get(p.id);
    return body ? JSON.parse(await payloadText(body)) : null;
  },
};

export const historyMutations = {
  revertChange: async (_root: unknown, args: { changeSetId: number }, ctx: GraphQLContext) => {
    const outcome = await revertChangeSet(ctx.db, args.changeSetId, ctx.requestId);
    const model = await ctx.loaders.models.byId().clear(outcome.modelId).load(outcome.modelId);
    return { changeSetId: outcome.changeSetId, model };
  },
};

import { encodeNodeId } from '../catalog/global-id.ts';
import type { CatalogChangeEvent } from '../catalog/live-changes.ts';
import type { ModelChange } from '../db/catalog-changes.ts';
import type { CatalogRevision } from '../db/revision.ts';
import { AppError } from '../errors.ts';
import type { GraphQLContext } from './context.ts';

/**
 * A revision as clients hold it: `<number>:<epoch>`, one opaque string, so a client cannot keep a number and lose
 * the line of numbers (the database) it belongs to.
 */
export function formatRevision(revision: CatalogRevision): string {
  return `${revision.revision}:${revision.epoch}`;
}

const REVISION_TEXT = /^(\d{1,15}):([0-9A-Za-z]{1,64})$/;

export function parseRevision(value: unknown): CatalogRevision {
  const match = typeof value === 'string' ? REVISION_TEXT.exec(value) : null;
  if (!match)
    throw new AppError(
      'BAD_USER_INPUT',
      `Expected a revision as catalogChanged sent it (\`<number>:<epoch>\`), got ${JSON.stringify(value)}.`,
    );
  return { revision: Number(match[1]), epoch: match[2] as string };
}

export const catalogChangeSubscriptions = {
  catalogChanged: (_root: unknown, args: { since?: CatalogRevision | null }, ctx: GraphQLContext) =>
    ctx.catalogChanges.subscribe(args.since ?? null, ctx.scope.signal),
};

export const modelChangeFields = {
  id: (change: ModelChange) => encodeNodeId('Model', change.modelId),
};

export type { CatalogChangeEvent, ModelChange };

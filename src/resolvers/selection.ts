/**
 * Row-field plans from the GraphQL selection: which fields of a catalog type a query selects under the field being
 * resolved, turned into the row fields loaders must read (`rowFieldsFor`). A plan is made once per request per
 * selection, not once per parent row.
 */
import type { FieldNode, GraphQLResolveInfo, SelectionSetNode } from 'graphql';
import type { PageReads } from '../catalog/pagination.ts';
import { rowFieldsFor, type PlannedModelName, type RowFields } from '../loaders/row-fields.ts';
import type { GraphQLContext } from './context.ts';

/** Where a connection's nodes sit below the connection field. */
export const CONNECTION_NODE_PATHS: readonly (readonly string[])[] = [['edges', 'node'], ['nodes']];
/** The field's own selection. */
const OWN_SELECTION: readonly (readonly string[])[] = [[]];

/** The fields of a selection set, fragments expanded (type conditions are ignored: a wider plan is still right). */
function fieldsOf(set: SelectionSetNode | undefined, info: GraphQLResolveInfo, into: FieldNode[] = []): FieldNode[] {
  for (const selection of set?.selections ?? []) {
    if (selection.kind === 'Field') into.push(selection);
    else if (selection.kind === 'InlineFragment') fieldsOf(selection.selectionSet, info, into);
    else fieldsOf(info.fragments[selection.name.value]?.selectionSet, info, into);
  }
  return into;
}

/** Names of the fields selected at `paths` below the field being resolved, and `field.sub` one level inside them. */
export function selectedFieldNames(info: GraphQLResolveInfo, paths: readonly (readonly string[])[]): Set<string> {
  const names = new Set<string>();
  for (const path of paths) {
    let sets = info.fieldNodes.map((node) => node.selectionSet);
    for (const step of path) {
      sets = sets.flatMap((set) =>
        fieldsOf(set, info)
          .filter((field) => field.name.value === step)
          .map((field) => field.selectionSet),
      );
    }
    for (const set of sets) {
      for (const field of fieldsOf(set, info)) {
        names.add(field.name.value);
        for (const inner of fieldsOf(field.selectionSet, info)) names.add(`${field.name.value}.${inner.name.value}`);
      }
    }
  }
  return names;
}

/** What the connection being resolved reads besides its rows (see `PageReads`): once per request for each selection. */
function pageReads(ctx: GraphQLContext, info: GraphQLResolveInfo): PageReads {
  let reads = ctx.loaders.pageReads.get(info.fieldNodes);
  if (!reads) {
    const names = selectedFieldNames(info, OWN_SELECTION);
    reads = {
      looksAhead: names.has('pageInfo.hasNextPage') || names.has('pageInfo.hasPreviousPage'),
      cursors: names.has('edges.cursor') || names.has('pageInfo.startCursor') || names.has('pageInfo.endCursor'),
    };
    ctx.loaders.pageReads.set(info.fieldNodes, reads);
  }
  return reads;
}

/**
 * The row fields of `model` the selection at `paths` needs (plus `required`). A plan depends only on the field's
 * selection (its field nodes, which the executor shares between all rows of a list) and the arguments here, so
 * it is made once per request for each.
 */
export function plannedRowFields(
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
  model: PlannedModelName,
  paths: readonly (readonly string[])[] = OWN_SELECTION,
  required: readonly string[] = [],
): RowFields {
  let plans = ctx.loaders.rowFieldPlans.get(info.fieldNodes);
  if (!plans) ctx.loaders.rowFieldPlans.set(info.fieldNodes, (plans = new Map()));
  const key = `${model}|${paths === OWN_SELECTION ? '' : paths.map((p) => p.join('.')).join(';')}|${required.join(',')}`;
  let plan = plans.get(key);
  if (plan === undefined) plans.set(key, (plan = rowFieldsFor(model, selectedFieldNames(info, paths), required)));
  return plan;
}

/** How a nested connection's page of `model` rows is read: the row fields of its nodes, and what else it reads. */
export function nestedPagePlan(
  ctx: GraphQLContext,
  info: GraphQLResolveInfo,
  model: PlannedModelName,
): { fields: RowFields; reads: PageReads } {
  return { fields: plannedRowFields(ctx, info, model, CONNECTION_NODE_PATHS), reads: pageReads(ctx, info) };
}

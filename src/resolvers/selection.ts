/**
 * Row-field plans from the GraphQL selection: which fields of a catalog type a query selects under the field being
 * resolved, turned into the row fields loaders must read (`rowFieldsFor`). A plan depends only on the field's place in
 * the document (its field nodes, which the executor shares between all rows of a list, and the fragments), so it is
 * kept with those field nodes: made once per selection, not once per parent row — and, for a compiled operation,
 * whose every run is handed the same field nodes, once for all its requests.
 */
import type { FieldNode, FragmentDefinitionNode, GraphQLResolveInfo, SelectionSetNode } from 'graphql';
import type { PageReads } from '../catalog/pagination.ts';
import { rowFieldsFor, type PlannedModelName, type RowFields } from '../loaders/row-fields.ts';

/**
 * Paths below a field, always a module constant: plans are kept by the paths' identity for as long as the document
 * lives, so an array made at each call would add a plan at each call.
 */
type Paths = readonly (readonly string[])[];

/** Where a connection's nodes sit below the connection field. */
export const CONNECTION_NODE_PATHS: Paths = [['edges', 'node'], ['nodes']];
/** The field's own selection. */
const OWN_SELECTION: Paths = [[]];

/** A document's fragments by name (`info.fragments`, or collected from the document before execution). */
export type Fragments = Readonly<Record<string, FragmentDefinitionNode | undefined>>;

/** The fields of a selection set, fragments expanded (type conditions are ignored: a wider plan is still right). */
export function fieldsOf(set: SelectionSetNode | undefined, fragments: Fragments, into: FieldNode[] = []): FieldNode[] {
  for (const selection of set?.selections ?? []) {
    if (selection.kind === 'Field') into.push(selection);
    else if (selection.kind === 'InlineFragment') fieldsOf(selection.selectionSet, fragments, into);
    else fieldsOf(fragments[selection.name.value]?.selectionSet, fragments, into);
  }
  return into;
}

/** The selection sets reached from `sets` down `path` (field names, one per level), fragments expanded. */
export function selectionSetsAt(
  sets: readonly (SelectionSetNode | undefined)[],
  path: readonly string[],
  fragments: Fragments,
): (SelectionSetNode | undefined)[] {
  let reached = [...sets];
  for (const step of path)
    reached = reached.flatMap((set) =>
      fieldsOf(set, fragments)
        .filter((field) => field.name.value === step)
        .map((field) => field.selectionSet),
    );
  return reached;
}

/** Names of the fields selected at `paths` below the field being resolved, and `field.sub` one level inside them. */
export function selectedFieldNames(info: GraphQLResolveInfo, paths: Paths): Set<string> {
  const names = new Set<string>();
  const own = info.fieldNodes.map((node) => node.selectionSet);
  for (const path of paths) {
    for (const set of selectionSetsAt(own, path, info.fragments)) {
      for (const field of fieldsOf(set, info.fragments)) {
        names.add(field.name.value);
        for (const inner of fieldsOf(field.selectionSet, info.fragments))
          names.add(`${field.name.value}.${inner.name.value}`);
      }
    }
  }
  return names;
}

/** Plans by the field nodes they were made for (they go when the document does), and how many were made. */
const rowFieldPlans = new WeakMap<readonly FieldNode[], Map<PlannedModelName, Map<Paths, RowFields>>>();
const pageReadsOf = new WeakMap<readonly FieldNode[], PageReads>();
export const planning = { made: 0 };

/** What the connection being resolved reads besides its rows (see `PageReads`). */
function pageReads(info: GraphQLResolveInfo): PageReads {
  let reads = pageReadsOf.get(info.fieldNodes);
  if (!reads) {
    const names = selectedFieldNames(info, OWN_SELECTION);
    reads = {
      looksAhead: names.has('pageInfo.hasNextPage') || names.has('pageInfo.hasPreviousPage'),
      cursors: names.has('edges.cursor') || names.has('pageInfo.startCursor') || names.has('pageInfo.endCursor'),
    };
    pageReadsOf.set(info.fieldNodes, reads);
  }
  return reads;
}

/** The row fields of `model` the selection at `paths` needs: made once per field nodes (see above). */
export function plannedRowFields(
  info: GraphQLResolveInfo,
  model: PlannedModelName,
  paths: Paths = OWN_SELECTION,
): RowFields {
  let byModel = rowFieldPlans.get(info.fieldNodes);
  if (!byModel) rowFieldPlans.set(info.fieldNodes, (byModel = new Map()));
  let byPaths = byModel.get(model);
  if (!byPaths) byModel.set(model, (byPaths = new Map()));
  let plan = byPaths.get(paths);
  if (plan === undefined) {
    plan = rowFieldsFor(model, selectedFieldNames(info, paths));
    byPaths.set(paths, plan);
    planning.made++;
  }
  return plan;
}

/** How a nested connection's page of `model` rows is read: the row fields of its nodes, and what else it reads. */
export function nestedPagePlan(
  info: GraphQLResolveInfo,
  model: PlannedModelName,
): { fields: RowFields; reads: PageReads } {
  return { fields: plannedRowFields(info, model, CONNECTION_NODE_PATHS), reads: pageReads(info) };
}

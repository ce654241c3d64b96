/**
 * Search work is paid for before it runs: every search in an operation (`search`, and `models` or `modelFacets`
 * filtered by `query`) is estimated from the index's statistics (see `estimateSearchCost`), and an operation whose
 * searches would cost too much — one too broad, or too many of them — is refused whole with LIMIT_EXCEEDED before
 * any of them starts.
 */
import {
  type DocumentNode,
  getOperationAST,
  type OperationDefinitionNode,
  Kind,
  valueFromAST,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type ValueNode,
  type VariableDefinitionNode,
} from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { DEFAULT_PAGE_SIZE } from '../catalog/pagination.ts';
import { estimateSearchCost, SEARCH_COST_LIMITS } from '../search/cost.ts';
import { searchTerms, type SearchTerm } from '../search/query.ts';
import type { GraphQLContext } from '../resolvers/context.ts';
import { type Fragments, fieldsOf, selectionSetsAt } from '../resolvers/selection.ts';
import { isAppError } from '../errors.ts';
import { ensureSearchIndexCurrent } from '../search/search-index.ts';
import { fromAppError } from './errors.ts';
import { coercedVariables } from './coerced-variables.ts';

const NO_DEFINITIONS: readonly VariableDefinitionNode[] = [];

/** Whether `field` selects any of `names` at `path` below it. */
function selects(field: FieldNode, fragments: Fragments, path: readonly string[], names: readonly string[]): boolean {
  return selectionSetsAt([field.selectionSet], path, fragments).some((set) =>
    fieldsOf(set, fragments).some((f) => names.includes(f.name.value)),
  );
}

function termsOf(text: unknown): readonly SearchTerm[] | null {
  if (typeof text !== 'string') return null;
  try {
    return searchTerms(text);
  } catch {
    return null; // the resolver reports what is wrong with the text
  }
}

/**
 * A root field that may search, with what its estimate needs of the document worked out once per document: the
 * arguments it reads, how many passes it makes over its matches, whether its page is highlighted.
 */
interface SearchingField {
  /** The arguments read, as the document gives them (absent: not given): `query`, `filter`, `first`, `last`. */
  query: GivenArgument | undefined;
  filter: GivenArgument | undefined;
  first: GivenArgument | undefined;
  last: GivenArgument | undefined;
  /** Passes over the matches: one for the page, one more for `totalCount`; a facet list one per facet asked. */
  passes: number;
  /** `search` asks for snippets or matched fields of its edges: each row of the page is highlighted. */
  highlighted: boolean;
}

/** An argument's value in the document (a literal or variables) and the type it is read as. */
interface GivenArgument {
  node: ValueNode;
  type: GraphQLInputType;
}

function searchingField(schema: GraphQLSchema, field: FieldNode, fragments: Fragments): SearchingField {
  const name = field.name.value;
  const definitions = schema.getQueryType()!.getFields()[name]!.args;
  const argument = (argumentName: string): GivenArgument | undefined => {
    const node = field.arguments?.find((a) => a.name.value === argumentName)?.value;
    const definition = definitions.find((a) => a.name === argumentName);
    return node && definition ? { node, type: definition.type } : undefined;
  };
  const counted = selects(field, fragments, [], ['totalCount']) ? 1 : 0;
  return {
    query: argument('query'),
    filter: argument('filter'),
    first: argument('first'),
    last: argument('last'),
    passes: name === 'modelFacets' ? Math.max(1, fieldsOf(field.selectionSet, fragments).length) : 1 + counted,
    highlighted: name === 'search' && selects(field, fragments, ['edges'], ['snippet', 'matchedFields']),
  };
}

/** The estimated cost of each search an operation's root fields would run (microseconds). */
async function searchCosts(
  context: GraphQLContext,
  fields: readonly SearchingField[],
  variables: Record<string, unknown>,
): Promise<number[]> {
  const costs: number[] = [];
  // An argument's value for this request's variables (undefined for a variable the request leaves out).
  const value = (argument: GivenArgument | undefined) =>
    argument ? valueFromAST(argument.node, argument.type, variables) : undefined;
  for (const searching of fields) {
    const filter = value(searching.filter) as { query?: unknown } | null | undefined;
    const rows = (value(searching.last) ?? value(searching.first) ?? DEFAULT_PAGE_SIZE) as number;
    for (const [text, highlightedRows] of [
      [value(searching.query), searching.highlighted ? rows : 0],
      [filter?.query, 0],
    ] as const) {
      const terms = termsOf(text);
      if (!terms) continue;
      // Every search of the operation meets an index build here, before anything runs (the estimate alone reads the
      // index only for words it has not kept at this revision).
      if (costs.length === 0) await ensureSearchIndexCurrent(context.db);
      costs.push(await estimateSearchCost(context.db, { terms, highlightedRows, passes: searching.passes }));
    }
  }
  return costs;
}

/** An operation's root fields that may search: `search`, and `models` or `modelFacets` given a `filter`. */
interface SearchingFields {
  operation: OperationDefinitionNode;
  fields: SearchingField[];
}

/** Per parsed document (the parse cache hands out one per text) and operation name: what may search in it. */
const searchingFieldsOf = new WeakMap<DocumentNode, Map<string, SearchingFields | null>>();

function searchingFields(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
): SearchingFields | null {
  let byName = searchingFieldsOf.get(document);
  if (!byName) {
    byName = new Map();
    searchingFieldsOf.set(document, byName);
  }
  const key = operationName ?? '';
  if (byName.has(key)) return byName.get(key)!;
  const operation = getOperationAST(document, operationName);
  let found: SearchingFields | null = null;
  if (operation?.operation === 'query') {
    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const definition of document.definitions)
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
    const fields = fieldsOf(operation.selectionSet, fragments).filter(
      (field) =>
        field.name.value === 'search' ||
        ((field.name.value === 'models' || field.name.value === 'modelFacets') &&
          field.arguments?.some((argument) => argument.name.value === 'filter')),
    );
    if (fields.length > 0)
      found = { operation, fields: fields.map((field) => searchingField(schema, field, fragments)) };
  }
  byName.set(key, found);
  return found;
}

type OnExecute = NonNullable<Plugin<GraphQLContext>['onExecute']>;

/** Refuses the operation (a result instead of execution) when its searches would cost too much. */
async function chargeSearches(
  { args, setResultAndStopExecution }: Parameters<OnExecute>[0],
  { operation, fields }: SearchingFields,
): Promise<void> {
  const coerced = coercedVariables(
    args.schema,
    operation.variableDefinitions ?? NO_DEFINITIONS,
    args.variableValues as Record<string, unknown> | undefined,
  );
  if (coerced.errors) return; // execution reports them
  let costs: number[];
  try {
    costs = await searchCosts(args.contextValue as GraphQLContext, fields, coerced.coerced);
  } catch (error) {
    // The index is still being built: a temporary refusal, which scripts retry (as after a time limit).
    if (!isAppError(error) || error.code !== 'SEARCH_INDEX_BUILDING') throw error;
    setResultAndStopExecution({ errors: [fromAppError(error)] });
    return;
  }
  const total = costs.reduce((a, b) => a + b, 0);
  const widest = Math.max(0, ...costs);
  if (widest > SEARCH_COST_LIMITS.offloadAboveUs) (args.contextValue as GraphQLContext).scope.searchesAreHeavy = true;
  const [limit, what] =
    widest > SEARCH_COST_LIMITS.perSearchUs
      ? [SEARCH_COST_LIMITS.perSearchUs, 'A search here']
      : total > SEARCH_COST_LIMITS.perRequestUs
        ? [SEARCH_COST_LIMITS.perRequestUs, 'The searches of this request']
        : [null, ''];
  if (limit === null) return;
  setResultAndStopExecution({
    errors: [
      createGraphQLError(
        `${what} would take about ${Math.round(Math.max(widest, total) / 1000)} ms of work; the limit is ${limit / 1000} ms. ` +
          'Use fewer or longer words (prefixes like `l*` match a lot), ask for fewer rows with snippets, or split the request.',
        {
          extensions: { code: 'LIMIT_EXCEEDED', limit, cost: Math.round(Math.max(widest, total)) },
        },
      ),
    ],
  });
}

export function searchBudgetPlugin(): Plugin<GraphQLContext> {
  return {
    onExecute(payload) {
      // Most operations search nothing (a list page, a model): they cost no variable coercion here, and no promise.
      const { args } = payload;
      const searching = searchingFields(args.schema, args.document, args.operationName);
      if (searching) return chargeSearches(payload, searching);
    },
  };
}

/**
 * Guards that run while a document is parsed and validated, before any resolver: nesting of the query text (before
 * the parser recurses into it), fields per selection set (before graphql-js compares every pair of them), aliases,
 * tokens and directives (graphql-armor). Depth, breadth and complexity — which need the schema's page sizes — are
 * the Pothos complexity plugin's (see QUERY_LIMITS). Every rejection carries `extensions.code = LIMIT_EXCEEDED`
 * and the limit in `extensions.limit`.
 */
import { GraphQLError, Kind, visit, type DocumentNode, type ValidationRule } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { QUERY_LIMITS, type QueryLimits } from '../catalog/query-limits.ts';
import { rulesAddedOnce } from './validation-cache.ts';

function limitError(message: string, limit: number): GraphQLError {
  return createGraphQLError(message, { extensions: { code: 'LIMIT_EXCEEDED', limit, http: { status: 400 } } });
}

/** Deepest nesting of `{`, `[` and `(` in GraphQL text, outside strings and comments (one linear pass). */
export function textNesting(source: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x23) {
      // # comment to the end of the line
      const end = source.indexOf('\n', i);
      if (end < 0) break;
      i = end;
    } else if (c === 0x22) {
      // "string" or """block string"""
      if (source.startsWith('"""', i)) {
        const end = source.indexOf('"""', i + 3);
        if (end < 0) break;
        i = end + 2;
      } else {
        for (i++; i < source.length && source.charCodeAt(i) !== 0x22; i++) if (source.charCodeAt(i) === 0x5c) i++;
      }
    } else if (c === 0x7b || c === 0x5b || c === 0x28) {
      deepest = Math.max(deepest, ++depth);
    } else if (c === 0x7d || c === 0x5d || c === 0x29) {
      depth--;
    }
  }
  return deepest;
}

/** Per parsed document (yoga's parse cache hands out the same one for the same text): its widest selection. */
const widestOf = new WeakMap<DocumentNode, number>();

/** The most fields (aliases included) any one selection set of the document lists. */
export function widestSelection(document: DocumentNode): number {
  const known = widestOf.get(document);
  if (known !== undefined) return known;
  let widest = 0;
  visit(document, {
    SelectionSet(node) {
      widest = Math.max(widest, node.selections.filter((s) => s.kind === Kind.FIELD).length);
    },
  });
  widestOf.set(document, widest);
  return widest;
}

/** Refuses deeply nested text before parsing and over-wide selections before validation. */
export function queryShapePlugin(): Plugin {
  return {
    onParse({ params }) {
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      if (textNesting(source) > QUERY_LIMITS.textNesting) {
        throw limitError(
          `Query text nests brackets at most ${QUERY_LIMITS.textNesting} levels deep.`,
          QUERY_LIMITS.textNesting,
        );
      }
    },
    onValidate({ params, setResult }) {
      const widest = widestSelection(params.documentAST);
      if (widest > QUERY_LIMITS.fieldsPerSelection) {
        setResult([
          limitError(
            `A selection set lists ${widest} fields; at most ${QUERY_LIMITS.fieldsPerSelection} are allowed.`,
            QUERY_LIMITS.fieldsPerSelection,
          ),
        ]);
        return;
      }
      // graphql-js gives up on documents whose fields take too many comparisons to merge ("Validation aborted.").
      return ({ result, setResult: replace }) => {
        if (result.some((error) => error.message === 'Validation aborted.')) {
          replace([
            limitError(
              'The query repeats fields too often to be checked; ask for each field once per selection.',
              QUERY_LIMITS.fieldsPerSelection,
            ),
          ]);
        }
      };
    },
  };
}

export function queryGuardPlugins(limits: QueryLimits) {
  const tag = (limit: number) => (_context: unknown, error: GraphQLError) => {
    Object.assign(error.extensions, { code: 'LIMIT_EXCEEDED', limit });
  };
  const common = { exposeLimits: true, propagateOnRejection: true };
  return [
    queryShapePlugin(),
    // Aliased `__typename` counts too (armor exempts it by default): thousands of them still cost a response each.
    rulesAddedOnce(maxAliasesPlugin({ n: limits.aliases, allowList: [], ...common, onReject: [tag(limits.aliases)] })),
    maxTokensPlugin({ n: limits.tokens, ...common, onReject: [tag(limits.tokens)] }),
    rulesAddedOnce(maxDirectivesPlugin({ n: limits.directives, ...common, onReject: [tag(limits.directives)] })),
  ];
}

/** Refuses `__schema` and `__type` (DIFFUSION_NEXUS_INTROSPECTION=false); `__typename` stays allowed. */
const noIntrospection: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === '__schema' || node.name.value === '__type') {
      context.reportError(
        new GraphQLError('Introspection is turned off on this server (DIFFUSION_NEXUS_INTROSPECTION=false).', {
          nodes: [node],
          extensions: { code: 'INTROSPECTION_DISABLED' },
        }),
      );
    }
  },
});

export function introspectionDisabledPlugin(): Plugin {
  return { onValidate: ({ addValidationRule }) => addValidationRule(noIntrospection) };
}

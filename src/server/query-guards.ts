/**
 * Guards that run while a document is parsed and validated, before any resolver: aliases, tokens and directives
 * (graphql-armor). Depth, breadth and complexity — which need the schema's page sizes — are the Pothos complexity
 * plugin's (see QUERY_LIMITS). Every rejection carries `extensions.code = LIMIT_EXCEEDED` and names the limit.
 */
import type { GraphQLError } from 'graphql';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { QUERY_LIMITS } from '../resolvers/query-limits.ts';

function tagAsLimitExceeded(_context: unknown, error: GraphQLError): void {
  Object.assign(error.extensions, { code: 'LIMIT_EXCEEDED' });
}

export function queryGuardPlugins() {
  const common = { exposeLimits: true, onReject: [tagAsLimitExceeded], propagateOnRejection: true };
  return [
    maxAliasesPlugin({ n: QUERY_LIMITS.aliases, ...common }),
    maxTokensPlugin({ n: QUERY_LIMITS.tokens, ...common }),
    maxDirectivesPlugin({ n: QUERY_LIMITS.directives, ...common }),
  ];
}

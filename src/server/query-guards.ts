/**
 * Guards that run while a document is parsed and validated, before any resolver: aliases, tokens and directives
 * (graphql-armor). Depth, breadth and complexity — which need the schema's page sizes — are the Pothos complexity
 * plugin's (see QUERY_LIMITS). Every rejection carries `extensions.code = LIMIT_EXCEEDED` and names the limit.
 */
import { GraphQLError, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
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
    // Aliased `__typename` counts too (armor exempts it by default): thousands of them still cost a response each.
    maxAliasesPlugin({ n: QUERY_LIMITS.aliases, allowList: [], ...common }),
    maxTokensPlugin({ n: QUERY_LIMITS.tokens, ...common }),
    maxDirectivesPlugin({ n: QUERY_LIMITS.directives, ...common }),
  ];
}

/** Refuses `__schema` and `__type` (DIFFUSION_NEXUS_INTROSPECTION=false); `__typename` stays allowed. */
const noIntrospection: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === '__schema' || node.name.value === '__type') {
      context.reportError(new GraphQLError('Introspection is turned off on this server (DIFFUSION_NEXUS_INTROSPECTION=false).', {
        nodes: [node], extensions: { code: 'INTROSPECTION_DISABLED' },
      }));
    }
  },
});

export function introspectionDisabledPlugin(): Plugin {
  return { onValidate: ({ addValidationRule }) => addValidationRule(noIntrospection) };
}

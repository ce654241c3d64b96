/**
 * A request's variables coerced once, for every plugin that needs them before execution (the search budget reads
 * its arguments, compiled execution checks them the standard executor's way): ~5 µs each time under load.
 */
import { type GraphQLSchema, getVariableValues, type VariableDefinitionNode } from 'graphql';

type Coerced = ReturnType<typeof getVariableValues>;

/** Per variables object sent (yoga hands every plugin the same one) and the definitions they were coerced for. */
const coercedFor = new WeakMap<object, { definitions: readonly VariableDefinitionNode[]; coerced: Coerced }>();

export function coercedVariables(
  schema: GraphQLSchema,
  definitions: readonly VariableDefinitionNode[],
  variables: Record<string, unknown> | null | undefined,
): Coerced {
  const sent = variables ?? {};
  const kept = coercedFor.get(sent);
  if (kept?.definitions === definitions) return kept.coerced;
  const coerced = getVariableValues(schema, definitions, sent, { maxErrors: 50 });
  coercedFor.set(sent, { definitions, coerced });
  return coerced;
}

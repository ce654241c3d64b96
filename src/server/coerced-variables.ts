/**
 * A request's variables coerced once, for every plugin that needs them before execution (the search budget reads
 * its arguments, compiled execution checks them the standard executor's way): ~5 µs each time under load. The same
 * variables of the same operation coerce alike, so coercions are also kept per operation (its variable definitions,
 * one list per parsed document) and variables' JSON: a page or a search asked again is not coerced again. Callers
 * only read the values.
 */
import { type GraphQLSchema, getVariableValues, type VariableDefinitionNode } from 'graphql';
import { KEPT_PER_OPERATION, KeptByKey, variablesKey } from '../memo.ts';

type Coerced = ReturnType<typeof getVariableValues>;

/** Per variables object sent (yoga hands every plugin the same one) and the definitions they were coerced for. */
const coercedFor = new WeakMap<object, { definitions: readonly VariableDefinitionNode[]; coerced: Coerced }>();

/** Per operation's definitions: coercions by variables' JSON. */
const keptFor = new WeakMap<readonly VariableDefinitionNode[], KeptByKey<Coerced>>();

/** How many times variables were coerced (tests read it: variables seen before are not coerced again). */
export const coercions = { count: 0 };

export function coercedVariables(
  schema: GraphQLSchema,
  definitions: readonly VariableDefinitionNode[],
  variables: Record<string, unknown> | null | undefined,
): Coerced {
  const sent = variables ?? {};
  const known = coercedFor.get(sent);
  if (known?.definitions === definitions) return known.coerced;
  const key = variablesKey(sent);
  let kept = keptFor.get(definitions);
  let coerced = key === null ? undefined : kept?.get(key);
  if (!coerced) {
    coercions.count++;
    coerced = getVariableValues(schema, definitions, sent, { maxErrors: 50 });
    if (key !== null) {
      if (!kept) {
        kept = new KeptByKey(KEPT_PER_OPERATION);
        keptFor.set(definitions, kept);
      }
      kept.set(key, coerced);
    }
  }
  coercedFor.set(sent, { definitions, coerced });
  return coerced;
}

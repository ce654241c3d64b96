/**
 * Validation results kept per parsed document (yoga's parse cache hands out one per document text), in place of
 * yoga's own validation cache, which keys its entries by the names of the rules in force, joined into one string
 * for every request: a name lookup per rule — 33 of them here with the query guards and @defer's — cost 2 % of a
 * name search's time. Here an entry keeps the rules it was made with, and a request uses it when its rules are the
 * same functions in the same order (compared by identity), for the same schema; otherwise the document is
 * validated again and the entry replaced. For that, a plugin that adds rules adds the same functions every time
 * (`rulesAddedOnce`).
 *
 * It must come after every plugin that adds a rule, so that it sees them all (`app.ts` puts it last).
 */
import type { DocumentNode, GraphQLSchema, ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

interface Validated {
  schema: GraphQLSchema;
  rules: readonly ValidationRule[];
  result: readonly Error[];
}

const NO_RULES: readonly ValidationRule[] = [];

function sameRules(a: readonly ValidationRule[], b: readonly ValidationRule[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** How many times a document's validation result was made (tests read it: a kept one is not made again). */
export const validationsMade = { count: 0 };

export function validationCachePlugin(): Plugin {
  const validated = new WeakMap<DocumentNode, Validated>();
  return {
    onValidate({ params: { schema, documentAST, rules = NO_RULES }, setResult }) {
      const kept = validated.get(documentAST);
      if (kept && kept.schema === schema && sameRules(kept.rules, rules)) {
        setResult(kept.result);
        return;
      }
      // Copied: the request's list is its own, and later plugins may still add to it.
      const inForce = [...rules];
      return ({ result }) => {
        validationsMade.count++;
        validated.set(documentAST, { schema, rules: inForce, result });
      };
    },
  };
}

/**
 * `plugin` adding, for every request, the validation rules its own hook adds — made once, when it is wrapped. The
 * query guards make a new rule function per request and @defer's plugin filters the rules by name (into a list
 * envelop never reads back: it validates with the list rules are added to), so neither could be found again in
 * the cache above, and each cost a name lookup per rule. Only for hooks whose rules do not depend on the request.
 */
export function rulesAddedOnce<P extends { onValidate?: unknown }>(plugin: P): P {
  const onValidate = plugin.onValidate as ((payload: unknown) => unknown) | undefined;
  if (!onValidate) throw new Error('rulesAddedOnce: the plugin adds no validation rules.');
  const rules: ValidationRule[] = [];
  onValidate({ params: { rules: [] }, addValidationRule: (rule: ValidationRule) => void rules.push(rule) });
  if (rules.length === 0) throw new Error('rulesAddedOnce: the plugin added no validation rules.');
  return {
    ...plugin,
    onValidate: ({ addValidationRule }: { addValidationRule: (rule: ValidationRule) => void }) => {
      for (const rule of rules) addValidationRule(rule);
    },
  };
}

/**
 * The complexity plugin measures an operation (complexity, depth, breadth) anew for every request: a walk of its
 * whole selection that also reads every paged field's arguments — 3 % of a name search's server time under load.
 * The measure depends only on the operation and its variables' values (no field's complexity here reads the
 * context: see `builder.ts` and `pageComplexity`), so it is remembered per parsed operation (yoga's parse cache hands
 * out one per document text) and per variables. A request whose remembered measure is within its limits skips the
 * walk; every other request — not remembered yet, or over a limit — is checked by the plugin itself, as before, which
 * throws its own coded error.
 *
 * The plugin does not offer this, so its check is wrapped on its registered class (a Pothos plugin is one class per
 * name, shared by every builder). The wrap refuses to start if the class no longer has the method it wraps.
 */
import SchemaBuilder from '@pothos/core';
import type { GraphQLResolveInfo, OperationDefinitionNode } from 'graphql';
import { KEPT_PER_OPERATION, KeptByKey, variablesKey } from '../memo.ts';

interface Measure {
  complexity: number;
  depth: number;
  breadth: number;
}

interface ComplexityPluginMethods {
  getMax(context: object): Partial<Measure> | null;
  complexityCache(context: object, info: GraphQLResolveInfo): Measure;
  checkComplexity(context: object, info: GraphQLResolveInfo): void;
}

const measures = new WeakMap<OperationDefinitionNode, KeptByKey<Measure>>();

/** How many times an operation was measured (tests read it: a remembered one is not measured again). */
export const complexityWalks = { count: 0 };

/** As the plugin decides: a measure exceeds a limit only when that limit is a number below it. */
function isWithin(measure: Measure, max: Partial<Measure>): boolean {
  return (['complexity', 'depth', 'breadth'] as const).every(
    (kind) => typeof max[kind] !== 'number' || max[kind] >= measure[kind],
  );
}

/**
 * The variables the request sent, which yoga keeps in the context (its `params`): the operation's coerced values are
 * a function of them, so they key its measure as well, and the search budget has keyed that same object already
 * (`coerced-variables.ts`). The executor's coerced copy is a new object every request.
 */
function sentVariables(context: object): object | undefined {
  const variables = (context as { params?: { variables?: unknown } }).params?.variables;
  return typeof variables === 'object' && variables !== null ? variables : undefined;
}

let installed = false;

/** Wraps the complexity plugin's check (once per process). */
export function rememberComplexityMeasures(): void {
  if (installed) return;
  const plugin = (SchemaBuilder as unknown as { plugins: Record<string, { prototype: ComplexityPluginMethods }> })
    .plugins.complexity;
  const check = plugin?.prototype.checkComplexity;
  if (typeof check !== 'function' || typeof plugin?.prototype.getMax !== 'function') {
    throw new Error('@pothos/plugin-complexity changed: it has no checkComplexity to wrap (see complexity-memo.ts).');
  }
  installed = true;
  plugin.prototype.checkComplexity = function checkRemembered(this: ComplexityPluginMethods, context, info) {
    const max = this.getMax(context);
    const key = max ? variablesKey(sentVariables(context) ?? info.variableValues) : null;
    if (max && key !== null) {
      let byVariables = measures.get(info.operation);
      let measure = byVariables?.get(key);
      if (!measure) {
        // The plugin's own measure, kept in its per-request cache: the check below does not walk again.
        complexityWalks.count++;
        measure = this.complexityCache(context, info);
        if (!byVariables) {
          byVariables = new KeptByKey(KEPT_PER_OPERATION);
          measures.set(info.operation, byVariables);
        }
        byVariables.set(key, measure);
      } else if (isWithin(measure, max)) return;
    } else if (max) complexityWalks.count++;
    check.call(this, context, info);
  };
}

/**
 * Hot queries and mutations run compiled (graphql-jit): an operation is compiled once into a function that resolves
 * exactly its selection, instead of graphql-js walking the selection field by field with a promise per field. The
 * compiled form is cached per parsed document (a WeakMap: it lives as long as yoga's bounded document cache keeps
 * the document). Measured by `npm run bench` (the answers are compared with the baselines' before timing, and the
 * test suite runs on it).
 *
 * Compiling is synchronous and costs about 0.1–0.2 ms a field (a 440-field document: 80 ms), so it must not become a
 * way to stall the event loop: only a document seen before (`COMPILE.minUses`), of at most `COMPILE.maxFields`
 * fields, is compiled, and compiling takes at most `COMPILE.budgetMsPerSecond` of each second (after a burst); the rest — one-off and large
 * documents, every subscription, documents with @defer or @stream (graphql-jit would answer them whole), and what
 * graphql-jit cannot compile — runs on the standard executor.
 *
 * graphql-jit coerces variables itself, with its own messages, which drop a scalar's explanation ("… an ISO-8601
 * date …"). So variables are coerced first as the standard executor does, and an operation with a bad variable is answered as
 * the standard executor answers it (a BAD_USER_INPUT per variable); the compiled function then coerces the same,
 * valid, values again (cheap).
 *
 * What the compiled executor does not do is stop between fields when the request's signal fires. Nothing is lost
 * by that: every statement checks the request's scope first (`RequestScope`), so a request whose client left or
 * whose time ran out reads nothing more, and its answer is never sent.
 */
import {
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  GraphQLError,
  type GraphQLSchema,
  getLocation,
  getOperationAST,
  visit,
} from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import { coercedVariables } from './coerced-variables.ts';

/**
 * Field errors without stack traces: a request whose client left fails each of its remaining fields at once (the
 * scope refuses their statements), and capturing a stack for each of thousands of them was the cost that remained.
 */
const COMPILER_OPTIONS = { disablingCapturingStackErrors: true };

/** Which documents are compiled (see above). */
export const COMPILE = { minUses: 2, maxFields: 150, budgetMsPerSecond: 50, burstMs: 250 } as const;

interface DocumentEntry {
  fields: number;
  /** The document uses @defer or @stream, which graphql-jit does not deliver incrementally: never compiled. */
  incremental: boolean;
  uses: number;
  /** The document's fields by "line:column", made when a compiled run first has errors. */
  fieldsAt?: Map<string, FieldNode>;
  /** Per operation name: the compiled operation, or null when it runs on the standard executor. */
  compiled: Map<string | null, CompiledQuery | null>;
}

function documentShape(document: DocumentNode): { fields: number; incremental: boolean } {
  let fields = 0;
  let incremental = false;
  visit(document, {
    Field: () => {
      fields++;
    },
    Directive: (node) => {
      if (node.name.value === 'defer' || node.name.value === 'stream') incremental = true;
    },
  });
  return { fields, incremental };
}

export interface CompiledExecutionOptions {
  /** Told when an operation cannot be compiled (it then runs on the standard executor). */
  onCompileFailure?: (operationName: string | null, errors: readonly GraphQLError[]) => void;
  /** Told, with the operation's context and kind, when an operation runs compiled. */
  onCompiledRun?: (run: { contextValue: unknown; operation: string }) => void;
}

export function compiledExecutionPlugin(options: CompiledExecutionOptions = {}): Plugin {
  const documents = new WeakMap<DocumentNode, DocumentEntry>();
  // Compile time as a token bucket: bursts of a few compiles, at most `budgetMsPerSecond` sustained.
  let budget: { ms: number; at: number } = { ms: COMPILE.burstMs, at: performance.now() };

  /** The compiled operation, compiling it now if this document qualifies; undefined: run it uncompiled. */
  const compiledFor = (schema: GraphQLSchema, document: DocumentNode, name: string | null) => {
    let entry = documents.get(document);
    if (!entry) documents.set(document, (entry = { ...documentShape(document), uses: 0, compiled: new Map() }));
    entry.uses++;
    if (entry.compiled.has(name)) return entry.compiled.get(name) ?? undefined;
    if (entry.uses < COMPILE.minUses || entry.fields > COMPILE.maxFields || entry.incremental) return undefined;
    const started = performance.now();
    const refill = ((started - budget.at) / 1000) * COMPILE.budgetMsPerSecond;
    budget = { ms: Math.min(COMPILE.burstMs, budget.ms + refill), at: started };
    if (budget.ms <= 0) return undefined;
    const result = compileQuery(schema, document, name ?? undefined, COMPILER_OPTIONS);
    budget.ms -= performance.now() - started;
    const compiled = isCompiledQuery(result) ? result : null;
    if (!isCompiledQuery(result)) options.onCompileFailure?.(name, result.errors ?? []);
    entry.compiled.set(name, compiled);
    return compiled ?? undefined;
  };

  return {
    onExecute({ args, setExecuteFn, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation || operation.operation === 'subscription') return;
      const compiled = compiledFor(args.schema, args.document, args.operationName ?? null);
      if (!compiled) return;
      const definitions = operation.variableDefinitions ?? [];
      if (definitions.length > 0) {
        const coerced = coercedVariables(args.schema, definitions, args.variableValues);
        if (coerced.errors) {
          setResultAndStopExecution({ errors: coerced.errors.map(asUserInputError) });
          return;
        }
      }
      options.onCompiledRun?.({ contextValue: args.contextValue, operation: operation.operation });
      const entry = documents.get(args.document)!;
      const located = (result: ExecutionResult): ExecutionResult => {
        if (!result.errors?.length) return result;
        entry.fieldsAt ??= fieldsByLocation(args.document);
        return { ...result, errors: result.errors.map((error) => withNodes(error, entry.fieldsAt!)) };
      };
      // No async wrapper: a promise the compiled function returns is passed on with one reaction, not two.
      setExecuteFn((run) => {
        const result = compiled.query(run.rootValue, run.contextValue, run.variableValues);
        return result instanceof Promise ? result.then(located) : located(result);
      });
    },
  };
}

function fieldsByLocation(document: DocumentNode): Map<string, FieldNode> {
  const fields = new Map<string, FieldNode>();
  visit(document, {
    Field: (node) => {
      if (!node.loc) return;
      const { line, column } = getLocation(node.loc.source, node.loc.start);
      fields.set(`${line}:${column}`, node);
    },
  });
  return fields;
}

/**
 * graphql-jit locates a field error by line and column only; yoga re-makes every error from its AST nodes when it
 * answers, which would drop them. The error gets its field's node back, as graphql-js gives it.
 */
function withNodes(error: GraphQLError, fieldsAt: Map<string, FieldNode>): GraphQLError {
  if (error.nodes || !error.locations) return error;
  const nodes = error.locations.flatMap(({ line, column }) => fieldsAt.get(`${line}:${column}`) ?? []);
  if (nodes.length === 0) return error;
  return new GraphQLError(error.message, {
    nodes,
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: error.extensions,
  });
}

/** A variable's coercion error as yoga answers it from the standard executor: BAD_USER_INPUT, HTTP 400. */
function asUserInputError(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    originalError: error.originalError,
    extensions: { ...error.extensions, code: 'BAD_USER_INPUT', http: { status: 400 } },
  });
}

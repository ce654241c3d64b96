/**
 * A prepared query's context and execution, run from yoga's plugins' own hooks without envelop's per-request
 * machinery (issue 14). For every request, envelop's `getEnveloped` wraps parse, validate, context and execute
 * (instrumentation wrappers and closures, of which a prepared query uses two), and its execute step gives each
 * `onExecute` hook a payload of fresh closures and chains the hooks through promise helpers. Here the same hooks,
 * taken from the same plugin list in the same order, get what envelop gives them — the context, `extendContext`,
 * the arguments, the executor so far and the setters — from closures made once per request, and run in one loop
 * that awaits only what a hook answers with a promise (or any thenable). What envelop does is kept: a hook's
 * `setResultAndStopExecution` ends the loop and, unless the result it sets is empty, stands in for the executor;
 * every `onExecuteDone` collected up to then runs after, in order, and may replace the result; `onContextBuilding`
 * hooks and their after-hooks build the context as envelop's context factory does. One thing is not: envelop hands
 * an error thrown while the context is built to the handlers plugins registered for it (the masked-errors plugin's
 * masks it) before yoga masks it again; here it reaches the caller as thrown, and `direct-answer.ts` masks it as
 * yoga does (the answer is the same; the original error is logged twice, as yoga logs an error thrown during
 * execution, where the other path logs it once).
 *
 * Only for the plugins yoga 5.24 is built with here: a plugin with `onEnveloped` or `instrumentation` (which
 * `getEnveloped` would run per request) turns this off (`preparedExecution` answers null), and then nothing is
 * prepared: every request runs through yoga's `getResultForParams`. A prepared query ran compiled before, so it is a
 * query without @defer or @stream: its result is one value, never a stream (an `onExecuteDone` hook's
 * `onNext`/`onEnd` parts are for streams; a stream here is refused as a failure). `direct-answer.test.ts` compares
 * prepared answers with yoga's.
 */
import type { DocumentNode, ExecutionArgs, GraphQLSchema } from 'graphql';
// yoga's own checks, as envelop's promise helpers make them: any object with a `then` (their synchronous "fake
// promises" included) is waited for, not only a native promise.
import { isAsyncIterable, isPromise, type Plugin } from 'graphql-yoga';

type AnyPlugin = Plugin<Record<string, unknown>>;
type ExecuteFn = (args: ExecutionArgs) => unknown;
type OnExecute = (payload: {
  executeFn: ExecuteFn;
  setExecuteFn(fn: ExecuteFn): void;
  setResultAndStopExecution(result: unknown): void;
  context: Record<string, unknown>;
  extendContext(extension: Record<string, unknown>): void;
  args: ExecutionArgs;
}) => unknown;
type OnExecuteDone = (payload: { args: ExecutionArgs; result: unknown; setResult(result: unknown): void }) => unknown;
type OnContextBuilding = (payload: {
  context: Record<string, unknown>;
  extendContext(extension: Record<string, unknown>): void;
  breakContextBuilding(): void;
}) => unknown;
type AfterContextBuilding = (payload: {
  context: Record<string, unknown>;
  extendContext(extension: Record<string, unknown>): void;
}) => unknown;

/** Runs a prepared query's document for a context yoga's request handling has filled in (request, parameters). */
export type PreparedExecution = (
  document: DocumentNode,
  params: { variables?: unknown; operationName?: unknown },
  context: Record<string, unknown>,
) => Promise<unknown>;

const notSet: ExecuteFn = () => {
  throw new Error('No executor: the engine plugin sets it in its onExecute hook.');
};

/** The prepared path for these plugins (yoga's list, in its order), or null where it cannot stand in for envelop. */
export function preparedExecution(plugins: readonly unknown[], schema: GraphQLSchema): PreparedExecution | null {
  const contextHooks: OnContextBuilding[] = [];
  const executeHooks: OnExecute[] = [];
  for (const plugin of plugins as (AnyPlugin | null | undefined | false)[]) {
    if (!plugin) continue;
    if ('onEnveloped' in plugin || 'instrumentation' in plugin) return null;
    if (plugin.onContextBuilding) contextHooks.push(plugin.onContextBuilding as unknown as OnContextBuilding);
    if (plugin.onExecute) executeHooks.push(plugin.onExecute as unknown as OnExecute);
  }

  /** Builds the context; a promise only when a hook answers with one (each await is a turn of the microtask queue). */
  const buildContext = (context: Record<string, unknown>): Promise<void> | undefined => {
    const extendContext = (extension: Record<string, unknown>) => {
      Object.assign(context, extension);
    };
    let broken = false;
    const breakContextBuilding = () => {
      broken = true;
    };
    const after: AfterContextBuilding[] = [];
    const building = (from: number): Promise<void> | undefined => {
      for (let i = from; i < contextHooks.length; i++) {
        const done = contextHooks[i]!({ context, extendContext, breakContextBuilding });
        if (isPromise(done))
          return Promise.resolve(done).then((value) => {
            if (value) after.push(value as AfterContextBuilding);
            return broken ? undefined : building(i + 1);
          });
        if (done) after.push(done as AfterContextBuilding);
        if (broken) return;
      }
      return finishing(0);
    };
    const finishing = (from: number): Promise<void> | undefined => {
      for (let i = from; i < after.length; i++) {
        const done = after[i]!({ context, extendContext });
        if (isPromise(done)) return Promise.resolve(done).then(() => finishing(i + 1));
      }
    };
    return building(0);
  };

  return async (document, params, context) => {
    const building = buildContext(context);
    if (building) await building;
    const args = {
      schema,
      document,
      contextValue: context,
      variableValues: params.variables,
      operationName: params.operationName,
    } as ExecutionArgs;
    let executeFn = notSet;
    let result: unknown;
    let stopped = false;
    const setExecuteFn = (fn: ExecuteFn) => {
      executeFn = fn;
    };
    const setResultAndStopExecution = (stopResult: unknown) => {
      result = stopResult;
      stopped = true;
    };
    const extendContext = (extension: Record<string, unknown>) => {
      if (typeof extension !== 'object') throw new Error('A context extension must be an object.');
      Object.assign(context, extension);
    };
    const done: OnExecuteDone[] = [];
    for (const hook of executeHooks) {
      let after = hook({ executeFn, setExecuteFn, setResultAndStopExecution, context, extendContext, args });
      if (isPromise(after)) after = await after;
      const onExecuteDone = (after as { onExecuteDone?: OnExecuteDone } | undefined)?.onExecuteDone;
      if (onExecuteDone) done.push(onExecuteDone);
      if (stopped) break;
    }
    // As envelop: a result a hook set stands in for execution, unless it is empty.
    if (!result) {
      result = executeFn(args);
      if (isPromise(result)) result = await result;
    }
    if (isAsyncIterable(result)) throw new Error('A prepared query answered as a stream.');
    const setResult = (newResult: unknown) => {
      result = newResult;
    };
    for (const onExecuteDone of done) {
      const finished = onExecuteDone({ args, result, setResult });
      if (isPromise(finished)) await finished;
    }
    return result;
  };
}

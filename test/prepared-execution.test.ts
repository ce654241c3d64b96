/**
 * A prepared query's context and execution (`src/server/prepared-execution.ts`) stand in for envelop's: the same
 * plugins, run both ways on the same document, call their hooks in the same order with the same effects and give
 * the same result. The server's own prepared answers are compared with yoga's in direct-answer.test.ts.
 */
import {
  execute,
  GraphQLInt,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  type ExecutionArgs,
} from 'graphql';
import { envelop, type Plugin, useExtendContext, useSchema } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { preparedExecution } from '../src/server/prepared-execution.ts';

type Trace = string[];
type Context = Record<string, unknown> & { trace: Trace };
type AnyPlugin = Plugin<Record<string, unknown>>;

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      greeting: { type: GraphQLString, resolve: (_root, _args, context: Context) => String(context.greeting) },
      extended: { type: GraphQLString, resolve: (_root, _args, context: Context) => String(context.extended) },
      count: { type: GraphQLInt, args: { n: { type: GraphQLInt } }, resolve: (_root, args: { n: number }) => args.n },
    },
  }),
});

const document = parse('query Q($n: Int) { greeting extended count(n: $n) }');

const trace = (context: unknown, line: string) => (context as Context).trace.push(line);

/** What `useEngine` does for execution: the executor every later hook may wrap. */
const engine: AnyPlugin = { onExecute: ({ setExecuteFn }) => setExecuteFn(execute as (args: ExecutionArgs) => never) };

/** Plugins whose hooks write what they see and do into the context's trace. */
function plugins(
  options: { stopAt?: string; emptyStop?: boolean; breakContext?: boolean; asyncContext?: boolean } = {},
): AnyPlugin[] {
  const recorder = (name: string): AnyPlugin => ({
    onExecute: ({ args, context, extendContext, setResultAndStopExecution, executeFn, setExecuteFn }) => {
      trace(context, `${name}: execute, ${args.operationName}, n=${(args.variableValues as { n?: number })?.n}`);
      if (name === 'wrapper')
        setExecuteFn((run) => {
          trace(run.contextValue, 'executor');
          return executeFn(run);
        });
      if (name === 'extender') extendContext({ extended: 'by a hook' });
      if (name === options.stopAt) {
        // An empty result (null) stops the hooks but, as in envelop, not the executor.
        setResultAndStopExecution((options.emptyStop ? null : { data: { stoppedBy: name } }) as never);
        return;
      }
      const done = {
        onExecuteDone: ({ result, setResult }: { result: unknown; setResult(result: unknown): void }) => {
          trace(context, `${name}: done`);
          if (name === 'async')
            setResult({ ...(result as object), extensions: { replacedBy: name, saw: Object.keys(result as object) } });
        },
      };
      // One hook answers through a promise, one through a bare thenable (the promise helpers' own synchronous kind):
      // both ways wait for each before the next.
      if (name === 'async') return Promise.resolve().then(() => done);
      if (name === 'thenable')
        // biome-ignore lint/suspicious/noThenProperty: a thenable that is no Promise is what this hook answers with.
        return { then: (resolve: (value: unknown) => void) => resolve(done) } as unknown as Promise<typeof done>;
      return done;
    },
  });
  return [
    engine,
    useSchema(schema) as AnyPlugin,
    useExtendContext((context: Context) => {
      trace(context, 'context: greeting');
      const extension = { greeting: 'hello' };
      return options.asyncContext ? Promise.resolve(extension) : extension;
    }) as AnyPlugin,
    {
      onContextBuilding: ({ context, breakContextBuilding }) => {
        trace(context, 'context: second');
        if (options.breakContext) breakContextBuilding();
        return () => {
          trace(context, 'context: after');
        };
      },
    },
    recorder('first'),
    recorder('async'),
    recorder('thenable'),
    recorder('extender'),
    recorder('wrapper'),
    recorder('last'),
  ];
}

async function throughEnvelop(list: AnyPlugin[], variables: Record<string, unknown>) {
  const context: Context = { trace: [] };
  const enveloped = envelop({ plugins: list })(context);
  const contextValue = await enveloped.contextFactory();
  const result = await enveloped.execute({
    schema: enveloped.schema,
    document,
    contextValue,
    variableValues: variables,
    operationName: 'Q',
  });
  return { result, context };
}

async function prepared(list: AnyPlugin[], variables: Record<string, unknown>) {
  const context: Context = { trace: [] };
  const run = preparedExecution(list, schema);
  if (!run) throw new Error('not prepared');
  const result = await run(document, { variables, operationName: 'Q' }, context);
  return { result, context };
}

describe('prepared execution', () => {
  it('runs the hooks as envelop does: context, each onExecute in order, the executor, each onExecuteDone', async () => {
    const [a, b] = [await throughEnvelop(plugins(), { n: 3 }), await prepared(plugins(), { n: 3 })];
    expect(b).toEqual(a);
    expect(b.context.trace).toContain('executor');
    expect(b.result).toMatchObject({ data: { greeting: 'hello', extended: 'by a hook', count: 3 } });
    expect(b.result).toMatchObject({ extensions: { replacedBy: 'async' } });
  });

  it('a hook that sets the result stops the rest and the executor; the done-hooks collected so far still run', async () => {
    for (const stopAt of ['first', 'extender', 'last']) {
      const [a, b] = [
        await throughEnvelop(plugins({ stopAt }), { n: 1 }),
        await prepared(plugins({ stopAt }), { n: 1 }),
      ];
      expect(b).toEqual(a);
      expect(b.context.trace).not.toContain('executor');
      expect(b.result).toMatchObject({ data: { stoppedBy: stopAt } });
    }
  });

  it('an empty result set by a hook stops the rest of the hooks, not the executor', async () => {
    const [a, b] = [
      await throughEnvelop(plugins({ stopAt: 'last', emptyStop: true }), { n: 4 }),
      await prepared(plugins({ stopAt: 'last', emptyStop: true }), { n: 4 }),
    ];
    expect(b).toEqual(a);
    expect(b.context.trace).toContain('executor');
    expect(b.result).toMatchObject({ data: { count: 4 } });
  });

  it('a context hook that breaks the building ends it: no later context hook, no after-hook', async () => {
    for (const asyncContext of [false, true]) {
      const [a, b] = [
        await throughEnvelop(plugins({ breakContext: true, asyncContext }), {}),
        await prepared(plugins({ breakContext: true, asyncContext }), {}),
      ];
      expect(b).toEqual(a);
      expect(b.context.trace).not.toContain('context: after');
    }
  });

  it('a context hook that answers with a promise is waited for before the next', async () => {
    const [a, b] = [
      await throughEnvelop(plugins({ asyncContext: true }), { n: 2 }),
      await prepared(plugins({ asyncContext: true }), { n: 2 }),
    ];
    expect(b).toEqual(a);
    expect(b.result).toMatchObject({ data: { greeting: 'hello', count: 2 } });
  });

  it('an error a hook throws reaches the caller both ways', async () => {
    const failing: AnyPlugin = {
      onExecute: () => {
        throw new Error('refused by a hook');
      },
    };
    await expect(throughEnvelop([...plugins(), failing], {})).rejects.toThrow('refused by a hook');
    await expect(prepared([...plugins(), failing], {})).rejects.toThrow('refused by a hook');
  });

  it('stands aside for plugins that envelop runs per request in ways it does not: onEnveloped, instrumentation', () => {
    expect(preparedExecution([...plugins(), { onEnveloped: () => {} }], schema)).toBeNull();
    expect(preparedExecution([...plugins(), { instrumentation: {} }], schema)).toBeNull();
    expect(preparedExecution(plugins(), schema)).not.toBeNull();
  });
});

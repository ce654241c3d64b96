/**
 * Plain JSON queries answered through yoga without its fetch layer. yoga turns every Node request into a WHATWG
 * `Request` and every answer into a `Response` that its adapter then writes to Node (with the hooks of both ends
 * around them): ~90 µs of CPU a request on the benchmark machine, more than a name search's own work (issue 14).
 * For the request most clients send — a POST of `{ query, variables?, operationName? }` as JSON, its body already
 * read and parsed by the listener (`app.ts`) — the hooks at those ends do nothing: no Origin header means no CORS
 * headers and no preflight, a JSON body passes the CSRF guard and has its parser, and only persisted documents are
 * served from the revision cache. So such a request goes straight to what yoga does after parsing: its
 * `getResultForParams` (every `onParams` hook, then parse, validate, context, execute, with yoga's error handling)
 * and its result processors (every `onResultProcess` hook, the media type chosen from Accept, the status from the
 * errors), and the answer is written to Node directly. Everything else — GET, other bodies, an Origin, persisted
 * documents, Accept headers without a JSON type or with a type that takes parts, subscriptions, trusted-documents-
 * only servers — goes through yoga whole. `direct-answer.test.ts` sends the same requests both ways and compares
 * status, headers and bytes.
 *
 * A query this path has answered compiled before is answered prepared (`PreparedOperations`): its text's document is
 * known to parse and validate, so the request goes straight to yoga's context and execution hooks. Parsing and
 * validating again through their hooks (cache look-ups among fifteen hooks) cost 5–14 µs of CPU of a name search's
 * ~180 (alternating rounds against the build before, two runs; issue 14).
 *
 * yoga turns an error a hook throws outside execution (a refusal in `onParams`, say) into an answer; here it would
 * reach the listener as a failure (500). None of the hooks throws for a request this path takes — those they refuse
 * (no query, a document id with a query, trusted documents only) are kept out by `takes`, and the test sends each —
 * so a new hook that refuses plain requests has to be kept out the same way.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DocumentNode, type ExecutionResult, GraphQLError, type GraphQLSchema } from 'graphql';
import { isAsyncIterable, isPromise, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { GraphQLContext } from '../resolvers/context.ts';
import type { RequestScope } from '../db/request-scope.ts';
import type { ServerContext } from './request-log.ts';
import { acceptsParts } from './incremental-delivery.ts';
import { preparedExecution } from './prepared-execution.ts';
import { TextBoundedCache } from './document-cache.ts';
import { KeptByKey } from '../memo.ts';

/** What yoga's result processors build, kept as given: the listener writes it to Node. */
class PlainResponse {
  readonly body: string | null;
  readonly status: number;
  readonly statusText: string | undefined;
  readonly headers: Record<string, string>;
  constructor(
    body: string | null,
    init: { status?: number; statusText?: string; headers?: Record<string, string> } = {},
  ) {
    this.body = body;
    this.status = init.status ?? 200;
    this.statusText = init.statusText;
    this.headers = init.headers ?? {};
  }
}

/** The fetch API the result processors get: all they make is a Response. */
const PLAIN_FETCH_API = { Response: PlainResponse };

/** A Node request as the hooks read a WHATWG one: method, URL, headers (as Node joined them), signal. */
class NodeRequestView {
  readonly method: string;
  readonly headers: { get(name: string): string | null; has(name: string): boolean };
  readonly #req: IncomingMessage;
  readonly #scope: RequestScope;
  constructor(req: IncomingMessage, scope: RequestScope) {
    this.#req = req;
    this.#scope = scope;
    this.method = req.method ?? 'POST';
    const raw = req.headers;
    this.headers = {
      get: (name) => {
        const value = raw[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
      has: (name) => raw[name.toLowerCase()] !== undefined,
    };
  }
  get url(): string {
    return `http://${this.#req.headers.host ?? 'localhost'}${this.#req.url ?? '/'}`;
  }
  /** The request's scope stops when its client leaves or its time runs out (made only when asked for). */
  get signal(): AbortSignal {
    return this.#scope.signal;
  }
}

type ResultProcessor = (result: unknown, fetchAPI: typeof PLAIN_FETCH_API, mediaType: string) => unknown;
type ResultProcessHook = (payload: {
  request: NodeRequestView;
  acceptableMediaTypes: string[];
  result: unknown;
  setResult(result: unknown): void;
  resultProcessor: ResultProcessor | undefined;
  setResultProcessor(processor: ResultProcessor, mediaType: string): void;
  serverContext: ServerContext;
}) => unknown;

type ExecutionResultHook = (payload: {
  result: unknown;
  setResult(result: unknown): void;
  request: NodeRequestView;
  context: ServerContext;
}) => unknown;

/**
 * The parts of yoga 5.24's server this path runs (`getResultForParams`, `getEnveloped` and `plugins` are public;
 * the hooks' lists and the masking options are not).
 */
interface YogaInternals {
  getResultForParams(
    payload: { params: Record<string, unknown>; request: NodeRequestView },
    context: ServerContext,
  ): unknown;
  getEnveloped?: (context: object) => { schema: GraphQLSchema };
  plugins?: unknown[];
  onResultProcessHooks?: ResultProcessHook[];
  onExecutionResultHooks?: ExecutionResultHook[];
  maskedErrorsOpts?: {
    maskError(error: unknown, message: string, isDev: boolean): Error;
    errorMessage: string;
    isDev: boolean;
  } | null;
  logger?: { error(...args: unknown[]): void };
}

/**
 * Only the standard parameters, with the types yoga accepts, and some query text (yoga's hooks refuse a request
 * without, before its operation runs, in an answer of their own); any other key (`extensions`, `documentId`) goes to
 * yoga.
 */
function plainParams(body: unknown): body is { query: string; variables?: unknown; operationName?: unknown } {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || Buffer.isBuffer(body)) return false;
  let query = false;
  for (const key in body) {
    const value = (body as Record<string, unknown>)[key];
    if (key === 'query') query = typeof value === 'string' && value !== '';
    else if (key === 'variables') {
      if (value !== null && (typeof value !== 'object' || Array.isArray(value))) return false;
    } else if (key === 'operationName') {
      if (value !== null && typeof value !== 'string') return false;
    } else return false;
  }
  return query;
}

/** At most this many prepared operations are kept (the least recently used text goes first). */
export const MAX_PREPARED_OPERATIONS = 500;
/**
 * And texts of at most this many characters in all: a query of few fields may still carry up to a body's worth of
 * comment or whitespace, which its document keeps (its source), and 500 of those would hold 500 MiB.
 */
export const MAX_PREPARED_TEXT_CHARS = 4 * 1024 * 1024;

/**
 * Queries this path has answered compiled, by their exact text and operation name: the document yoga parsed and
 * validated for them. The same text is the same document, and everything yoga does before execution — its
 * `onParams` hooks (for plain parameters, which this path takes only), parsing with its guards, validation with its
 * rules — depends on nothing else (the schema is fixed), so a prepared query goes straight to context and execution,
 * where every hook that reads the request (its log, time limit, search budget, turn, write guard) still runs.
 * Only operations that ran compiled are kept: hot, bounded in size, queries (`compiled-execution.ts`).
 */
export class PreparedOperations {
  /** By query text, then operation name (null: none given); each operation counts towards the bound. */
  readonly #byText = new TextBoundedCache<ReadonlyMap<string | null, DocumentNode>>(
    MAX_PREPARED_OPERATIONS,
    MAX_PREPARED_TEXT_CHARS,
    (names) => names.size,
  );
  /**
   * Contexts of requests on this path, with the parameters they were given and, once execution starts, the document
   * as parsed and validated (a hook may run another: `incremental-delivery.ts` drops @defer for clients that cannot
   * take parts, and checks the original's @stream counts against each request's variables).
   */
  readonly #learning = new WeakMap<object, { params: Record<string, unknown>; parsed?: DocumentNode }>();

  find(params: { query: string; operationName?: unknown }): DocumentNode | undefined {
    return this.#byText.get(params.query)?.get((params.operationName as string | null | undefined) ?? null);
  }

  /** A request on this path is about to run through yoga whole: its operation may be learned. */
  watch(context: object, params: Record<string, unknown>): void {
    this.#learning.set(context, { params });
  }

  /** Sees the document each operation starts executing with, before any other hook (first of yoga's plugins). */
  plugin(): Plugin {
    return {
      onExecute: ({ args }) => {
        const learning = this.#learning.get(args.contextValue as object);
        if (learning) learning.parsed ??= args.document;
      },
    };
  }

  /**
   * A query ran compiled: learned if its request came this way with parameters no hook replaced (yoga puts the
   * parameters it ran into the context).
   */
  ranCompiled(args: { contextValue: unknown; operation: string }): void {
    const context = args.contextValue as { params?: unknown };
    const learning = this.#learning.get(context);
    if (learning?.parsed === undefined || context.params !== learning.params || args.operation !== 'query') return;
    this.#learning.delete(context);
    const { params, parsed } = learning;
    const name = (params.operationName as string | null | undefined) ?? null;
    const text = params.query as string;
    const byName = this.#byText.get(text);
    if (byName?.has(name)) return;
    // A new map: the cache counts an entry by the weight it came in with.
    this.#byText.set(text, new Map(byName).set(name, parsed));
  }
}

/**
 * A subscription answers as a stream (the keyword is one token, written out in any subscription; text that merely
 * holds the word takes yoga's path, which answers it the same). `@defer` and `@stream` do only for clients whose
 * Accept takes parts (`acceptsParts`), which go to yoga: for the others the directives are dropped.
 */
const SUBSCRIPTION = /subscription/;
/**
 * Whether yoga answers one JSON document for a result that is not a stream: its result processors take the Accept
 * header's types in the utf-8 charset, and the plain JSON one wins when any of them matches its two types (it is
 * tried last). Otherwise — `text/event-stream` alone, say, which yoga answers as a stream — yoga answers.
 */
export function acceptsPlainJson(accept: string | undefined): boolean {
  if (accept === undefined) return true;
  for (const range of accept.replace(/\s/g, '').toLowerCase().split(',')) {
    const [type = '', ...params] = range.split(';');
    const charset = params.find((param) => param.includes('charset='));
    if (charset !== undefined && charset !== 'charset=utf-8') continue;
    const [main, sub] = type.split('/');
    if ((main === '*' || main === 'application') && (sub === '*' || sub === 'json' || sub === 'graphql-response+json'))
      return true;
  }
  return false;
}

export interface DirectAnswers {
  /** Whether this path answers the request (its body handed over as `req.body`); yoga answers the others. */
  takes(req: IncomingMessage): boolean;
  /** Answers a request it takes. */
  answer(
    req: IncomingMessage,
    res: ServerResponse,
    serverContext: ServerContext & { scope: RequestScope },
  ): Promise<void>;
}

/** What yoga's result-processor hook decides for an Accept header: the processor, its media type, the types tried. */
interface MediaChoice {
  processor: ResultProcessor | undefined;
  mediaType: string;
  acceptable: readonly string[];
}

/** How many Accept headers yoga's hook has chosen for (tests read it: a header seen before is not worked out again). */
export const mediaChoicesMade = { count: 0 };

/** Accept headers longer than this are not remembered (a client's header is its own input). */
const MAX_REMEMBERED_ACCEPT_CHARS = 256;

/**
 * yoga's result-processor hook (`useResultProcessors`: its plugin is the one whose hooks are `onSubscribe` and
 * `onResultProcess`) with its choice remembered per Accept header. For a result that is not a stream its choice
 * depends on that header alone, and working it out — the header split and lower-cased, each of its types matched
 * against each processor's — cost ~5 µs of a name search's request under load (issue 14). The choice is made by the
 * hook itself, once per header, on a request that carries only that header; a stream's result, or a yoga whose
 * plugin is not found so, runs the hook every time (`direct-answer.test.ts` compares both paths' answers).
 */
function rememberedMediaChoice(plugins: readonly unknown[] | undefined, hooks: readonly ResultProcessHook[]) {
  const plugin = plugins?.find((candidate) => {
    if (typeof candidate !== 'object' || candidate === null) return false;
    const keys = Object.keys(candidate).sort();
    return keys.length === 2 && keys[0] === 'onResultProcess' && keys[1] === 'onSubscribe';
  }) as { onResultProcess: ResultProcessHook } | undefined;
  const hook = plugin && hooks.includes(plugin.onResultProcess) ? plugin.onResultProcess : undefined;
  if (!hook) return null;
  const choices = new KeptByKey<MediaChoice>(64);
  const choose = (accept: string | null): MediaChoice => {
    mediaChoicesMade.count++;
    const choice: { processor: ResultProcessor | undefined; mediaType: string; acceptable: string[] } = {
      processor: undefined,
      mediaType: '*/*',
      acceptable: [],
    };
    const headers = { get: (name: string) => (name.toLowerCase() === 'accept' ? accept : null), has: () => false };
    hook({
      request: { headers } as unknown as NodeRequestView,
      acceptableMediaTypes: choice.acceptable,
      result: {},
      setResult() {},
      resultProcessor: undefined,
      setResultProcessor(processor, mediaType) {
        choice.processor = processor;
        choice.mediaType = mediaType;
      },
      serverContext: {},
    });
    return choice;
  };
  return {
    hook,
    /** The choice for this Accept header (null: too long to remember, run the hook). */
    choiceFor(accept: string | null): MediaChoice | null {
      if (accept !== null && accept.length > MAX_REMEMBERED_ACCEPT_CHARS) return null;
      const key = accept ?? '';
      let choice = choices.get(key);
      if (!choice) {
        choice = choose(accept);
        choices.set(key, choice);
      }
      return choice;
    },
  };
}

export function directAnswers(
  yoga: YogaServerInstance<ServerContext, GraphQLContext>,
  options: { directAnswers?: boolean | undefined; trustedDocumentsOnly: boolean },
  prepared?: PreparedOperations,
): DirectAnswers {
  const internals = yoga as unknown as YogaInternals;
  const hooks = internals.onResultProcessHooks;
  // Another yoga version may keep these elsewhere: then every request takes yoga's path (a test sees that).
  const enabled =
    options.directAnswers !== false && typeof internals.getResultForParams === 'function' && Array.isArray(hooks);
  const execution =
    enabled &&
    prepared !== undefined &&
    typeof internals.getEnveloped === 'function' &&
    Array.isArray(internals.plugins)
      ? preparedExecution(internals.plugins, internals.getEnveloped({}).schema)
      : null;
  const mediaChoice = enabled ? rememberedMediaChoice(internals.plugins, hooks!) : null;
  // Read once: yoga's server is a proxy, and each read of it per request goes through its handler.
  const executionResultHooks = internals.onExecutionResultHooks;
  const preparing =
    execution !== null &&
    Array.isArray(internals.onExecutionResultHooks) &&
    typeof internals.maskedErrorsOpts?.maskError === 'function' &&
    internals.logger !== undefined;

  /** yoga's handling of an error thrown before or around execution, with its masking on (as this server has it). */
  const thrown = (error: unknown): GraphQLError[] => {
    if (error != null && typeof error === 'object' && 'errors' in error && Array.isArray(error.errors))
      return [...new Set(error.errors.flatMap(thrown))];
    if ((error as object | null)?.constructor?.name === 'DOMException') {
      const name = (error as DOMException).name;
      if (name === 'AbortError' || name === 'TimeoutError') return [];
    }
    const { maskError, errorMessage, isDev } = internals.maskedErrorsOpts!;
    const masked = maskError(error, errorMessage, isDev);
    if (masked !== error) internals.logger!.error(error);
    return [masked instanceof GraphQLError ? masked : new GraphQLError(masked.message, { originalError: masked })];
  };

  /**
   * A prepared query: what yoga's `getResultForParams` does once its hooks have parsed and validated the text —
   * the context and execution (every `onContextBuilding` and `onExecute` hook: `prepared-execution.ts`), errors
   * handled as yoga does, then its `onExecutionResult` hooks.
   */
  const runPrepared = async (
    document: DocumentNode,
    params: Record<string, unknown>,
    request: NodeRequestView,
    context: ServerContext,
  ): Promise<unknown> => {
    // As yoga's `handleParams`: the context holds the request and the parameters it runs.
    const held = context as ServerContext & { request?: unknown; params?: unknown };
    held.request = request;
    held.params = params;
    let result: unknown;
    try {
      result = await execution!(document, params, context as Record<string, unknown>);
    } catch (error) {
      result = { errors: thrown(error) };
    }
    for (const hook of executionResultHooks!) {
      const done = hook({
        result,
        setResult(newResult) {
          result = newResult;
        },
        request,
        context,
      });
      if (isPromise(done)) await done;
    }
    return result;
  };

  const takes = (req: IncomingMessage): boolean => {
    if (!enabled || options.trustedDocumentsOnly || req.method !== 'POST') return false;
    const headers = req.headers;
    if (headers.origin !== undefined) return false;
    // As yoga's JSON parser matches it (case and all); any other type takes yoga's path to its answer.
    const type = (headers['content-type'] ?? '').split(',')[0]!;
    if (type !== 'application/json' && !type.startsWith('application/json;')) return false;
    if (!acceptsPlainJson(headers.accept) || acceptsParts(headers.accept)) return false;
    const body = (req as IncomingMessage & { body?: unknown }).body;
    return plainParams(body) && !SUBSCRIPTION.test(body.query);
  };

  return {
    takes,
    async answer(req, res, serverContext) {
      const request = new NodeRequestView(req, serverContext.scope);
      const params = (req as IncomingMessage & { body: Record<string, unknown> }).body;
      const context = Object.assign(serverContext, { req, res });
      if (context.requestLog) context.requestLog.direct = true;
      const document = preparing ? prepared!.find(params as { query: string; operationName?: unknown }) : undefined;
      let result: unknown;
      if (document) {
        if (context.requestLog) context.requestLog.prepared = true;
        result = await runPrepared(document, params, request, context);
      } else {
        if (preparing) prepared!.watch(context, params);
        result = await internals.getResultForParams({ params, request }, context);
      }
      // yoga's `processResult`: each hook may set the result and choose a processor by the Accept header.
      let processor: ResultProcessor | undefined;
      let mediaType = '*/*';
      const acceptableMediaTypes: string[] = [];
      for (const hook of hooks!) {
        if (hook === mediaChoice?.hook && !isAsyncIterable(result)) {
          const choice = mediaChoice.choiceFor(request.headers.get('accept'));
          if (choice) {
            acceptableMediaTypes.push(...choice.acceptable);
            if (choice.processor) {
              processor = choice.processor;
              mediaType = choice.mediaType;
            }
            continue;
          }
        }
        const done = hook({
          request,
          acceptableMediaTypes,
          result,
          setResult(newResult) {
            result = newResult;
          },
          resultProcessor: processor,
          setResultProcessor(newProcessor, newMediaType) {
            processor = newProcessor;
            mediaType = newMediaType;
          },
          serverContext: context,
        });
        if (isPromise(done)) await done;
      }
      const response = processor
        ? ((await processor(result as ExecutionResult, PLAIN_FETCH_API, mediaType)) as PlainResponse)
        : new PlainResponse(null, {
            status: 406,
            statusText: 'Not Acceptable',
            headers: { accept: acceptableMediaTypes.join('; charset=utf-8, ') },
          });
      if (!(response instanceof PlainResponse)) throw new Error('A result processor answered with a stream.');
      write(res, response);
    },
  };
}

/** The answer as yoga's Node adapter writes it: status, headers, the body with its length. */
function write(res: ServerResponse, response: PlainResponse): void {
  if (res.headersSent || res.destroyed) return;
  // The result processor's own headers (made for this answer), with the length.
  const headers: Record<string, string | number> = response.headers;
  headers['content-length'] = Buffer.byteLength(response.body ?? '');
  if (response.statusText === undefined) res.writeHead(response.status, headers);
  else res.writeHead(response.status, response.statusText, headers);
  res.end(response.body ?? undefined);
}

/**
 * `@defer` and `@stream` for the clients that can receive their parts. A deferred answer is a stream of parts
 * (`multipart/mixed`, or Server-Sent Events); a client that accepts neither would get 406 from yoga for a document
 * that merely asks to defer. The incremental-delivery proposal lets a server ignore the two directives, so for such
 * a client the document runs without them and is answered whole, as one JSON result.
 */
import { type DocumentNode, Kind, type ValueNode, visit } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

const INCREMENTAL_DIRECTIVES = new Set(['defer', 'stream']);

/** Media types that carry the parts of an incremental answer. */
const INCREMENTAL_MEDIA = /\b(multipart\/mixed|text\/event-stream)\b/i;

/** Whether a request's Accept header takes an answer in parts (else @defer and @stream are dropped, see above). */
export function acceptsParts(accept: string | null | undefined): boolean {
  return INCREMENTAL_MEDIA.test(accept ?? '');
}

/** The document without @defer and @stream, or null when it has neither. */
function withoutIncrementalDirectives(document: DocumentNode): DocumentNode | null {
  let found = false;
  const stripped = visit(document, {
    Directive(node) {
      if (!INCREMENTAL_DIRECTIVES.has(node.name.value)) return undefined;
      found = true;
      return null;
    },
  });
  return found ? stripped : null;
}

/** The `initialCount` arguments of the document's @stream directives. */
function streamCounts(document: DocumentNode): ValueNode[] {
  const counts: ValueNode[] = [];
  visit(document, {
    Directive(node) {
      if (node.name.value !== 'stream') return;
      const count = node.arguments?.find((argument) => argument.name.value === 'initialCount');
      if (count) counts.push(count.value);
    },
  });
  return counts;
}

/**
 * A negative `initialCount` is the client's mistake; the executor would stop on it with an internal error (an
 * invariant). Refused before anything runs, as bad input, whether written out or given in a variable.
 */
function checkStreamCounts(counts: readonly ValueNode[], variables: Record<string, unknown> | undefined): void {
  for (const node of counts) {
    const value =
      node.kind === Kind.INT ? Number(node.value) : node.kind === Kind.VARIABLE ? variables?.[node.name.value] : 0;
    if (typeof value === 'number' && value < 0)
      throw createGraphQLError(`@stream(initialCount:) must be 0 or more, got ${value}.`, {
        extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
      });
  }
}

export function incrementalDeliveryPlugin(): Plugin {
  // Per parsed document (yoga caches those by text): its form without the directives, made once, so that what
  // runs after (the compiled-execution cache) sees one document, not a new one per request.
  const whole = new WeakMap<DocumentNode, DocumentNode | null>();
  const counts = new WeakMap<DocumentNode, ValueNode[]>();
  return {
    onExecute({ args }) {
      let streamed = counts.get(args.document);
      if (streamed === undefined) {
        streamed = streamCounts(args.document);
        counts.set(args.document, streamed);
      }
      if (streamed.length) checkStreamCounts(streamed, args.variableValues as Record<string, unknown> | undefined);
      const request = (args.contextValue as { request?: Request }).request;
      if (!request || acceptsParts(request.headers.get('accept'))) return;
      let stripped = whole.get(args.document);
      if (stripped === undefined) {
        stripped = withoutIncrementalDirectives(args.document);
        whole.set(args.document, stripped);
      }
      if (stripped) (args as { document: DocumentNode }).document = stripped;
    },
  };
}

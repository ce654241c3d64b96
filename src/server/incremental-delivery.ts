/**
 * `@defer` and `@stream` for the clients that can receive their parts. A deferred answer is a stream of parts
 * (`multipart/mixed`, or Server-Sent Events); a client that accepts neither would get 406 from yoga for a document
 * that merely asks to defer. The incremental-delivery proposal lets a server ignore the two directives, so for such
 * a client the document runs without them and is answered whole, as one JSON result.
 */
import { type DocumentNode, visit } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const INCREMENTAL_DIRECTIVES = new Set(['defer', 'stream']);

/** Media types that carry the parts of an incremental answer. */
const INCREMENTAL_MEDIA = /\b(multipart\/mixed|text\/event-stream)\b/i;

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

export function incrementalDeliveryPlugin(): Plugin {
  // Per parsed document (yoga caches those by text): its form without the directives, made once, so that what
  // runs after (the compiled-execution cache) sees one document, not a new one per request.
  const whole = new WeakMap<DocumentNode, DocumentNode | null>();
  return {
    onExecute({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (!request || INCREMENTAL_MEDIA.test(request.headers.get('accept') ?? '')) return;
      let stripped = whole.get(args.document);
      if (stripped === undefined) {
        stripped = withoutIncrementalDirectives(args.document);
        whole.set(args.document, stripped);
      }
      if (stripped) (args as { document: DocumentNode }).document = stripped;
    },
  };
}

/**
 * Turns for GraphQL requests: at most `maxConcurrent` compute at once, the others wait theirs, first come first
 * served. On SQLite a query computes on the event loop (its statements are synchronous), so ten queries in flight
 * finish no sooner than two taking turns: they interleave, and each keeps its variables, rows, loaders and
 * half-built answer alive meanwhile — which the garbage collector then copies and promotes. A CPU profile of 1,000-hash
 * batches from 10 connections showed GC at 15 % of the server's time, against 5 % from 2. Against the same server
 * without turns (the bench's scenarios, alternating rounds at 10 connections), two turns gave +13–35 % throughput on
 * hash batches and detail pages, list and search pages within ±6 %, and 20–80 MiB less peak memory.
 *
 * A request waits after its body has arrived (a slow client never holds a turn) and before the body is parsed (a
 * waiting request holds bytes, not objects); the wait counts towards its time limit, and a request whose client
 * leaves stops waiting. A request gives its turn back while it waits for something else (`RequestScope.away`: the
 * read worker, a write lock), and for good once its operation has executed (the answer is then only serialised and
 * sent; `@defer` and `@stream` parts come after), or once its answer is ready without executing (from the response
 * cache, a 304, an error before execution), or at once when it is not a query: a mutation's work is serialised by
 * the write lock, and a subscription lasts as long as its client. Sending is never done on a turn: yoga waits for a
 * socket to drain before it finishes a large answer, so a client that reads slowly would hold the turn as long as it
 * likes, and one that leaves mid-answer for ever (the socket never drains; every query after it then ran into its
 * time limit).
 */
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Stoppable, Turn, TurnSource } from '../db/request-scope.ts';
import type { GraphQLContext } from '../resolvers/context.ts';
import type { ServerContext } from './request-log.ts';

export class Turns implements TurnSource {
  readonly #max: number;
  readonly #waiting: (() => void)[] = [];
  #running = 0;

  constructor(maxConcurrent: number) {
    this.#max = maxConcurrent;
  }

  /**
   * A turn at once if one is free (nobody waits then: a turn that ends passes straight to the next in line), without
   * the promise and the wait for it that `take` costs; null otherwise, or when the request has stopped.
   */
  takeNow(request: Stoppable): Turn | null {
    try {
      request.throwIfStopped();
    } catch {
      return null; // `take` refuses it
    }
    return this.#free();
  }

  take(request: Stoppable): Promise<Turn> {
    try {
      request.throwIfStopped();
    } catch (stop) {
      return Promise.reject(stop);
    }
    const free = this.#free();
    if (free) return Promise.resolve(free);
    const { signal } = request;
    return new Promise<Turn>((resolve, reject) => {
      const next = () => {
        signal.removeEventListener('abort', leave);
        resolve(this.#turn());
      };
      const leave = () => {
        const at = this.#waiting.indexOf(next);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(signal.reason);
      };
      this.#waiting.push(next);
      signal.addEventListener('abort', leave, { once: true });
    });
  }

  /** A turn if fewer than the most are taken, else null. */
  #free(): Turn | null {
    if (this.#running >= this.#max) return null;
    this.#running++;
    return this.#turn();
  }

  #turn(): Turn {
    let ended = false;
    return {
      end: () => {
        if (ended) return;
        ended = true;
        // The turn passes directly to the next request in line, if any.
        const next = this.#waiting.shift();
        if (next) next();
        else this.#running--;
      },
    };
  }
}

/** Ends a request's turn as soon as its operation no longer needs it (see above). */
export function executionGatePlugin(): Plugin<GraphQLContext, ServerContext> {
  return {
    onSubscribe({ args }) {
      args.contextValue.scope.endTurn();
    },
    onExecute({ args }) {
      const { scope } = args.contextValue;
      if (getOperationAST(args.document, args.operationName)?.operation !== 'query') {
        scope.endTurn();
        return;
      }
      return { onExecuteDone: () => scope.endTurn() };
    },
    // Every answer comes here before it is sent, executed or not.
    onResultProcess({ serverContext }) {
      serverContext.scope?.endTurn();
    },
  };
}

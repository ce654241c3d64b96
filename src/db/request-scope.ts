/**
 * What one request may still do. A request stops being wanted when its time limit passes or its client goes away;
 * from then on every statement it would run fails at once with a coded error, so no work continues for nobody.
 */
import { AppError } from '../errors.ts';
import type { CatalogRevision } from './revision.ts';

export type StopReason = 'TIMEOUT' | 'CLIENT_GONE';

/** One request's turn to compute; ending it again does nothing. */
export interface Turn {
  end(): void;
}

/** What a wait for a turn needs of a request: whether it has stopped, and, only if it has to wait, its signal. */
export interface Stoppable {
  throwIfStopped(): void;
  readonly signal: AbortSignal;
}

/** Where turns come from: resolves once one is free, rejects with the request's stop if it stops first. */
export interface TurnSource {
  take(request: Stoppable): Promise<Turn>;
}

/**
 * Why a request stopped, thrown by everything it still tries. It carries an (empty) `path`: graphql-js keeps an
 * error that has one as it is (`locatedError`), so the thousands of fields still pending in a stopped request share
 * this one error instead of each building its own, with a stack trace and source positions.
 */
export class RequestStopped extends AppError {
  readonly path: readonly (string | number)[] = [];
}

export class RequestScope implements Stoppable {
  /**
   * Made when something asks for `signal`: an AbortSignal costs ~12 µs to make (most of a small request's own
   * bookkeeping in the profiles of issue 14), and a request that runs compiled, without waiting for a turn, needs
   * none — its statements check `stopped`.
   */
  #controller: AbortController | undefined;
  #stopped: RequestStopped | undefined;
  readonly timeoutMs: number | null;

  /**
   * Set when this request's searches are estimated to take long (see `search-budget.ts`): they then run on the
   * read worker. Quick ones stay on the read connection, where a worker's round trip would cost more than they do.
   */
  searchesAreHeavy = false;

  /** The catalog revision as this request read it, once (see `requestCatalogRevision`). */
  catalogRevision: Promise<CatalogRevision | null> | null = null;

  /** The request's turn to compute (see `src/server/execution-gate.ts`), and where to take it again. */
  #turn: { current: Turn | null; turns: TurnSource; over: boolean } | null = null;

  readonly #startedAt: number;

  constructor(timeoutMs: number | null = null) {
    this.timeoutMs = timeoutMs;
    this.#startedAt = performance.now();
  }

  /** Milliseconds until the time limit, counted from when the scope was made (infinite without a limit). */
  msLeft(): number {
    return this.timeoutMs === null ? Number.POSITIVE_INFINITY : this.timeoutMs - (performance.now() - this.#startedAt);
  }

  /** The request computes on `turn`, taken from `turns`. */
  holdTurn(turns: TurnSource, turn: Turn): void {
    this.#turn = { current: turn, turns, over: false };
  }

  /** The request no longer needs turns (its operation has executed, or does not compute here). */
  endTurn(): void {
    if (!this.#turn) return;
    this.#turn.over = true;
    this.#turn.current?.end();
    this.#turn.current = null;
  }

  /**
   * Runs `work`, which waits for something other than this process's event loop (the read worker, a write lock),
   * with the turn handed to the next request in line; the request then waits for a turn again before it goes on.
   */
  async away<T>(work: () => Promise<T>): Promise<T> {
    const held = this.#turn;
    const turn = held?.current;
    if (!held || !turn) return work();
    held.current = null;
    turn.end();
    try {
      return await work();
    } finally {
      if (!held.over) {
        const again = await held.turns.take(this);
        // The request may have finished with turns while it waited for this one.
        if (held.over) again.end();
        else held.current = again;
      }
    }
  }

  /** Aborted (with the RequestStopped error as its reason) when the request stops being wanted. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#stopped) this.#controller.abort(this.#stopped);
    }
    return this.#controller.signal;
  }

  stop(reason: StopReason): void {
    if (this.#stopped) return;
    this.#stopped =
      reason === 'TIMEOUT'
        ? new RequestStopped(
            'TIMEOUT',
            `The request ran past its time limit of ${this.timeoutMs} ms and was stopped.`,
            { limit: this.timeoutMs },
          )
        : new RequestStopped('CLIENT_GONE', 'The client went away; the request was stopped.');
    this.#controller?.abort(this.#stopped);
  }

  /** Told once, instead of the scope stopping itself, when a check finds the time limit passed (see below). */
  #onTimeLimit: (() => void) | null = null;
  #timeLimitSeen = false;

  /**
   * What the owner does when a check finds the time limit passed before the limit's timer ran (it answers TIMEOUT
   * and stops the scope — or, for a subscription that has answered, lets it run on).
   */
  whenTimeLimitPasses(onTimeLimit: () => void): void {
    this.#onTimeLimit = onTimeLimit;
  }

  /**
   * Throws the request's stop. Also the time limit's own check: a request computing without a turn of the event
   * loop to spare (statements one after another within the 20 ms it may compute at a time) would otherwise run
   * past its limit until the limit's timer got a turn, and be answered in full.
   */
  throwIfStopped(): void {
    if (this.#stopped) throw this.#stopped;
    if (this.#timeLimitSeen || this.timeoutMs === null || performance.now() - this.#startedAt < this.timeoutMs) return;
    this.#timeLimitSeen = true;
    if (this.#onTimeLimit) this.#onTimeLimit();
    else this.stop('TIMEOUT');
    if (this.#stopped) throw this.#stopped;
  }
}

/** Work of this process waiting for its turn, first come first served. */
const waiting: (() => void)[] = [];
let turnStarted = performance.now();
let releaseScheduled = false;

function scheduleRelease(): void {
  if (releaseScheduled) return;
  releaseScheduled = true;
  // One waiter per turn of the event loop: between two of them, timers and I/O (/health, other clients) run.
  setImmediate(() => {
    releaseScheduled = false;
    turnStarted = performance.now();
    waiting.shift()?.();
    if (waiting.length > 0) scheduleRelease();
  });
}

/** An I/O callback (a new request) starts a fresh turn of the event loop: the previous turn's work has ended. */
export function turnStarts(): void {
  turnStarted = performance.now();
}

/**
 * Lets the event loop serve other requests (and /health) once this turn has computed for `budgetMs`: chains of
 * synchronous SQL statements and promise continuations never reach timers or I/O otherwise, however many requests
 * interleave. While anyone waits, everyone queues behind them, so one busy request cannot starve the others.
 */
export async function yieldIfBusy(budgetMs = 20): Promise<void> {
  if (waiting.length === 0 && performance.now() - turnStarted < budgetMs) return;
  await new Promise<void>((resolve) => {
    waiting.push(resolve);
    scheduleRelease();
  });
}

/**
 * What one request may still do. A request stops being wanted when its time limit passes or its client goes away;
 * from then on every statement it would run fails at once with a coded error, so no work continues for nobody.
 */
import { AppError } from '../errors.ts';

export type StopReason = 'TIMEOUT' | 'CLIENT_GONE';

export class RequestScope {
  readonly #controller = new AbortController();
  readonly timeoutMs: number | null;
  #reason: StopReason | null = null;

  constructor(timeoutMs: number | null = null) {
    this.timeoutMs = timeoutMs;
  }

  /** Aborted when the request stops being wanted. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get stopped(): StopReason | null {
    return this.#reason;
  }

  stop(reason: StopReason): void {
    if (this.#reason) return;
    this.#reason = reason;
    this.#controller.abort(reason);
  }

  throwIfStopped(): void {
    if (this.#reason === 'TIMEOUT') {
      throw new AppError('TIMEOUT', `The request ran past its time limit of ${this.timeoutMs} ms and was stopped.`, { limit: this.timeoutMs });
    }
    if (this.#reason === 'CLIENT_GONE') throw new AppError('CLIENT_GONE', 'The client went away; the request was stopped.');
  }
}

/** A scope that is never stopped (CLI commands, start-up work). */
export const UNSCOPED = new RequestScope(null);

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

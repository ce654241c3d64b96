/**
 * Requests' time limits: all of one duration, so they run out in the order they started, and one timer — for the
 * earliest still running — serves them all. A Node timer per request (made, filed in the runtime's list, taken out
 * again when the request ends) cost ~3 µs of a name search's request under load (issue 14); here a request's limit is
 * an entry appended to a queue, and ending it marks the entry. Marked entries are dropped as they reach the front.
 */

interface Entry {
  endsAt: number;
  /** Null once the request has ended (its limit no longer runs). */
  onExpiry: (() => void) | null;
}

export interface TimeLimit {
  /** The request ended: its limit no longer runs out. */
  clear(): void;
}

export class TimeLimits {
  readonly #ms: number;
  readonly #entries: Entry[] = [];
  #front = 0;
  #timer: NodeJS.Timeout | null = null;
  readonly #tick = () => {
    this.#timer = null;
    try {
      this.#expire(performance.now());
    } finally {
      // Also after an expiry that threw: the limits behind it still run out.
      this.#schedule();
    }
  };

  /** Limits of `ms` milliseconds. */
  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Calls `onExpiry` once `ms` have passed, unless cleared before. */
  start(onExpiry: () => void): TimeLimit {
    const entry: Entry = { endsAt: performance.now() + this.#ms, onExpiry };
    this.#dropEnded();
    this.#entries.push(entry);
    this.#schedule();
    return {
      clear: () => {
        entry.onExpiry = null;
      },
    };
  }

  /** Limits still running (tests read it). */
  get running(): number {
    let count = 0;
    for (let i = this.#front; i < this.#entries.length; i++) if (this.#entries[i]!.onExpiry) count++;
    return count;
  }

  /** Entries kept (running, or ended behind one that runs): tests read it. */
  get queued(): number {
    return this.#entries.length - this.#front;
  }

  #dropEnded(): void {
    const entries = this.#entries;
    while (this.#front < entries.length && entries[this.#front]!.onExpiry === null) this.#front++;
    // Requests mostly end in the order they start: the front moves on, and the passed entries go in one cut.
    if (this.#front === entries.length) {
      entries.length = 0;
      this.#front = 0;
    } else if (this.#front > 1024 && this.#front * 2 > entries.length) {
      entries.splice(0, this.#front);
      this.#front = 0;
    }
  }

  #expire(now: number): void {
    const entries = this.#entries;
    while (this.#front < entries.length) {
      const entry = entries[this.#front]!;
      if (entry.onExpiry !== null && entry.endsAt > now) break;
      this.#front++;
      const onExpiry = entry.onExpiry;
      entry.onExpiry = null;
      onExpiry?.();
    }
    this.#dropEnded();
  }

  /** One timer, for the entry at the front (a request in flight keeps the process alive, not its limit). */
  #schedule(): void {
    if (this.#timer !== null || this.#front === this.#entries.length) return;
    const wait = Math.max(1, Math.ceil(this.#entries[this.#front]!.endsAt - performance.now()));
    this.#timer = setTimeout(this.#tick, wait).unref();
  }
}

/**
 * Deadlines of one duration on one Node timer. Every GraphQL request has a time limit and every request body an idle
 * limit, each armed and disarmed once a request (the body's again per chunk): a Node timer costs an object, a list
 * insertion and a removal each time, about 1.5 µs of a request that answers in 150 (CPU profile of the bench's name
 * search). Deadlines of one duration fall due in the order they were set, so they wait in a queue, and one timer is
 * armed for the first that is still wanted; a cancelled deadline is only marked, and dropped when it reaches the front.
 * Precision is a Node timer's (due deadlines run in the order they were set, on the first timer tick at or after
 * their time). The timer does not keep the process alive: what a deadline guards (a request, its socket) does.
 */

export interface Deadline {
  /** The deadline will not run (it may have run already). */
  cancel(): void;
}

class Entry implements Deadline {
  readonly at: number;
  fire: (() => void) | null;
  constructor(at: number, fire: () => void) {
    this.at = at;
    this.fire = fire;
  }
  cancel(): void {
    this.fire = null;
  }
}

export class Deadlines {
  readonly #ms: number;
  #queue: Entry[] = [];
  /** Index of the queue's front: entries before it have run or were cancelled. */
  #front = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Deadlines in the queue, cancelled ones not yet dropped included (tests read it: the queue stays short). */
  get queued(): number {
    return this.#queue.length - this.#front;
  }

  /** The duration of every deadline here. */
  get ms(): number {
    return this.#ms;
  }

  /** Runs `fire` in this queue's duration from now, unless cancelled first. */
  add(fire: () => void): Deadline {
    // Deadlines are mostly cancelled in the order they were set (requests end in about the order they came): those
    // at the front go now, so the queue holds about what is still wanted.
    this.#dropCancelled();
    const entry = new Entry(performance.now() + this.#ms, fire);
    this.#queue.push(entry);
    if (this.#timer === null) this.#arm(this.#ms);
    return entry;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#due(), Math.max(1, Math.ceil(ms)));
    this.#timer.unref();
  }

  #dropCancelled(): void {
    const queue = this.#queue;
    while (this.#front < queue.length && queue[this.#front]!.fire === null) this.#front++;
    if (this.#front === queue.length) {
      queue.length = 0;
      this.#front = 0;
    } else if (this.#front > 1024 && this.#front * 2 > queue.length) {
      // Compacted when most of the array is behind the front (each entry moves at most once per compaction).
      this.#queue = queue.slice(this.#front);
      this.#front = 0;
    }
  }

  #due(): void {
    this.#timer = null;
    const now = performance.now();
    const queue = this.#queue;
    while (this.#front < queue.length) {
      const entry = queue[this.#front]!;
      // A Node timer may fire up to a millisecond before the time asked for (it rounds to whole milliseconds).
      if (entry.fire !== null && entry.at > now + 1) break;
      this.#front++;
      const fire = entry.fire;
      entry.fire = null;
      fire?.();
    }
    this.#dropCancelled();
    const next = this.#queue[this.#front];
    if (next) this.#arm(next.at - performance.now());
  }
}

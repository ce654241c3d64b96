/**
 * Live catalog changes (the `catalogChanged` subscription): one watcher per server process follows the catalog
 * revision while anyone is subscribed (`CatalogDatabase.watchRevision`: a poll on SQLite, LISTEN on PostgreSQL, so
 * writes by other programs and instances count as this server's own do) and turns each write burst into one event:
 * the new revision and the models that changed since the last event, read once for every subscriber
 * (`src/db/catalog-changes.ts`).
 *
 * Coalescing: a signal starts a flush at most once every COALESCE_MS, so a burst of writes (an import, 50 quick
 * mutations) becomes a few events a second, each naming every model changed since the previous one.
 *
 * A subscriber's first event says where it stands: the changes since the `since` it brought (a client coming back),
 * or none. After that each event carries the subscriber from one revision to the next; a subscriber that fell out
 * of step (it joined between two events) reads its own changes from where it stands. When the changes cannot be
 * named — too many, another epoch (a restore, another database), a number from before changes were recorded — the
 * event says `reload` and names none.
 */
import { type ModelChange, readChangesFrom, readModelChanges } from '../db/catalog-changes.ts';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import { type CatalogRevision, readCatalogRevision } from '../db/revision.ts';
import { AppError, limitExceeded } from '../errors.ts';

/** At most one event per this many milliseconds (a burst of writes is one event, a few a second at most). */
export const COALESCE_MS = 250;
/** More changed models than this in one event and it says `reload` instead: re-reading is then cheaper. */
export const MAX_MODELS_PER_EVENT = 500;

export interface CatalogChangeEvent {
  revision: CatalogRevision;
  /** The changes could not be named: the client should read again what it shows. */
  reload: boolean;
  models: readonly ModelChange[];
}

/** A step from one revision to the next, as the watcher read it (models null: too many to name, or a new epoch). */
interface Step {
  from: CatalogRevision | null;
  to: CatalogRevision;
  models: readonly ModelChange[] | null;
}

interface Subscriber {
  steps: Step[];
  wake: (() => void) | null;
}

const same = (a: CatalogRevision | null, b: CatalogRevision | null) =>
  a !== null && b !== null && a.revision === b.revision && a.epoch === b.epoch;

export class CatalogChanges {
  readonly #db: CatalogDatabase;
  readonly #maxSubscribers: number;
  readonly #subscribers = new Set<Subscriber>();
  #stopWatching: (() => void) | null = null;
  /** The revision of the last step sent (null while nobody is subscribed). */
  #last: CatalogRevision | null = null;
  #timer: NodeJS.Timeout | null = null;
  #lastFlushAt = 0;
  #flushing: Promise<void> = Promise.resolve();

  constructor(db: CatalogDatabase, options: { maxSubscribers: number }) {
    this.#db = db;
    this.#maxSubscribers = options.maxSubscribers;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /**
   * Events for one client until `signal` aborts (its connection closed) or the iterator is returned; then nothing
   * runs for it any more, and when it was the last subscriber the watcher stops too.
   */
  async *subscribe(since: CatalogRevision | null, signal: AbortSignal): AsyncGenerator<CatalogChangeEvent> {
    if (this.#subscribers.size >= this.#maxSubscribers)
      throw limitExceeded(
        `At most ${this.#maxSubscribers} catalogChanged subscriptions may be open at once (DIFFUSION_NEXUS_MAX_CATALOG_SUBSCRIBERS).`,
        this.#maxSubscribers,
      );
    const subscriber: Subscriber = { steps: [], wake: null };
    this.#subscribers.add(subscriber);
    const stop = () => subscriber.wake?.();
    signal.addEventListener('abort', stop);
    try {
      if (!this.#stopWatching) this.#stopWatching = this.#db.watchRevision(() => this.#schedule());
      // Steps are sent from the watcher's last revision: the subscriber starts there, so none is missed.
      await this.#flushing;
      this.#last ??= await this.#readRevision();
      let position = this.#last;
      yield since ? await this.#catchUp(since, position) : { revision: position, reload: false, models: [] };
      while (!signal.aborted) {
        if (subscriber.steps.length === 0) {
          await new Promise<void>((resolve) => {
            subscriber.wake = resolve;
          });
          subscriber.wake = null;
          continue;
        }
        const steps = subscriber.steps.splice(0);
        const latest = steps.at(-1) as Step;
        if (same(position, latest.to) || (position.epoch === latest.to.epoch && position.revision > latest.to.revision))
          continue;
        // One step from where the subscriber stands is sent as read; several, or one from elsewhere, are read again
        // as one span (exact: the changes table names each model once, at its latest change).
        const event =
          steps.length === 1 && same(steps[0]?.from ?? null, position)
            ? { revision: latest.to, reload: latest.models === null, models: latest.models ?? [] }
            : await this.#catchUp(position, latest.to);
        position = latest.to;
        if (signal.aborted) return;
        yield event;
      }
    } finally {
      signal.removeEventListener('abort', stop);
      this.#subscribers.delete(subscriber);
      if (this.#subscribers.size === 0) this.#idle();
    }
  }

  /** Stops the watcher (server shutdown); open subscriptions end with their connections. */
  close(): void {
    for (const subscriber of this.#subscribers) subscriber.wake?.();
    this.#idle();
  }

  #idle(): void {
    this.#stopWatching?.();
    this.#stopWatching = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#last = null;
  }

  async #readRevision(): Promise<CatalogRevision> {
    const revision = await readCatalogRevision(this.#db);
    if (!revision) throw new AppError('DATABASE_INCOMPATIBLE', 'The catalog has no revision row (not migrated?).');
    return revision;
  }

  /** The event that takes a client from `since` to `to`. */
  async #catchUp(since: CatalogRevision, to: CatalogRevision): Promise<CatalogChangeEvent> {
    const reload = { revision: to, reload: true, models: [] };
    if (since.epoch !== to.epoch || since.revision > to.revision) return reload;
    if (since.revision === to.revision) return { revision: to, reload: false, models: [] };
    if (since.revision < (await readChangesFrom(this.#db))) return reload;
    const models = await readModelChanges(this.#db, since.revision, to.revision, MAX_MODELS_PER_EVENT);
    return models ? { revision: to, reload: false, models } : reload;
  }

  #schedule(): void {
    if (this.#timer || this.#subscribers.size === 0) return;
    const wait = Math.max(0, this.#lastFlushAt + COALESCE_MS - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#lastFlushAt = Date.now();
      this.#flushing = this.#flushing.then(() => this.#flush()).catch(() => this.#schedule());
    }, wait);
    this.#timer.unref();
  }

  /** Reads the step from the last revision sent to the current one and hands it to every subscriber. */
  async #flush(): Promise<void> {
    const from = this.#last;
    if (!from || this.#subscribers.size === 0) return;
    const to = await this.#readRevision();
    if (same(from, to)) return;
    const event = await this.#catchUp(from, to);
    // Nobody may have left meanwhile and come back: a new watcher started from its own revision.
    if (this.#last !== from) return;
    this.#last = to;
    const step: Step = { from, to, models: event.reload ? null : event.models };
    for (const subscriber of this.#subscribers) {
      subscriber.steps.push(step);
      subscriber.wake?.();
    }
  }
}

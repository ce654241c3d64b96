/**
 * DataLoader plumbing shared by every loader: a batch function reads rows for all the keys of a tick at once (one
 * statement, see `src/db/reads.ts`) and hands each key its row, its rows or its number.
 */
import DataLoader from 'dataloader';
import type { RawRow } from '../db/pages.ts';
import { type RowFields, rowFieldsKey } from './row-fields.ts';

export type { RawRow };

type Fetch<K> = (keys: readonly K[]) => Promise<RawRow[]>;

function keyOf<K>(value: unknown): K {
  return (typeof value === 'bigint' ? Number(value) : value) as K;
}

/** One row per key (or null). */
export function oneByKey<T, K = number>(fetch: Fetch<K>, map: (row: RawRow) => T): DataLoader<K, T | null> {
  return new DataLoader(async (keys) => {
    const found = new Map<K, T>();
    for (const row of await fetch(keys)) found.set(keyOf<K>(row.key), map(row));
    return keys.map((key) => found.get(key) ?? null);
  });
}

/** Every row per key, in the statement's order. */
export function manyByKey<T>(fetch: Fetch<number>, map: (row: RawRow) => T): DataLoader<number, T[]> {
  return new DataLoader(async (keys) => {
    const grouped = new Map<number, T[]>();
    for (const row of await fetch(keys)) {
      const key = keyOf<number>(row.key);
      let list = grouped.get(key);
      if (!list) grouped.set(key, (list = []));
      list.push(map(row));
    }
    return keys.map((key) => grouped.get(key) ?? []);
  });
}

/** A number per key (0 when absent), from rows with a `value` column. */
export function numberByKey(fetch: Fetch<number>): DataLoader<number, number> {
  return new DataLoader(async (keys) => {
    const found = new Map<number, number>();
    for (const row of await fetch(keys)) found.set(keyOf<number>(row.key), Number(row.value));
    return keys.map((key) => found.get(key) ?? 0);
  });
}

/**
 * A family of loaders, one per row-field plan (made on first use, per request): rows read for one plan never
 * answer a query that needs another. Called without a plan, it reads every column.
 */
export function perPlan<L>(make: (fields: RowFields) => L): (fields?: RowFields) => L {
  const made = new Map<string, L>();
  return (fields = null) => {
    const key = rowFieldsKey(fields);
    let loader = made.get(key);
    if (!loader) made.set(key, (loader = make(fields)));
    return loader;
  };
}

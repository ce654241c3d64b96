/** Single-object look-ups take exactly one identifying argument; anything else is a clear BAD_USER_INPUT. */
import { brandWithType } from '@pothos/core';
import type DataLoader from 'dataloader';
import { AppError } from '../errors.ts';
import { databaseIdFrom, type NodeTypeName } from '../catalog/global-id.ts';

export interface IdArgs {
  id?: string | null | undefined;
  databaseId?: number | null | undefined;
}

/** The one identifier given: `{ id }` (from a global or database id), or `{ key, value }` for an alternate key. */
export type LookupKey<K extends string, V> = { id: number; key?: never } | { id?: never; key: K; value: V };

export function lookupKey<K extends string, V>(
  field: string,
  type: NodeTypeName,
  ids: IdArgs,
  alternates: Partial<Record<K, V | null | undefined>> = {},
): LookupKey<K, V> {
  const all: Record<string, unknown> = { id: ids.id, databaseId: ids.databaseId, ...alternates };
  const given = Object.entries(all).filter(([, value]) => value !== null && value !== undefined);
  if (given.length !== 1) {
    const names = Object.keys(all)
      .map((k) => `\`${k}\``)
      .join(', ');
    throw new AppError(
      'BAD_USER_INPUT',
      `\`${field}\` takes exactly one of ${names}; got ${given.length === 0 ? 'none' : given.map(([k]) => `\`${k}\``).join(' and ')}.`,
    );
  }
  const [key, value] = given[0]!;
  if (key === 'id') return { id: databaseIdFrom(String(value), type) };
  if (key === 'databaseId') return { id: value as number };
  return { key: key as K, value: value as V };
}

/** The database id a mutation's `id` argument names, checked to be of the expected type. */
export function idOf(globalId: string | number, type: NodeTypeName): number {
  return databaseIdFrom(String(globalId), type);
}

/**
 * Relay node loading (`node`, `nodes`): rows by database id through a request loader, null where none. Each row is
 * branded with its type, which is how the Node interface tells a Model row from a ModelVersion row.
 */
export async function loadNodes<T extends object>(
  type: NodeTypeName,
  loader: DataLoader<number, T | null>,
  ids: readonly (string | number)[],
): Promise<(T | null)[]> {
  return (await loader.loadMany(ids.map(Number))).map((row) => {
    if (row instanceof Error) throw row;
    // Typed for type refs, but a type name is what the Node interface resolves by.
    if (row) brandWithType(row, type as never);
    return row;
  });
}

/**
 * The row a foreign key points at (a file's version, a version's model): the loader's own promise, typed as
 * present. Returned as is rather than awaited in an async resolver, which made a second promise per field.
 */
export function referenced<T>(loader: DataLoader<number, T | null>, id: number): Promise<T> {
  return loader.load(id) as Promise<T>;
}

/** Single-object look-ups take exactly one identifying argument; anything else is a clear BAD_USER_INPUT. */
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

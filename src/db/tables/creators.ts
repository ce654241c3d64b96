/** Creators: one per username, matched case-insensitively (the oldest row wins when the desktop app made two). */
import { sql } from 'kysely';
import type { CatalogTransaction } from '../catalog-database.ts';
import type { Row } from '../row-writer.ts';

export async function creatorNameById(trx: CatalogTransaction, id: number | null): Promise<string | null> {
  if (id === null) return null;
  const row = await trx.selectFrom('Creators').select('Username').where('Id', '=', id).executeTakeFirst();
  return row?.Username ?? null;
}

export function creatorByUsername(trx: CatalogTransaction, username: string): Promise<Row | undefined> {
  return trx
    .selectFrom('Creators')
    .select(['Id', 'Username', 'AvatarUrl'])
    .where(sql`lower(${sql.ref('Username')})`, '=', username.toLowerCase())
    .orderBy('Id')
    .limit(1)
    .executeTakeFirst();
}

/**
 * How a server learns of catalog writes on PostgreSQL, whoever made them (another instance, the CLI, any SQL
 * client): the revision triggers NOTIFY `dn_catalog_revision` once per committing transaction (AddCatalogRevision),
 * and one dedicated connection per watching process LISTENs. Not a pooled connection: LISTEN belongs to a session,
 * and a pool would hand it to queries and drop it when idle. Notifications sent while the connection is down are
 * lost, so after every (re)connection `onChange` is called once and the caller reads what it missed from the
 * revision itself; the connection is made again after a loss, waiting longer after each failure (up to 5 s).
 */
import pg from 'pg';
import { REVISION_CHANNEL } from '../revision.ts';
import { CONNECT_TIMEOUT_MS } from './connection.ts';
import type { PostgresTarget } from './catalog.ts';

const FIRST_RETRY_MS = 100;
const LONGEST_RETRY_MS = 5_000;

/** Shown in `pg_stat_activity` (tests find the connection by it). */
export const LISTENER_APPLICATION_NAME = 'diffusion-nexus-listen';

export function listenForRevisions(target: Pick<PostgresTarget, 'url'>, onChange: () => void): () => void {
  let stopped = false;
  let current: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  let delay = FIRST_RETRY_MS;

  const lost = (client: pg.Client) => {
    if (current !== client) return;
    current = null;
    client.end().catch(() => {});
    if (stopped) return;
    retry = setTimeout(connect, delay);
    retry.unref();
    delay = Math.min(delay * 2, LONGEST_RETRY_MS);
  };

  const connect = () => {
    retry = null;
    const client = new pg.Client({
      connectionString: target.url,
      application_name: LISTENER_APPLICATION_NAME,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    current = client;
    client.on('notification', (message) => {
      if (message.channel === REVISION_CHANNEL) onChange();
    });
    client.on('error', () => lost(client));
    client.on('end', () => lost(client));
    client
      .connect()
      .then(() => client.query(`LISTEN ${REVISION_CHANNEL}`))
      .then(() => {
        if (current !== client) return;
        delay = FIRST_RETRY_MS;
        // Whatever was written while nobody listened.
        onChange();
      })
      .catch(() => lost(client));
  };

  connect();
  return () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    const client = current;
    current = null;
    client?.end().catch(() => {});
  };
}

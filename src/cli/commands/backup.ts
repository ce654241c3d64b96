/**
 * `backup <file>` and `restore <file>`: online copies of the catalog through SQLite's backup API (src/db/backup.ts).
 * A PostgreSQL catalog is backed up into the same kind of file — a SQLite catalog, taken from one consistent
 * snapshot by the transfer code (src/db/transfer/) — so there is one portable backup format; it goes back with
 * `transfer --from file:BACKUP --to postgres://…` into an empty database.
 */
import path from 'node:path';
import type { CopyProgress } from '../../db/backup.ts';
import type { DatabaseTarget } from '../../config.ts';
import { catalogTargetForCli, existingCatalogForCli } from '../catalog.ts';
import { DATA_DIR_OPTION, defineCommand, namedPath, usageError, type CliCommand, type CliIo } from '../command.ts';
import { createProgressBar } from '../progress.ts';
import { transferProgress } from './transfer.ts';

function oneFile(positionals: string[], command: CliCommand): string {
  if (positionals.length !== 1) throw usageError('Give exactly one file.', command);
  return positionals[0]!;
}

function pageProgress(label: string) {
  let bar: ReturnType<typeof createProgressBar> | null = null;
  return {
    onProgress: ({ totalPages, remainingPages }: CopyProgress) => {
      bar ??= createProgressBar(totalPages, label);
      bar.update(totalPages - remainingPages, 'pages');
    },
    finish: () => bar?.finish(),
  };
}

export const backupCommand = defineCommand({
  name: 'backup',
  summary: 'Write a consistent copy of the catalog to a file (safe while the server runs).',
  forms: ['<file>'],
  options: {
    force: {
      type: 'boolean',
      description: 'Replace the file when it exists.',
      byDefault: 'off: an existing file is refused',
    },
    ...DATA_DIR_OPTION,
  },
  async run({ values, positionals }, io) {
    const target = oneFile(positionals, backupCommand);
    const catalog = existingCatalogForCli(values);
    if (catalog.engine === 'postgres') return backupPostgres(catalog, target, values.force ?? false, io);
    const databasePath = catalog.path;
    const progress = pageProgress('backup');
    const { backupDatabase } = await import('../../db/backup.ts');
    const result = await backupDatabase(databasePath, target, {
      overwrite: values.force ?? false,
      onProgress: progress.onProgress,
    });
    progress.finish();
    io.out(
      `backed up ${databasePath} to ${result.path} (${(result.bytes / 2 ** 20).toFixed(1)} MiB, integrity ok) in ${result.seconds.toFixed(1)} s`,
    );
    return 0;
  },
});

export const restoreCommand = defineCommand({
  name: 'restore',
  summary: 'Replace the catalog with a backup (the current one is saved beside it first).',
  forms: ['<file>'],
  options: DATA_DIR_OPTION,
  async run({ values, positionals }, io) {
    const file = oneFile(positionals, restoreCommand);
    await namedPath(file);
    const { requireSqliteFile } = await import('../../db/open-catalog.ts');
    const databasePath = requireSqliteFile(
      catalogTargetForCli(values, { create: false }),
      'restore (for PostgreSQL: transfer --from file:BACKUP --to postgres://… into an empty database)',
    );
    const progress = pageProgress('restore');
    const { restoreDatabase } = await import('../../db/backup.ts');
    const result = await restoreDatabase(databasePath, file, { onProgress: progress.onProgress, log: io.out });
    progress.finish();
    if (result.savedPreviousAs) io.out(`the previous catalog is saved as ${result.savedPreviousAs}`);
    io.out(
      `restored ${file} into ${databasePath}` +
        `${result.migrationsApplied.length ? ` and applied ${result.migrationsApplied.length} migration(s)` : ''} in ${result.seconds.toFixed(1)} s`,
    );
    return 0;
  },
});

/** A PostgreSQL catalog's backup: a SQLite catalog file written from one REPEATABLE READ snapshot, checked table by table. */
async function backupPostgres(
  catalog: DatabaseTarget & { engine: 'postgres' },
  file: string,
  force: boolean,
  io: CliIo,
): Promise<number> {
  const [{ refuseExistingBackup }, { transferCatalog }] = await Promise.all([
    import('../../db/backup.ts'),
    import('../../db/transfer/transfer.ts'),
  ]);
  refuseExistingBackup(file, force);
  const progress = transferProgress();
  let result: Awaited<ReturnType<typeof transferCatalog>>;
  try {
    result = await transferCatalog(
      catalog,
      { engine: 'sqlite', path: path.resolve(file), dataDir: null },
      // A backup is for restoring: its search index is built when it is opened again, not now.
      { overwrite: true, searchIndex: false, onProgress: progress.onProgress, log: io.out },
    );
  } finally {
    progress.finish();
  }
  io.out(
    `backed up ${catalog.display} to ${path.resolve(file)} (a SQLite catalog: ${result.rows} rows in ` +
      `${result.tables.length} tables, every table read back and matched) in ${result.seconds.toFixed(1)} s`,
  );
  return 0;
}

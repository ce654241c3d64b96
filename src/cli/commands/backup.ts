/** `backup <file>` and `restore <file>`: online copies of the catalog through SQLite's backup API (src/db/backup.ts). */
import { backupDatabase, restoreDatabase, type CopyProgress } from '../../db/backup.ts';
import { catalogPathForCli } from '../catalog.ts';
import { AppError } from '../../errors.ts';
import { DATA_DIR_OPTION, parseCommandArgs, type CliCommand } from '../command.ts';
import { createProgressBar } from '../progress.ts';

function oneFile(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new AppError('BAD_USER_INPUT', `Give exactly one file.\nusage: ${usage}`);
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

const backupUsage = 'diffusion-nexus backup <file> [--force] [--data-dir DIR]';

export const backupCommand: CliCommand = {
  name: 'backup',
  summary: 'Write a consistent copy of the catalog to a file (safe while the server runs).',
  usage: backupUsage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { ...DATA_DIR_OPTION, force: { type: 'boolean' } },
      backupUsage,
    );
    const target = oneFile(positionals, backupUsage);
    const databasePath = catalogPathForCli(values['data-dir'], { create: false });
    const progress = pageProgress('backup');
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
};

const restoreUsage = 'diffusion-nexus restore <file> [--data-dir DIR]';

export const restoreCommand: CliCommand = {
  name: 'restore',
  summary: 'Replace the catalog with a backup (the current one is saved beside it first).',
  usage: restoreUsage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, DATA_DIR_OPTION, restoreUsage);
    const file = oneFile(positionals, restoreUsage);
    const databasePath = catalogPathForCli(values['data-dir'], { create: false });
    const progress = pageProgress('restore');
    const result = await restoreDatabase(databasePath, file, { onProgress: progress.onProgress, log: io.out });
    progress.finish();
    if (result.savedPreviousAs) io.out(`the previous catalog is saved as ${result.savedPreviousAs}`);
    io.out(
      `restored ${file} into ${databasePath}` +
        `${result.migrationsApplied.length ? ` and applied ${result.migrationsApplied.length} migration(s)` : ''} in ${result.seconds.toFixed(1)} s`,
    );
    return 0;
  },
};

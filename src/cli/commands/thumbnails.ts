import { AppError } from '../../errors.ts';
import { generateThumbnails, pruneThumbnails, thumbnailStats } from '../../thumbnails/maintenance.ts';
import { openCatalogForCli } from '../catalog.ts';
import { createProgressBar } from '../progress.ts';
import { DATA_DIR_OPTION, parseCommandArgs, type CliCommand } from '../command.ts';
import { parsePositiveInt, resolveThumbnailSide } from '../../config.ts';

const usage = `diffusion-nexus thumbnails stats [--data-dir DIR]
       diffusion-nexus thumbnails generate [--online] [--force] [--data-dir DIR]
       diffusion-nexus thumbnails prune [--keep-per-version N] [--max-bytes B] [--vacuum] [--data-dir DIR]`;

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export const thumbnailsCommand: CliCommand = {
  name: 'thumbnails',
  summary: 'Thumbnail upkeep: stats, generate missing ones (WebP 320 px), prune (and VACUUM).',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        ...DATA_DIR_OPTION,
        online: { type: 'boolean' },
        force: { type: 'boolean' },
        vacuum: { type: 'boolean' },
        'keep-per-version': { type: 'string' },
        'max-bytes': { type: 'string' },
      },
      usage,
    );
    const [action, ...rest] = positionals;
    if (!action || rest.length > 0 || !['stats', 'generate', 'prune'].includes(action))
      throw new AppError('BAD_USER_INPUT', `usage: ${usage}`);
    const db = await openCatalogForCli(values['data-dir'], { out: () => {}, err: io.err });
    try {
      if (action === 'stats') {
        const stats = await thumbnailStats(db);
        io.out(
          `${stats.withThumbnail} of ${stats.images} images have a thumbnail: ${mb(stats.totalBytes)} in all, ${kb(stats.averageBytes)} on average, largest ${kb(stats.largestBytes)}.`,
        );
        for (const entry of stats.byMimeType) io.out(`  ${entry.mimeType}: ${entry.count} (${mb(entry.bytes)})`);
        io.out(
          `${stats.generatableOffline} images without a thumbnail have a cached file (thumbnails generate fills them). Database file: ${mb(stats.databaseBytes)}.`,
        );
        return 0;
      }
      if (action === 'generate') {
        const bar = createProgressBar(1, 'thumbnails');
        const result = await generateThumbnails(db, {
          online: values.online ?? false,
          force: values.force ?? false,
          onProgress: (done, total) => bar.update(done, `of ${total}`),
          thumbnailSide: resolveThumbnailSide(),
        });
        bar.finish();
        for (const failure of result.failed.slice(0, 20))
          io.err(`failed: image ${failure.imageId}: ${failure.message}`);
        io.out(
          `generated ${result.generated}, failed ${result.failed.length}, skipped ${result.skipped} (no cached file${values.online ? '' : '; --online downloads them'}).`,
        );
        return result.failed.length > 0 ? 1 : 0;
      }
      const keep =
        values['keep-per-version'] === undefined
          ? null
          : parsePositiveInt(values['keep-per-version'], '--keep-per-version', 1);
      const maxBytes =
        values['max-bytes'] === undefined ? null : parsePositiveInt(values['max-bytes'], '--max-bytes', 1);
      if (keep === null && maxBytes === null && !values.vacuum)
        throw new AppError(
          'BAD_USER_INPUT',
          `prune needs --keep-per-version, --max-bytes or --vacuum.\nusage: ${usage}`,
        );
      const result = await pruneThumbnails(db, {
        keepPerVersion: keep,
        maxBytes,
        vacuum: values.vacuum ?? false,
        thumbnailSide: resolveThumbnailSide(),
      });
      io.out(
        `dropped ${result.droppedBeyondKeep} beyond the first ${keep ?? '∞'} per version, re-encoded ${result.reencoded}, dropped ${result.droppedOversized} oversized, ` +
          `deleted ${result.orphanRowsDeleted} orphan rows: ${mb(result.bytesReclaimed)} reclaimed.` +
          (values.vacuum
            ? ` Database file ${mb(result.databaseBytesBefore)} → ${mb(result.databaseBytesAfter)}.`
            : ' Run with --vacuum to shrink the file.'),
      );
      return 0;
    } finally {
      await db.close();
    }
  },
};

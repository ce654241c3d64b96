import { openCatalogForCli } from '../catalog.ts';
import { createProgressBar } from '../progress.ts';
import { DATA_DIR_OPTION, defineCommand, usageError } from '../command.ts';
import { DEFAULT_THUMBNAIL_SIDE, parsePositiveInt, resolveThumbnailSide } from '../../config.ts';

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

const ACTIONS = ['stats', 'generate', 'prune'];

export const thumbnailsCommand = defineCommand({
  name: 'thumbnails',
  summary: 'Thumbnail upkeep: stats, generate missing ones (WebP 320 px), prune (and VACUUM).',
  forms: ACTIONS,
  options: {
    online: {
      type: 'boolean',
      description: 'generate: download images that have no cached file.',
      byDefault: 'off: only images with a cached file',
    },
    force: {
      type: 'boolean',
      description: 'generate: make thumbnails again for images that have one.',
      byDefault: 'off: only images without a thumbnail',
    },
    'keep-per-version': {
      type: 'string',
      value: 'N',
      description: 'prune: keep thumbnails only for the first N images of each version (in their sort order).',
      byDefault: 'none: every version keeps all',
    },
    'max-bytes': {
      type: 'string',
      value: 'B',
      description: `prune: re-encode thumbnails larger than B bytes at the thumbnail size (${DEFAULT_THUMBNAIL_SIDE} px unless DIFFUSION_NEXUS_THUMBNAIL_SIZE), drop those still larger.`,
      byDefault: 'none: no size limit',
    },
    vacuum: {
      type: 'boolean',
      description: 'prune: VACUUM the database afterwards, so the file shrinks.',
      byDefault: 'off: freed pages stay in the file for reuse',
    },
    ...DATA_DIR_OPTION,
  },
  async run({ values, positionals }, io) {
    const [action, ...rest] = positionals;
    if (!action || rest.length > 0 || !ACTIONS.includes(action))
      throw usageError(`Name one action: ${ACTIONS.join(', ')}.`, thumbnailsCommand);
    const { generateThumbnails, pruneThumbnails, thumbnailStats } = await import('../../thumbnails/maintenance.ts');
    const db = await openCatalogForCli(values, { out: () => {}, err: io.err }, { existing: true });
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
        throw usageError('prune needs --keep-per-version, --max-bytes or --vacuum.', thumbnailsCommand);
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
});

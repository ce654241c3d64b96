import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { catalogTargetForCli } from '../catalog.ts';
import type { DatabaseTarget } from '../../config.ts';
import { AppError } from '../../errors.ts';
import type { SeedSummary } from '../../seed/catalog-generator.ts';
import { TEST_CATALOG, type CatalogSize } from '../../seed/catalog-size.ts';
import type { ThumbnailProfile } from '../../seed/thumbnail-pool.ts';
import { parsePositiveInt } from '../../config.ts';
import { DATA_DIR_OPTION, defineCommand, usageError } from '../command.ts';

const PROFILES: readonly ThumbnailProfile[] = ['none', 'tiny', 'realistic'];

export const seedCommand = defineCommand({
  name: 'seed',
  summary:
    'Fill an EMPTY catalog with a deterministic demo catalog (for trying the API; refuses a catalog with models).',
  forms: [''],
  options: {
    models: { type: 'string', value: 'N', description: 'How many models.', byDefault: String(TEST_CATALOG.models) },
    versions: {
      type: 'string',
      value: 'N',
      description: 'How many versions each model has.',
      byDefault: String(TEST_CATALOG.versionsPerModel),
    },
    thumbnails: {
      type: 'string',
      value: PROFILES.join('|'),
      description: 'Thumbnails for the images: none, tiny placeholders, or realistic WebP pictures (slower, larger).',
      byDefault: TEST_CATALOG.thumbnails,
    },
    ...DATA_DIR_OPTION,
  },
  async run({ values }, io) {
    const thumbnails = (values.thumbnails ?? TEST_CATALOG.thumbnails) as ThumbnailProfile;
    if (!PROFILES.includes(thumbnails)) throw usageError(`--thumbnails is one of ${PROFILES.join(', ')}.`, seedCommand);
    const size: CatalogSize = {
      ...TEST_CATALOG,
      models: parsePositiveInt(values.models, '--models', TEST_CATALOG.models),
      versionsPerModel: parsePositiveInt(values.versions, '--versions', TEST_CATALOG.versionsPerModel),
      thumbnails,
    };
    const target = catalogTargetForCli(values, { create: true });
    if (target.engine === 'postgres') {
      // The generator writes SQLite rows in bulk; a scratch file is seeded and transferred into the empty catalog
      // (which the transfer migrates, and refuses when it holds rows).
      const summary = await seedPostgresCatalog(target, size, io.out);
      io.out(`seeded ${target.display}: ${describeSummary(summary)}.`);
      return 0;
    }
    const databasePath = target.path;
    const [{ migrateDatabase }, { countModels }, { seedCatalog }] = await Promise.all([
      import('../../db/migrations.ts'),
      import('../../db/seed-writer.ts'),
      import('../../seed/catalog-generator.ts'),
    ]);
    await migrateDatabase(databasePath, { log: io.out });
    const existing = countModels(databasePath);
    if (existing > 0) {
      throw new AppError(
        'CONFLICT',
        `${databasePath} already holds ${existing} models; seed only fills an empty catalog. Use --data-dir for a demo catalog.`,
      );
    }
    const summary = await seedCatalog(databasePath, size);
    io.out(`seeded ${databasePath}: ${describeSummary(summary)}.`);
    return 0;
  },
});

function describeSummary(summary: SeedSummary): string {
  return `${summary.models} models, ${summary.versions} versions, ${summary.files} files, ${summary.images} images (${summary.thumbnails} thumbnails)`;
}

/** Seeds a scratch SQLite file and transfers it into the PostgreSQL catalog (which must hold no rows). */
async function seedPostgresCatalog(
  target: DatabaseTarget & { engine: 'postgres' },
  size: CatalogSize,
  log: (line: string) => void,
): Promise<SeedSummary> {
  const [{ migrateDatabase }, { seedCatalog }, { transferCatalog }] = await Promise.all([
    import('../../db/migrations.ts'),
    import('../../seed/catalog-generator.ts'),
    import('../../db/transfer/transfer.ts'),
  ]);
  const scratch = mkdtempSync(path.join(tmpdir(), 'dn-seed-'));
  try {
    const file = path.join(scratch, 'seed.db');
    await migrateDatabase(file);
    const summary = await seedCatalog(file, size);
    await transferCatalog({ engine: 'sqlite', path: file, dataDir: null }, target, { log });
    return summary;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

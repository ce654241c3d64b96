import { catalogPathForCli } from '../catalog.ts';
import { AppError } from '../../errors.ts';
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
    const databasePath = catalogPathForCli(values['data-dir'], { create: true });
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
    io.out(
      `seeded ${databasePath}: ${summary.models} models, ${summary.versions} versions, ${summary.files} files, ${summary.images} images (${summary.thumbnails} thumbnails).`,
    );
    return 0;
  },
});

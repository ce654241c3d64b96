import { catalogPathForCli } from '../catalog.ts';
import { migrateDatabase } from '../../db/migrations.ts';
import { AppError } from '../../errors.ts';
import { TEST_CATALOG, seedCatalog, type CatalogSize } from '../../seed/catalog-generator.ts';
import type { ThumbnailProfile } from '../../seed/thumbnail-pool.ts';
import { parsePositiveInt } from '../../config.ts';
import { countModels } from '../../db/seed-writer.ts';
import { DATA_DIR_OPTION, parseCommandArgs, type CliCommand } from '../command.ts';

const usage = 'diffusion-nexus seed [--models 60] [--versions 4] [--thumbnails none|tiny|realistic] [--data-dir DIR]';
const PROFILES: readonly ThumbnailProfile[] = ['none', 'tiny', 'realistic'];

export const seedCommand: CliCommand = {
  name: 'seed',
  summary:
    'Fill an EMPTY catalog with a deterministic demo catalog (for trying the API; refuses a catalog with models).',
  usage,
  async run(argv, io) {
    const { values } = parseCommandArgs(
      argv,
      {
        ...DATA_DIR_OPTION,
        models: { type: 'string' },
        versions: { type: 'string' },
        thumbnails: { type: 'string' },
      },
      usage,
    );
    const thumbnails = (values.thumbnails ?? 'tiny') as ThumbnailProfile;
    if (!PROFILES.includes(thumbnails))
      throw new AppError('BAD_USER_INPUT', `--thumbnails is one of ${PROFILES.join(', ')}.\nusage: ${usage}`);
    const size: CatalogSize = {
      ...TEST_CATALOG,
      models: parsePositiveInt(values.models, '--models', TEST_CATALOG.models),
      versionsPerModel: parsePositiveInt(values.versions, '--versions', TEST_CATALOG.versionsPerModel),
      thumbnails,
    };
    const databasePath = catalogPathForCli(values['data-dir'], { create: true });
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
};

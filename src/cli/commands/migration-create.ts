import path from 'node:path';
import { createMigration } from '../../db/migration-authoring.ts';
import { PROJECT_ROOT } from '../../db/project-paths.ts';
import { AppError } from '../../errors.ts';
import { parseCommandArgs, type CliCommand } from '../command.ts';

const usage = 'diffusion-nexus migration:create <Name> [--empty] [--allow-destructive]';

export const migrationCreateCommand: CliCommand = {
  name: 'migration:create',
  summary: 'Write a new migration from the difference between prisma/migrations and schema.prisma (offline).',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { empty: { type: 'boolean' }, 'allow-destructive': { type: 'boolean' } },
      usage,
    );
    const [name, ...extra] = positionals;
    if (!name || extra.length > 0)
      throw new AppError('BAD_USER_INPUT', `Give exactly one migration name.\nusage: ${usage}`);
    const created = await createMigration({
      name,
      empty: values.empty ?? false,
      allowDestructive: values['allow-destructive'] ?? false,
    });
    if (!created) {
      io.out('schema.prisma and the migrations agree: nothing to migrate (use --empty for a hand-written migration).');
      return 0;
    }
    io.out(`created ${path.relative(PROJECT_ROOT, path.join(created.path, 'migration.sql'))}`);
    return 0;
  },
};

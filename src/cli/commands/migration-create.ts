import path from 'node:path';
import { PROJECT_ROOT } from '../../db/project-paths.ts';
import { defineCommand, usageError } from '../command.ts';

export const migrationCreateCommand = defineCommand({
  name: 'migration:create',
  summary: 'Write a new migration from the difference between prisma/migrations and schema.prisma (offline).',
  forms: ['<Name>'],
  options: {
    empty: {
      type: 'boolean',
      description: 'Write an empty migration for hand-written SQL instead of diffing the schema.',
      byDefault: 'off: the difference between the migrations and schema.prisma',
    },
    postgres: {
      type: 'boolean',
      description:
        'Write the migration into prisma/postgres/migrations (PostgreSQL). Hand-written SQL only: implies --empty.',
      byDefault: 'off: prisma/migrations (SQLite)',
    },
    'allow-destructive': {
      type: 'boolean',
      description:
        "Allow a migration that drops or rebuilds tables (a rebuild loses the desktop app's columns Prisma does not know).",
      byDefault: 'off: such a migration is refused',
    },
  },
  async run({ values, positionals }, io) {
    const [name, ...extra] = positionals;
    if (!name || extra.length > 0) throw usageError('Give exactly one migration name.', migrationCreateCommand);
    const { createMigration } = await import('../../db/migration-authoring.ts');
    const postgres = values.postgres ?? false;
    const source = postgres ? (await import('../../db/postgres/migrations.ts')).postgresMigrationsSource() : undefined;
    const created = await createMigration({
      name,
      empty: postgres || (values.empty ?? false),
      allowDestructive: values['allow-destructive'] ?? false,
      ...(source ? { source } : {}),
    });
    if (!created) {
      io.out('schema.prisma and the migrations agree: nothing to migrate (use --empty for a hand-written migration).');
      return 0;
    }
    io.out(`created ${path.relative(PROJECT_ROOT, path.join(created.path, 'migration.sql'))}`);
    return 0;
  },
});

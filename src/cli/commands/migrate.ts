import { catalogTargetForCli } from '../catalog.ts';
import { describeDatabase } from '../../config.ts';
import type { MigrationStatus } from '../../db/migrations.ts';
import { DATA_DIR_OPTION, defineCommand } from '../command.ts';

export const migrateCommand = defineCommand({
  name: 'migrate',
  summary: 'Apply pending migrations (creates the database when missing; adopts desktop-app databases).',
  forms: [''],
  options: DATA_DIR_OPTION,
  async run({ values }, io) {
    const target = catalogTargetForCli(values, { create: true });
    const databasePath = describeDatabase(target);
    const { migrateCatalog } = await import('../../db/open-catalog.ts');
    const result = await migrateCatalog(target, { log: io.out });
    io.out(
      result.appliedNow.length === 0
        ? `${databasePath} is up to date (${result.applied.length} migrations applied).`
        : `${databasePath}: applied ${result.appliedNow.length} migration(s).`,
    );
    return 0;
  },
});

export const statusCommand = defineCommand({
  name: 'status',
  summary: 'List applied and pending migrations of the database.',
  forms: [''],
  options: {
    ...DATA_DIR_OPTION,
    json: {
      type: 'boolean',
      description: 'Print the status as JSON (applied, pending, edited, failed, unknown, kind).',
      byDefault: 'off: a readable list',
    },
  },
  async run({ values }, io) {
    // Creates nothing: with no catalog yet it says so, and lists every migration as pending.
    const target = catalogTargetForCli(values, { create: false });
    const databasePath = describeDatabase(target);
    const { catalogMigrationStatus } = await import('../../db/open-catalog.ts');
    const status = await catalogMigrationStatus(target);
    if (values.json) {
      io.out(JSON.stringify(status, null, 2));
      return status.failed.length > 0 ? 1 : 0;
    }
    io.out(`database: ${databasePath} (${describeKind(status.kind)})`);
    for (const name of status.applied)
      io.out(`  applied  ${name}${status.edited.includes(name) ? '  (edited since it was applied)' : ''}`);
    for (const name of status.pending) io.out(`  pending  ${name}`);
    for (const name of status.failed) io.out(`  FAILED   ${name}`);
    for (const name of status.unknown) io.out(`  unknown  ${name}  (recorded by a newer version)`);
    for (const name of status.missing) io.out(`  missing  ${name}  (removed by another program)`);
    if (status.pending.length > 0) io.out(`${status.pending.length} pending: run \`npm run db:migrate\``);
    else if (status.missing.length > 0)
      io.out(`${status.missing.length} missing: \`npm run db:migrate\` (or the next start) re-creates them`);
    else io.out('up to date');
    return status.failed.length > 0 ? 1 : 0;
  },
});

function describeKind(kind: MigrationStatus['kind']): string {
  switch (kind) {
    case 'empty':
      return 'missing or empty: migrate creates it';
    case 'managed':
      return 'managed by migrations';
    case 'adoptable':
      return 'existing desktop-app database: migrate adopts it';
    case 'foreign':
      return 'not a DiffusionNexus database';
  }
}

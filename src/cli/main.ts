/**
 * `diffusion-nexus <command> [options]` — also `npm run cli -- <command>`.
 */
import { isAppError } from '../errors.ts';
import type { CliCommand, CliIo } from './command.ts';
import { serveCommand } from './commands/serve.ts';
import { migrateCommand, statusCommand } from './commands/migrate.ts';
import { migrationCreateCommand } from './commands/migration-create.ts';
import { seedCommand } from './commands/seed.ts';
import { importCommand } from './commands/import.ts';
import { scanCommand } from './commands/scan.ts';
import { thumbnailsCommand } from './commands/thumbnails.ts';
import { backupCommand, restoreCommand } from './commands/backup.ts';

export const COMMANDS: readonly CliCommand[] = [
  serveCommand,
  importCommand,
  scanCommand,
  thumbnailsCommand,
  backupCommand,
  restoreCommand,
  migrateCommand,
  statusCommand,
  seedCommand,
  migrationCreateCommand,
];

function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: diffusion-nexus <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Every command takes --data-dir DIR (or DIFFUSION_NEXUS_DATA_DIR); `<command> --help` shows its options.',
  ].join('\n');
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.out(helpText());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`unknown command "${name}"\n\n${helpText()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${command.summary}\nusage: ${command.usage}`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (isAppError(error)) {
      io.err(`error [${error.code}]: ${error.message}`);
      return error.code === 'BAD_USER_INPUT' ? 2 : 1;
    }
    throw error;
  }
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntryPoint) {
  const io: CliIo = { out: (line) => console.log(line), err: (line) => console.error(line) };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}

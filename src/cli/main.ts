/**
 * `diffusion-nexus <command> [options]` — also `npm run cli -- <command>`. The bin (bin/diffusion-nexus.js) runs the
 * compiled copy of this file in dist/ and calls `main`; tests run the source through tsx, where it is the entry point.
 *
 * Start-up cost matters here (`--help` answers in well under half a second): the command modules imported below
 * declare only names, options and help, and each loads what it runs on (the server, the data layer, sharp…) inside
 * its `run` with `await import()`. Keep heavy static imports out of them.
 */
import { isAppError } from '../errors.ts';
import {
  exitCodeFor,
  helpOf,
  parseCommandArgs,
  USAGE_EXIT_CODE,
  usageError,
  type CliCommand,
  type CliIo,
} from './command.ts';
import { serveCommand } from './commands/serve.ts';
import { migrateCommand, statusCommand } from './commands/migrate.ts';
import { migrationCreateCommand } from './commands/migration-create.ts';
import { payloadsCommand } from './commands/payloads.ts';
import { seedCommand } from './commands/seed.ts';
import { importCommand } from './commands/import.ts';
import { scanCommand } from './commands/scan.ts';
import { downloadCommand } from './commands/download.ts';
import { thumbnailsCommand } from './commands/thumbnails.ts';
import { backupCommand, restoreCommand } from './commands/backup.ts';
import { transferCommand } from './commands/transfer.ts';

export const COMMANDS: readonly CliCommand[] = [
  serveCommand,
  importCommand,
  scanCommand,
  downloadCommand,
  thumbnailsCommand,
  backupCommand,
  restoreCommand,
  transferCommand,
  migrateCommand,
  statusCommand,
  seedCommand,
  payloadsCommand,
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
    '`<command> --help` lists its options (the catalog is found with --data-dir DIR, else DIFFUSION_NEXUS_DATA_DIR).',
    'Exit codes: 0 done, 1 the command failed, 2 a usage error (unknown command or option, a missing or bad',
    'argument, a named file or folder that does not exist).',
  ].join('\n');
}

function report(error: unknown, io: CliIo): number {
  if (!isAppError(error)) throw error;
  io.err(`error [${error.code}]: ${error.message}`);
  return exitCodeFor(error);
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.out(helpText());
    return name ? 0 : USAGE_EXIT_CODE;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command)
    return report(
      usageError(
        `unknown command "${name}"; the commands are ${COMMANDS.map((c) => c.name).join(', ')} ` +
          '(diffusion-nexus --help says what each does).',
      ),
      io,
    );
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(helpOf(command));
    return 0;
  }
  try {
    return await command.run(parseCommandArgs(rest, command), io);
  } catch (error) {
    return report(error, io);
  }
}

/** Runs the CLI in this process: the exit code is set when the command settles. */
export function main(argv: string[]): void {
  const io: CliIo = { out: (line) => console.log(line), err: (line) => console.error(line) };
  runCli(argv, io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}

const isEntryPoint = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntryPoint) main(process.argv.slice(2));

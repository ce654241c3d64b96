/** The shape every CLI command shares; `main.ts` only parses the command name and dispatches. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AppError } from '../errors.ts';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  /** Resolves to the process exit code. */
  run(argv: string[], io: CliIo): Promise<number>;
}

export const DATA_DIR_OPTION = { 'data-dir': { type: 'string' } } as const satisfies ParseArgsConfig['options'];

/** `parseArgs` with strict checking; unknown flags become a BAD_USER_INPUT error naming the command's usage. */
export function parseCommandArgs<const O extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: O,
  usage: string,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new AppError('BAD_USER_INPUT', `${(error as Error).message}\nusage: ${usage}`);
  }
}

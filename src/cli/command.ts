/**
 * The shape every CLI command shares; `main.ts` only parses the command name and dispatches. Each command declares
 * its options once — type, what they do, their default — and that one declaration drives the parser, the usage
 * line, `--help` and the unknown-option message.
 *
 * Exit codes (README, "Command line"): 0 done; 1 the command ran and failed; 2 a usage error — the command line
 * itself cannot be acted on (unknown command or option, a missing or malformed argument, a named file or folder
 * that does not exist). Usage errors are `BAD_USER_INPUT`, so the exit code follows from the error's code.
 */
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { parseArgs } from 'node:util';
import { AppError } from '../errors.ts';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface CliOption {
  type: 'string' | 'boolean';
  /** The value's placeholder in usage and help (string options only): `DIR`, `N`. */
  value?: string;
  /** What the option does. */
  description: string;
  /** What applies when the option is not given, as `--help` shows it. */
  byDefault: string;
}

export type CliOptions = Readonly<Record<string, CliOption>>;

export type CliValues<O extends CliOptions> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string;
};

export interface CliCommand<O extends CliOptions = CliOptions> {
  name: string;
  summary: string;
  /** The positional arguments of each form of the command (`<file>`, `stats`); '' for none. */
  forms: readonly string[];
  options: O;
  /** Resolves to the process exit code. */
  run(args: { values: CliValues<O>; positionals: string[] }, io: CliIo): Promise<number>;
}

/** Keeps the literal option types, so `run` sees `values.force` as a boolean and `values.port` as a string. */
export function defineCommand<const O extends CliOptions>(command: CliCommand<O>): CliCommand<O> {
  return command;
}

/**
 * `DIFFUSION_NEXUS_DATA_DIR` and `DIFFUSION_NEXUS_DATABASE_URL` are read in src/config.ts; this only describes the
 * order they are used in. Every command that opens the catalog takes both.
 */
export const DATA_DIR_OPTION = {
  'data-dir': {
    type: 'string',
    value: 'DIR',
    description: 'The folder holding the catalog database (Diffusion_Nexus-core.db).',
    byDefault: "DIFFUSION_NEXUS_DATA_DIR, else the platform's app-data folder + DiffusionNexus/Data (see README)",
  },
  'database-url': {
    type: 'string',
    value: 'URL',
    description: 'The catalog database: file:PATH (SQLite) or postgres://user@host:port/db (PostgreSQL).',
    byDefault: 'DIFFUSION_NEXUS_DATABASE_URL, else the SQLite file in the data folder',
  },
} as const satisfies CliOptions;

export const USAGE_EXIT_CODE = 2;
export const FAILURE_EXIT_CODE = 1;

/** The process exit code for an error the CLI reports as `error [CODE]: message`. */
export function exitCodeFor(error: AppError): number {
  return error.code === 'BAD_USER_INPUT' ? USAGE_EXIT_CODE : FAILURE_EXIT_CODE;
}

function optionSyntax(name: string, option: CliOption): string {
  return option.type === 'string' ? `--${name} ${option.value ?? 'VALUE'}` : `--${name}`;
}

export function usageOf(command: CliCommand): string {
  // One form: its options inline. Several (thumbnails' actions): `[options]`, and --help says which action uses which.
  const options =
    command.forms.length > 1
      ? '[options]'
      : Object.entries(command.options)
          .map(([name, option]) => `[${optionSyntax(name, option)}]`)
          .join(' ');
  return command.forms
    .map(
      (form, i) =>
        `${i === 0 ? 'usage: ' : '       '}diffusion-nexus ${[command.name, form, options].filter(Boolean).join(' ')}`,
    )
    .join('\n');
}

/** `<command> --help`: what it does, its usage, and every option with what it does and its default. */
export function helpOf(command: CliCommand): string {
  const rows: [string, string, string][] = [
    ...Object.entries(command.options).map(([name, option]): [string, string, string] => [
      optionSyntax(name, option),
      option.description,
      option.byDefault,
    ]),
    ['-h, --help', 'Show this help and exit.', ''],
  ];
  const width = Math.max(...rows.map(([syntax]) => syntax.length));
  const indent = ' '.repeat(width + 4);
  return [
    command.summary,
    usageOf(command),
    '',
    'options:',
    ...rows.map(
      ([syntax, description, byDefault]) =>
        `  ${syntax.padEnd(width)}  ${description}${byDefault ? `\n${indent}default: ${byDefault}` : ''}`,
    ),
  ].join('\n');
}

/** A usage error: the command line cannot be acted on (exit code 2). */
export function usageError(message: string, command?: CliCommand): AppError {
  return new AppError('BAD_USER_INPUT', command ? `${message}\n${usageOf(command)}` : message);
}

/**
 * The command's options and positionals. Anything the declaration does not allow is a usage error in our own
 * words: Node's parser advises `--` for positionals that look like options, which `npm run cli --` has used up.
 */
export function parseCommandArgs<O extends CliOptions>(argv: string[], command: CliCommand<O>) {
  const config = Object.fromEntries(Object.entries(command.options).map(([name, { type }]) => [name, { type }]));
  const { tokens } = parseArgs({ args: argv, options: config, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const option = Object.hasOwn(command.options, token.name) ? command.options[token.name] : undefined;
    if (!option) {
      const known = Object.keys(command.options).map((name) => `--${name}`);
      throw usageError(
        `unknown option ${token.rawName} for ${command.name}` +
          `${known.length ? ` (its options: ${known.join(', ')})` : ' (it takes no options)'}; ` +
          `a file whose name starts with "-" can be given as ./${token.rawName}.`,
        command,
      );
    }
    // `--port --data-dir x`: the next option is no value (one that starts with "-" is written `--port=-1`).
    if (option.type === 'string' && (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))))
      throw usageError(`${token.rawName} needs a value: ${optionSyntax(token.name, option)}.`, command);
    if (option.type === 'boolean' && token.value !== undefined)
      throw usageError(`${token.rawName} takes no value.`, command);
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
    return { values: values as CliValues<O>, positionals };
  } catch (error) {
    // The checks above cover what the strict parser refuses; should it refuse more, it is still a usage error.
    throw usageError((error as Error).message, command);
  }
}

/**
 * A file or folder named on the command line. One that does not exist is a usage error, the same for every
 * command (the exit code tells a mistyped path from a command that ran and failed).
 */
export async function namedPath(arg: string): Promise<Stats> {
  try {
    return await stat(arg);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw usageError(`${arg}: no such file or directory.`);
    throw error;
  }
}

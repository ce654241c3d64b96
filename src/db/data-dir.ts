/**
 * Where the database lives. The desktop app keeps `Diffusion_Nexus-core.db` in `DiffusionNexus/Data/` under the
 * platform's per-user application-data folder; we resolve the same folder so both apps share one file.
 */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors.ts';

export const DATABASE_FILE_NAME = 'Diffusion_Nexus-core.db';
export const DATA_DIR_ENV = 'DIFFUSION_NEXUS_DATA_DIR';

export interface PlatformEnvironment {
  platform: NodeJS.Platform;
  home: string;
  env: Readonly<Record<string, string | undefined>>;
}

export interface DataDirOptions {
  /** `--data-dir` from the command line; wins over the environment. */
  flag?: string | undefined;
}

/** The per-user application-data folder of a platform (not yet including `DiffusionNexus/Data`). */
export function platformAppDataDir({ platform, home, env }: PlatformEnvironment): string {
  const p = platform === 'win32' ? path.win32 : path.posix;
  if (platform === 'win32') return env.LOCALAPPDATA || p.join(home, 'AppData', 'Local');
  if (platform === 'darwin') return p.join(home, 'Library', 'Application Support');
  const xdg = env.XDG_DATA_HOME;
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  return xdg && p.isAbsolute(xdg) ? xdg : p.join(home, '.local', 'share');
}

/** Resolves the data directory: `--data-dir`, then `DIFFUSION_NEXUS_DATA_DIR`, then the platform default. */
export function resolveDataDir(options: DataDirOptions, environment: PlatformEnvironment): string {
  const explicit = options.flag ?? environment.env[DATA_DIR_ENV];
  const p = environment.platform === 'win32' ? path.win32 : path.posix;
  if (explicit !== undefined && explicit.trim() !== '') return p.resolve(explicit);
  return p.join(platformAppDataDir(environment), 'DiffusionNexus', 'Data');
}

/** Creates the directory when missing and proves it is writable; throws `DATA_DIR_NOT_WRITABLE` otherwise. */
export function ensureDataDir(dir: string): string {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new AppError('DATA_DIR_NOT_WRITABLE', `The data directory ${dir} exists but is not a directory.`, { dir });
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new AppError(
      'DATA_DIR_NOT_WRITABLE',
      `Cannot create the data directory ${dir}: ${(error as Error).message}. ` +
        `Choose another one with --data-dir or ${DATA_DIR_ENV}.`,
      { dir },
    );
  }
  // A real write, not access(2): root passes access checks on read-only mounts.
  const probe = path.join(dir, `.write-probe-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe);
  } catch {
    throw new AppError(
      'DATA_DIR_NOT_WRITABLE',
      `The data directory ${dir} is not writable. ` +
        `Fix its permissions or choose another one with --data-dir or ${DATA_DIR_ENV}.`,
      { dir },
    );
  }
  return dir;
}

export function databasePathIn(dir: string): string {
  return path.join(dir, DATABASE_FILE_NAME);
}

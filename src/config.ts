/**
 * Runtime configuration from flags and environment, resolved once at start-up. Flags win over the environment,
 * which wins over defaults.
 */
import { AppError } from './errors.ts';
import { databasePathIn, resolveDataDir } from './db/data-dir.ts';

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  databasePath: string;
  /** `NODE_ENV=development` shows original error messages to clients; otherwise unexpected errors are masked. */
  development: boolean;
  graphiql: boolean;
  /** Most base64 thumbnail bytes in one GraphQL response (`thumbnail { base64 dataUri }`). */
  maxBase64Bytes: number;
}

export interface ServerFlags {
  host?: string | undefined;
  port?: string | undefined;
  dataDir?: string | undefined;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 4000;

export function parsePort(raw: string, source: string): number {
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AppError('BAD_USER_INPUT', `${source} must be a port number between 0 and 65535, got "${raw}".`);
  }
  return port;
}

export const DEFAULT_MAX_BASE64_BYTES = 8 * 1024 * 1024;

export function parsePositiveInt(raw: string | undefined, source: string, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value <= 0) {
    throw new AppError('BAD_USER_INPUT', `${source} must be a positive integer, got "${raw}".`);
  }
  return value;
}

export function parseBooleanSetting(raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw.trim() === '') return fallback;
  return !/^(0|false|no|off)$/i.test(raw.trim());
}

export function resolveServerConfig(flags: ServerFlags = {}, env: Readonly<Record<string, string | undefined>> = process.env): ServerConfig {
  const dataDir = resolveDataDir({ flag: flags.dataDir });
  const portText = flags.port ?? env.PORT;
  return {
    host: flags.host ?? env.HOST ?? DEFAULT_HOST,
    port: portText === undefined ? DEFAULT_PORT : parsePort(portText, flags.port !== undefined ? '--port' : 'PORT'),
    dataDir,
    databasePath: databasePathIn(dataDir),
    development: env.NODE_ENV === 'development',
    graphiql: parseBooleanSetting(env.DIFFUSION_NEXUS_GRAPHIQL, true),
    maxBase64Bytes: parsePositiveInt(env.DIFFUSION_NEXUS_MAX_BASE64_BYTES, 'DIFFUSION_NEXUS_MAX_BASE64_BYTES', DEFAULT_MAX_BASE64_BYTES),
  };
}

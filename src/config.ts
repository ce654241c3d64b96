/**
 * Runtime configuration from flags and environment, resolved once at start-up. Flags win over the environment,
 * which wins over defaults.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import path from 'node:path';
import { AppError } from './errors.ts';
import { LOG_LEVELS, type LogLevel, type LogSettings } from './server/logger.ts';
import { databasePathIn, type PlatformEnvironment, resolveDataDir } from './db/data-dir.ts';
import { QUERY_LIMITS, type QueryLimits } from './catalog/query-limits.ts';
import { BUSY_TIMEOUT_MS } from './db/database-errors.ts';

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  databasePath: string;
  /**
   * The catalog's engine (see `resolveDatabaseTarget`): a PostgreSQL server, or SQLite — then always the file
   * `databasePath` (absent: the same).
   */
  database?: DatabaseTarget;
  /** `NODE_ENV=development` shows original error messages to clients; otherwise unexpected errors are masked. */
  development: boolean;
  graphiql: boolean;
  /** Most base64 thumbnail bytes in one GraphQL response (`thumbnail { base64 dataUri }`). */
  maxBase64Bytes: number;
  /** Largest thumbnail `setImageThumbnail` accepts, in bytes. */
  maxThumbnailUploadBytes: number;
  /** When set, every mutation needs `Authorization: Bearer <token>`; required to listen beyond loopback. */
  apiToken: string | null;
  /** Folders the server may touch on disk (local files, scans); nothing outside them. */
  libraryRoots: string[];
  civitai: CivitaiSettings;
  downloads: DownloadSettings;
  /** A GraphQL request still running after this long is stopped and answered TIMEOUT (DIFFUSION_NEXUS_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Open connections at most; past it the oldest idle or still-arriving one is closed (DIFFUSION_NEXUS_MAX_CONNECTIONS). */
  maxConnections: number;
  /**
   * How long a write waits for another program's write lock (on PostgreSQL: how long any statement waits for rows or
   * tables another connection holds locked) before DATABASE_LOCKED (DIFFUSION_NEXUS_LOCK_WAIT_MS).
   */
  lockWaitMs: number;
  /** Query shape limits (DIFFUSION_NEXUS_MAX_COMPLEXITY, _DEPTH, _BREADTH, _ALIASES, _TOKENS, _DIRECTIVES). */
  queryLimits: QueryLimits;
  /** Longest side of thumbnails this server makes, in pixels (DIFFUSION_NEXUS_THUMBNAIL_SIZE). */
  thumbnailSide: number;
  /** Introspection (`__schema`, `__type`); GraphiQL and code generators need it. */
  introspection: boolean;
  /** Browser origins allowed to call the API from another origin (see `parseCorsOrigins`). */
  corsOrigins: CorsOrigins;
  log: LogSettings;
  /** Persisted-document manifests of other apps (DIFFUSION_NEXUS_PERSISTED_DOCUMENTS), beside the project's own. */
  persistedDocumentFiles: string[];
  /** Only persisted documents run (DIFFUSION_NEXUS_TRUSTED_DOCUMENTS_ONLY): clients cannot send their own. */
  trustedDocumentsOnly: boolean;
  /** JSON bytes of persisted-query answers kept in memory (DIFFUSION_NEXUS_RESPONSE_CACHE_BYTES; 0: none). */
  responseCacheBytes: number;
  /** `catalogChanged` subscriptions open at once, at most (DIFFUSION_NEXUS_MAX_CATALOG_SUBSCRIBERS). */
  maxCatalogSubscribers: number;
  /**
   * GraphQL requests computing at once, at most; the others wait their turn (DIFFUSION_NEXUS_MAX_CONCURRENT_QUERIES; null:
   * the engine's default, `defaultConcurrentQueries`).
   */
  maxConcurrentQueries: number | null;
}

/** `loopback`: pages served from localhost/127.0.0.1/[::1] on any port; `any`; `none`; or an explicit list. */
export type CorsOrigins = 'loopback' | 'any' | 'none' | readonly string[];

export interface CivitaiSettings {
  /** https://civitai.com by default; any mirror with the same API works (e.g. https://civitai.red). */
  baseUrl: string;
  apiKey: string | null;
  timeoutMs: number;
  /**
   * The archive asked for a SHA-256 Civitai no longer knows (CIVARCHIVE_BASE_URL, default https://civarchive.com),
   * or null when the fallback is off: it sends file hashes to a third party, so only CIVARCHIVE_FALLBACK=1 turns it on.
   */
  archiveBaseUrl?: string | null;
}

export interface DownloadSettings {
  /** Transfers running at once in one process (DIFFUSION_NEXUS_DOWNLOAD_CONCURRENCY). */
  concurrency: number;
  /** Write `<stem>.civitai.info` and `<stem>.preview.webp` beside each downloaded file (DIFFUSION_NEXUS_DOWNLOAD_SIDECARS). */
  sidecars: boolean;
}

export const DEFAULT_DOWNLOAD_CONCURRENCY = 2;
/** More parallel transfers only split the same bandwidth and disk. */
export const MAX_DOWNLOAD_CONCURRENCY = 8;

/** DIFFUSION_NEXUS_DOWNLOAD_CONCURRENCY (1–8, default 2) and DIFFUSION_NEXUS_DOWNLOAD_SIDECARS (default off). */
export function resolveDownloadSettings(env: Env = process.env): DownloadSettings {
  return {
    concurrency: parseIntInRange(
      env.DIFFUSION_NEXUS_DOWNLOAD_CONCURRENCY,
      'DIFFUSION_NEXUS_DOWNLOAD_CONCURRENCY',
      DEFAULT_DOWNLOAD_CONCURRENCY,
      { max: MAX_DOWNLOAD_CONCURRENCY },
    ),
    sidecars: parseBooleanSetting(env.DIFFUSION_NEXUS_DOWNLOAD_SIDECARS, 'DIFFUSION_NEXUS_DOWNLOAD_SIDECARS', false),
  };
}

export interface ServerFlags {
  host?: string | undefined;
  port?: string | undefined;
  dataDir?: string | undefined;
  databaseUrl?: string | undefined;
}

/** Where the catalog lives: a SQLite file (the embedded default) or a PostgreSQL database. */
export type DatabaseTarget =
  | {
      readonly engine: 'sqlite';
      readonly path: string;
      /** The data directory `path` is the default file of, or null when a `file:PATH` URL named the file. */
      readonly dataDir: string | null;
    }
  | {
      readonly engine: 'postgres';
      /** The connection URL as given, password included: hand it only to `pg`, never to a log or an error. */
      readonly url: string;
      /** The URL with its password replaced, for messages. */
      readonly display: string;
      /** Connections the catalog's request pool opens at most (DIFFUSION_NEXUS_DATABASE_POOL_SIZE). */
      readonly poolSize: number;
      /** The flag that named it when not `--database-url` / DIFFUSION_NEXUS_DATABASE_URL (`transfer --to`), for messages. */
      readonly setting?: string;
    };

/** Connections of the PostgreSQL request pool when DIFFUSION_NEXUS_DATABASE_POOL_SIZE is unset. */
export const DEFAULT_DATABASE_POOL_SIZE = 10;
/** More connections than this per process only queue inside PostgreSQL (each is a server process). */
export const MAX_DATABASE_POOL_SIZE = 100;

/** A database URL with its password (and any `password=` parameter) replaced, safe to print. */
export function redactDatabaseUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    if (url.searchParams.has('password')) url.searchParams.set('password', '***');
    return url.toString();
  } catch {
    // Unparsable: say nothing of its content beyond the scheme, which cannot hold a secret.
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(raw.trim())?.[0];
    return scheme ? `${scheme}… (unparsable)` : '(unparsable)';
  }
}

/**
 * The catalog database: `--database-url`, then DIFFUSION_NEXUS_DATABASE_URL. Unset or `file:` → SQLite (`file:`
 * alone or `file:` + the data directory's default: the file in the data directory; `file:PATH`: that file);
 * `postgres://` or `postgresql://` → PostgreSQL. Anything else is INVALID_DATABASE_URL, naming the setting.
 */
export function resolveDatabaseTarget(
  flags: {
    databaseUrl?: string | undefined;
    dataDir?: string | undefined;
    /** The flag `databaseUrl` came from when it is not `--database-url` (`--from`, `--to`), named in messages. */
    setting?: string | undefined;
  },
  env: Env = process.env,
): DatabaseTarget {
  const setting =
    flags.setting ?? (flags.databaseUrl !== undefined ? '--database-url' : 'DIFFUSION_NEXUS_DATABASE_URL');
  const raw = (flags.databaseUrl ?? env.DIFFUSION_NEXUS_DATABASE_URL)?.trim() ?? '';
  if (raw === '' || raw === 'file:') {
    const dataDir = resolveDataDirSetting(flags.dataDir, env);
    return { engine: 'sqlite', path: databasePathIn(dataDir), dataDir };
  }
  if (raw.startsWith('file:'))
    return {
      engine: 'sqlite',
      path: path.resolve(raw.slice('file:'.length).replace(/^\/\/(?=\/)/, '')),
      dataDir: null,
    };
  const display = redactDatabaseUrl(raw);
  if (!/^postgres(ql)?:\/\//i.test(raw))
    throw new AppError(
      'INVALID_DATABASE_URL',
      `${setting} must be file:PATH (SQLite) or postgres://user@host:port/database (PostgreSQL), got "${display}".`,
      { setting },
    );
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('INVALID_DATABASE_URL', `${setting} is not a valid URL: "${display}".`, { setting });
  }
  if (url.hostname === '' && !url.searchParams.has('host'))
    throw new AppError('INVALID_DATABASE_URL', `${setting} names no host: "${display}".`, { setting });
  if (url.pathname.replace(/^\//, '') === '')
    throw new AppError('INVALID_DATABASE_URL', `${setting} names no database (…/DATABASE): "${display}".`, {
      setting,
    });
  const poolSize = parseIntInRange(
    env.DIFFUSION_NEXUS_DATABASE_POOL_SIZE,
    'DIFFUSION_NEXUS_DATABASE_POOL_SIZE',
    DEFAULT_DATABASE_POOL_SIZE,
    { max: MAX_DATABASE_POOL_SIZE },
  );
  return { engine: 'postgres', url: raw, display, poolSize, ...(flags.setting ? { setting: flags.setting } : {}) };
}

/** Where messages say the catalog is: the file's path, or the URL without its password. */
export function describeDatabase(target: DatabaseTarget): string {
  return target.engine === 'sqlite' ? target.path : target.display;
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

/** Longest side of a thumbnail, in pixels: the default, and the range DIFFUSION_NEXUS_THUMBNAIL_SIZE may set. */
export const DEFAULT_THUMBNAIL_SIDE = 320;
export const MIN_THUMBNAIL_SIDE = 32;
export const MAX_THUMBNAIL_SIDE = 2048;

export const DEFAULT_MAX_BASE64_BYTES = 8 * 1024 * 1024;
/** Largest request body for queries and every mutation but the import. */
export const MAX_QUERY_BODY_BYTES = 1024 * 1024;
/** Largest body of an `importCivitaiPayload` mutation (room for a big Civitai payload), for clients that may write. */
export const MAX_IMPORT_BODY_BYTES = 64 * 1024 * 1024;
/** Bytes of large bodies (imports, thumbnail uploads) being received or processed at once; past it, 429. */
export const MAX_LARGE_BODY_BYTES_IN_FLIGHT = 2 * MAX_IMPORT_BODY_BYTES;
/** JSON bodies: deepest nesting and most values, checked while the bytes arrive (before JSON.parse can explode). */
export const MAX_JSON_DEPTH = 64;
export const MAX_JSON_VALUES = 1_000_000;
/** A body whose bytes stop arriving for this long is dropped. */
export const BODY_IDLE_TIMEOUT_MS = 10_000;
/** Request headers must arrive within this time. */
export const HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Decoded images (uploads, previews, cached files) at most this many pixels (40 MP: 8K × 5K). */
export const MAX_IMAGE_PIXELS = 40_000_000;
/** File descriptors kept free of connections: the database, hashing, previews and logs need some. */
const RESERVED_FILE_DESCRIPTORS = 128;

/**
 * The default connection cap: half the process's file-descriptor limit (read from /proc on Linux), at most 4096;
 * 1024 where the limit cannot be read. Slow clients beyond it are closed rather than starving everyone else.
 */
export function defaultMaxConnections(limitsFile = '/proc/self/limits'): number {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync(limitsFile, 'utf8'));
    if (match)
      return Math.max(
        32,
        Math.min(4096, Math.floor(Number(match[1]) / 2), Number(match[1]) - RESERVED_FILE_DESCRIPTORS),
      );
  } catch {
    // Not Linux: fall through.
  }
  return 1024;
}
export const DEFAULT_MAX_THUMBNAIL_UPLOAD_BYTES = 2 * 1024 * 1024;
/** Answers of persisted queries kept in memory, by their JSON size (see `src/server/revision-cache.ts`). */
export const DEFAULT_RESPONSE_CACHE_BYTES = 32 * 1024 * 1024;
/** Each open `catalogChanged` subscription holds a connection and, per write burst, an event to send. */
export const DEFAULT_MAX_CATALOG_SUBSCRIBERS = 100;
/**
 * SQLite: two requests computing at once. Its statements run on the event loop, so more in flight only interleave —
 * each keeping its rows and half-built answer alive — and measured at 10 connections, ten at once gave less
 * throughput and more memory than two (see `execution-gate.ts`). One measured faster still, but then one long request
 * holds up every other; with two, short queries get through beside it. PostgreSQL computes in its own processes: one
 * per pooled connection, but at most two per core of this machine. Where the database shares the machine's cores,
 * more at once only starve the event loop: twelve broad searches at once held /health up for 250–420 ms with ten
 * turns on two cores, 170 ms with four and 60–80 ms with two; four against ten measured the same throughput on the
 * bench's list page (0.99) and more on search (1.14), two against ten 10 % and 27 % less.
 */
export function defaultConcurrentQueries(target: DatabaseTarget, cores = availableParallelism()): number {
  return target.engine === 'postgres' ? Math.min(target.poolSize, 2 * cores) : 2;
}
export const MAX_CONCURRENT_QUERIES = 1000;
export const MIN_API_TOKEN_LENGTH = 16;
type Env = Readonly<Record<string, string | undefined>>;

export function parseApiToken(raw: string | undefined): string | null {
  const token = raw?.trim();
  if (!token) return null;
  if (token.length < MIN_API_TOKEN_LENGTH) {
    throw new AppError(
      'BAD_USER_INPUT',
      `DIFFUSION_NEXUS_API_TOKEN must be at least ${MIN_API_TOKEN_LENGTH} characters (use a random string).`,
    );
  }
  return token;
}

/** DIFFUSION_NEXUS_LIBRARY_ROOTS: folders separated by the platform's path delimiter (`:` or `;`). */
export function parseLibraryRoots(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(path.delimiter)
    .map((root) => root.trim())
    .filter((root) => root !== '')
    .map((root) => path.resolve(root));
}

function httpUrl(raw: string | undefined, fallback: string, name: string): string {
  const url = (raw?.trim() || fallback).replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+/.test(url))
    throw new AppError('BAD_USER_INPUT', `${name} must be an http(s) URL, got "${url}".`);
  return url;
}

export function resolveCivitaiSettings(env: Env = process.env): CivitaiSettings {
  const baseUrl = httpUrl(env.CIVITAI_BASE_URL, 'https://civitai.com', 'CIVITAI_BASE_URL');
  const archiveBaseUrl = httpUrl(env.CIVARCHIVE_BASE_URL, 'https://civarchive.com', 'CIVARCHIVE_BASE_URL');
  return {
    ...(parseBooleanSetting(env.CIVARCHIVE_FALLBACK, 'CIVARCHIVE_FALLBACK', false) ? { archiveBaseUrl } : {}),
    baseUrl,
    apiKey: env.CIVITAI_API_KEY?.trim() || null,
    timeoutMs: parsePositiveInt(env.CIVITAI_TIMEOUT_MS, 'CIVITAI_TIMEOUT_MS', 30_000),
  };
}

export function parsePositiveInt(raw: string | undefined, source: string, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value <= 0) {
    throw new AppError('BAD_USER_INPUT', `${source} must be a positive integer, got "${raw}".`);
  }
  return value;
}

/** A positive integer from `min` (default 1) to `max`; `fallback` when unset. */
export function parseIntInRange(
  raw: string | undefined,
  source: string,
  fallback: number,
  range: { min?: number; max: number; unit?: string },
): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = parsePositiveInt(raw, source, fallback);
  const { min = 1, max, unit = '' } = range;
  if (value < min || value > max)
    throw new AppError('BAD_USER_INPUT', `${source} is between ${min} and ${max}${unit}, got ${value}.`);
  return value;
}

/** A whole number of 0 or more (a size where 0 turns something off). */
export function parseNonNegativeInt(raw: string | undefined, source: string, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value))
    throw new AppError('BAD_USER_INPUT', `${source} must be a whole number (0 or more), got "${raw}".`);
  return value;
}

/** Files separated by the platform's path delimiter (`:` or `;`), resolved. */
export function parseFileList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(path.delimiter)
    .map((file) => file.trim())
    .filter((file) => file !== '')
    .map((file) => path.resolve(file));
}

/** An on/off setting: 1/true/yes/on or 0/false/no/off (any case); anything else is refused, never guessed. */
export function parseBooleanSetting(raw: string | undefined, source: string, fallback: boolean): boolean {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim();
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new AppError('BAD_USER_INPUT', `${source} must be 1 or 0 (true/false, yes/no, on/off), got "${raw}".`);
}

/**
 * DIFFUSION_NEXUS_CORS_ORIGINS: unset for loopback origins (local frontends on any port), `*` for any origin,
 * `none` for same-origin only, or a comma-separated list of origins (`https://app.example:8443`).
 */
export function parseCorsOrigins(raw: string | undefined): CorsOrigins {
  const text = raw?.trim() ?? '';
  if (text === '' || text.toLowerCase() === 'loopback') return 'loopback';
  if (text === '*') return 'any';
  if (text.toLowerCase() === 'none') return 'none';
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      let origin: string;
      try {
        origin = new URL(entry).origin;
      } catch {
        origin = 'null';
      }
      if (origin === 'null' || origin !== entry.replace(/\/+$/, '')) {
        throw new AppError(
          'BAD_USER_INPUT',
          `DIFFUSION_NEXUS_CORS_ORIGINS: "${entry}" is not an origin (scheme://host[:port], no path).`,
        );
      }
      return origin;
    });
}

export function parseLogSettings(env: Env, interactive: boolean): LogSettings {
  const level = (env.DIFFUSION_NEXUS_LOG_LEVEL?.trim().toLowerCase() || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level))
    throw new AppError(
      'BAD_USER_INPUT',
      `DIFFUSION_NEXUS_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}".`,
    );
  const format = env.DIFFUSION_NEXUS_LOG_FORMAT?.trim().toLowerCase() || (interactive ? 'pretty' : 'json');
  if (format !== 'json' && format !== 'pretty')
    throw new AppError('BAD_USER_INPUT', `DIFFUSION_NEXUS_LOG_FORMAT must be json or pretty, got "${format}".`);
  return { level, format };
}

/** The query limits, with those the environment may change checked (a bad value is an error, never ignored). */
export function resolveQueryLimits(env: Env = process.env): QueryLimits {
  const limit = (name: string, fallback: number) =>
    parsePositiveInt(env[`DIFFUSION_NEXUS_${name}`], `DIFFUSION_NEXUS_${name}`, fallback);
  return {
    ...QUERY_LIMITS,
    complexity: limit('MAX_COMPLEXITY', QUERY_LIMITS.complexity),
    depth: limit('MAX_DEPTH', QUERY_LIMITS.depth),
    breadth: limit('MAX_BREADTH', QUERY_LIMITS.breadth),
    aliases: limit('MAX_ALIASES', QUERY_LIMITS.aliases),
    tokens: limit('MAX_TOKENS', QUERY_LIMITS.tokens),
    directives: limit('MAX_DIRECTIVES', QUERY_LIMITS.directives),
  };
}

/** DIFFUSION_NEXUS_THUMBNAIL_SIZE: the longest side of thumbnails made here. */
export function resolveThumbnailSide(env: Env = process.env): number {
  return parseIntInRange(env.DIFFUSION_NEXUS_THUMBNAIL_SIZE, 'DIFFUSION_NEXUS_THUMBNAIL_SIZE', DEFAULT_THUMBNAIL_SIDE, {
    min: MIN_THUMBNAIL_SIDE,
    max: MAX_THUMBNAIL_SIDE,
    unit: ' pixels',
  });
}

/** What the CLI's tools take from the environment: the library roots (may be empty), the thumbnail size, downloads. */
export interface ToolSettings {
  libraryRoots: string[];
  thumbnailSide: number;
  downloads: DownloadSettings;
}

export function resolveToolSettings(env: Env = process.env): ToolSettings {
  return {
    libraryRoots: parseLibraryRoots(env.DIFFUSION_NEXUS_LIBRARY_ROOTS),
    thumbnailSide: resolveThumbnailSide(env),
    downloads: resolveDownloadSettings(env),
  };
}

/** This machine's platform, home folder and environment (what the default data directory depends on). */
export function currentPlatformEnvironment(env: Env = process.env): PlatformEnvironment {
  return { platform: process.platform, home: homedir(), env };
}

/** The data directory: `--data-dir`, then DIFFUSION_NEXUS_DATA_DIR, then the platform default. */
export function resolveDataDirSetting(flag: string | undefined, env: Env = process.env): string {
  return resolveDataDir({ flag }, currentPlatformEnvironment(env));
}

export function resolveServerConfig(flags: ServerFlags = {}, env: Env = process.env): ServerConfig {
  const dataDir = resolveDataDirSetting(flags.dataDir, env);
  const portText = flags.port ?? env.PORT;
  const database = resolveDatabaseTarget(flags, env);
  return {
    host: flags.host ?? env.HOST ?? DEFAULT_HOST,
    port: portText === undefined ? DEFAULT_PORT : parsePort(portText, flags.port !== undefined ? '--port' : 'PORT'),
    dataDir,
    databasePath: database.engine === 'sqlite' ? database.path : databasePathIn(dataDir),
    database,
    development: env.NODE_ENV === 'development',
    // GraphiQL cannot work without introspection, so it follows that setting unless set itself.
    graphiql: parseBooleanSetting(
      env.DIFFUSION_NEXUS_GRAPHIQL,
      'DIFFUSION_NEXUS_GRAPHIQL',
      parseBooleanSetting(env.DIFFUSION_NEXUS_INTROSPECTION, 'DIFFUSION_NEXUS_INTROSPECTION', true),
    ),
    introspection: parseBooleanSetting(env.DIFFUSION_NEXUS_INTROSPECTION, 'DIFFUSION_NEXUS_INTROSPECTION', true),
    corsOrigins: parseCorsOrigins(env.DIFFUSION_NEXUS_CORS_ORIGINS),
    log: parseLogSettings(env, process.stdout.isTTY === true),
    maxBase64Bytes: parsePositiveInt(
      env.DIFFUSION_NEXUS_MAX_BASE64_BYTES,
      'DIFFUSION_NEXUS_MAX_BASE64_BYTES',
      DEFAULT_MAX_BASE64_BYTES,
    ),
    maxThumbnailUploadBytes: parsePositiveInt(
      env.DIFFUSION_NEXUS_MAX_THUMBNAIL_BYTES,
      'DIFFUSION_NEXUS_MAX_THUMBNAIL_BYTES',
      DEFAULT_MAX_THUMBNAIL_UPLOAD_BYTES,
    ),
    apiToken: parseApiToken(env.DIFFUSION_NEXUS_API_TOKEN),
    libraryRoots: parseLibraryRoots(env.DIFFUSION_NEXUS_LIBRARY_ROOTS),
    civitai: resolveCivitaiSettings(env),
    downloads: resolveDownloadSettings(env),
    requestTimeoutMs: parsePositiveInt(
      env.DIFFUSION_NEXUS_REQUEST_TIMEOUT_MS,
      'DIFFUSION_NEXUS_REQUEST_TIMEOUT_MS',
      DEFAULT_REQUEST_TIMEOUT_MS,
    ),
    maxConnections: parsePositiveInt(
      env.DIFFUSION_NEXUS_MAX_CONNECTIONS,
      'DIFFUSION_NEXUS_MAX_CONNECTIONS',
      defaultMaxConnections(),
    ),
    lockWaitMs: parsePositiveInt(env.DIFFUSION_NEXUS_LOCK_WAIT_MS, 'DIFFUSION_NEXUS_LOCK_WAIT_MS', BUSY_TIMEOUT_MS),
    queryLimits: resolveQueryLimits(env),
    thumbnailSide: resolveThumbnailSide(env),
    persistedDocumentFiles: parseFileList(env.DIFFUSION_NEXUS_PERSISTED_DOCUMENTS),
    trustedDocumentsOnly: parseBooleanSetting(
      env.DIFFUSION_NEXUS_TRUSTED_DOCUMENTS_ONLY,
      'DIFFUSION_NEXUS_TRUSTED_DOCUMENTS_ONLY',
      false,
    ),
    responseCacheBytes: parseNonNegativeInt(
      env.DIFFUSION_NEXUS_RESPONSE_CACHE_BYTES,
      'DIFFUSION_NEXUS_RESPONSE_CACHE_BYTES',
      DEFAULT_RESPONSE_CACHE_BYTES,
    ),
    maxCatalogSubscribers: parsePositiveInt(
      env.DIFFUSION_NEXUS_MAX_CATALOG_SUBSCRIBERS,
      'DIFFUSION_NEXUS_MAX_CATALOG_SUBSCRIBERS',
      DEFAULT_MAX_CATALOG_SUBSCRIBERS,
    ),
    maxConcurrentQueries: parseConcurrentQueries(env.DIFFUSION_NEXUS_MAX_CONCURRENT_QUERIES),
  };
}

/** Unset: null (the engine's default, `defaultConcurrentQueries`). */
function parseConcurrentQueries(raw: string | undefined): number | null {
  if (raw === undefined || raw.trim() === '') return null;
  return parseIntInRange(raw, 'DIFFUSION_NEXUS_MAX_CONCURRENT_QUERIES', 0, { max: MAX_CONCURRENT_QUERIES });
}

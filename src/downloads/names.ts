/**
 * Names and addresses a download takes from outside: the file name a server suggests (`Content-Disposition`), the
 * subfolder a client asks for, and what the CLI is given (a version id or a civitai.com URL). All of it is
 * untrusted and bounded: a name never carries a path, a control character or `..`, and never grows past what file
 * systems take.
 */
import path from 'node:path';
import { AppError } from '../errors.ts';

/** Longer Content-Disposition headers are not read at all (the catalog's name is used). */
export const MAX_CONTENT_DISPOSITION_CHARS = 2048;
/** Most bytes of a file name (UTF-8): ext4, NTFS and APFS take 255; room is left for a ` (12)` suffix and `.part`. */
export const MAX_FILE_NAME_BYTES = 200;
export const MAX_SUBFOLDER_CHARS = 1024;
export const MAX_URL_CHARS = 2048;

/**
 * Characters no file name keeps: path separators, Windows' reserved ones, control characters (`\p{Cc}`, NUL
 * included) and invisible format characters (`\p{Cf}`: bidi overrides such as U+202E, which make `fdp.exe` show as
 * `exe.pdf`, zero-width characters, BOMs).
 */
const UNSAFE_CHARACTERS = /[/\\<>:"|?*\p{Cc}\p{Cf}]/gu;
/** Windows device names, refused as a stem on every platform (the library may be shared with Windows). */
const RESERVED_STEMS = /^(con|prn|aux|nul|com\d|lpt\d)$/i;

function truncateUtf8(text: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes) break;
    out += char;
    bytes += size;
  }
  return out;
}

/**
 * A file name safe to create in a library folder, or null when nothing usable is left. Only the last path segment
 * counts (a name like `../../etc/x` becomes `x`); unsafe characters are dropped; leading dots and trailing dots and
 * spaces go (no hidden files, nothing Windows would strip); the stem is shortened to keep the extension.
 */
export function sanitizeFileName(raw: string): string | null {
  const lastSegment = raw.split(/[/\\]/).at(-1) ?? '';
  let name = lastSegment
    .replace(UNSAFE_CHARACTERS, '')
    .trim()
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '');
  if (name === '' || name === '.' || name === '..') return null;
  const extension = path.extname(name);
  let stem = extension ? name.slice(0, -extension.length) : name;
  if (RESERVED_STEMS.test(stem)) stem = `_${stem}`;
  // An extension that is itself too long is not one worth keeping.
  const keptExtension = Buffer.byteLength(extension) <= 32 ? extension : '';
  if (!keptExtension) stem = name;
  name = `${truncateUtf8(stem, MAX_FILE_NAME_BYTES - Buffer.byteLength(keptExtension))}${keptExtension}`;
  return name.replace(/[.\s]+$/, '') || null;
}

/**
 * The file name a `Content-Disposition` header suggests (`filename*=UTF-8''…` first, else `filename=`), sanitised;
 * null when there is none, it is unusable, or the header is longer than anyone needs.
 */
export function fileNameFromContentDisposition(header: string | null | undefined): string | null {
  if (!header || header.length > MAX_CONTENT_DISPOSITION_CHARS) return null;
  const extended = /filename\*\s*=\s*([\w!#$%&+^`{}~-]+)'[^']*'([^;]+)/i.exec(header);
  if (extended) {
    try {
      const decoded = decodeURIComponent(extended[2]!.trim());
      const name = sanitizeFileName(decoded);
      if (name) return name;
    } catch {
      // Malformed percent-encoding: fall back to the plain parameter.
    }
  }
  const plain = /(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/i.exec(header);
  if (!plain) return null;
  const value = plain[1] !== undefined ? plain[1].replace(/\\(.)/g, '$1') : (plain[2] ?? '').trim();
  return sanitizeFileName(value);
}

/**
 * The name a downloaded file is saved under: the server's suggestion when it keeps the catalog file's extension
 * (compared without regard to case), else the catalog's own name, sanitised the same way. A server cannot turn a
 * `.safetensors` into an `.exe`, a `.bashrc` or a name without an extension.
 */
export function chooseFileName(suggested: string | null, catalogName: string | null, fallback: string): string {
  const catalog = catalogName === null ? null : sanitizeFileName(catalogName);
  if (suggested !== null) {
    const wanted = path.extname(catalog ?? fallback).toLowerCase();
    if (path.extname(suggested).toLowerCase() === wanted) return suggested;
  }
  return catalog ?? fallback;
}

/**
 * A subfolder below a download root, as relative segments joined with the platform's separator. Refused (coded,
 * before anything is created): absolute paths, `..` or `.` segments, NUL and other control characters, overlong.
 */
export function checkedSubfolder(subfolder: string | null | undefined): string | null {
  if (subfolder === null || subfolder === undefined || subfolder.trim() === '') return null;
  if (subfolder.length > MAX_SUBFOLDER_CHARS)
    throw new AppError('BAD_USER_INPUT', `\`subfolder\` is at most ${MAX_SUBFOLDER_CHARS} characters.`);
  if (path.isAbsolute(subfolder) || /^[a-zA-Z]:/.test(subfolder))
    throw new AppError('BAD_USER_INPUT', '`subfolder` is relative to `root`, not an absolute path.');
  const segments = subfolder.split(/[/\\]/).filter((segment) => segment !== '');
  for (const segment of segments) {
    if (segment === '.' || segment === '..')
      throw new AppError('BAD_USER_INPUT', '`subfolder` must not contain `.` or `..` segments.');
    if (sanitizeFileName(segment) !== segment)
      throw new AppError(
        'BAD_USER_INPUT',
        `\`subfolder\` segment ${JSON.stringify(segment.slice(0, 80))} has characters a folder name cannot have.`,
      );
  }
  return segments.join(path.sep);
}

/** The hosts whose URLs name Civitai models (the configured CIVITAI_BASE_URL host is accepted besides). */
export const CIVITAI_HOSTS: readonly string[] = ['civitai.com', 'www.civitai.com', 'civitai.red'];

export type DownloadTarget = { kind: 'version'; versionId: number } | { kind: 'model'; modelId: number };

const MAX_ID = 2 ** 31 - 1;

function positiveId(text: string, what: string, source: string): number {
  const id = Number(text);
  if (!/^\d{1,10}$/.test(text) || !Number.isInteger(id) || id < 1 || id > MAX_ID)
    throw new AppError('BAD_USER_INPUT', `${JSON.stringify(source)}: ${what} must be a positive 32-bit integer.`);
  return id;
}

/**
 * What the CLI is asked to download: a version id (`1255556`), or a Civitai URL (civitai.com, www.civitai.com,
 * civitai.red or the host of `baseUrl`, the configured CIVITAI_BASE_URL; any other host is refused) naming a version
 * (`/models/123?modelVersionId=456`, `/model-versions/456`, `/api/download/models/456`) or a model
 * (`/models/123/name`, whose newest version is meant).
 */
export function parseDownloadTarget(arg: string, baseUrl: string | null = null): DownloadTarget {
  const text = arg.trim();
  if (/^\d+$/.test(text)) return { kind: 'version', versionId: positiveId(text, 'a version id', arg) };
  if (text.length > MAX_URL_CHARS)
    throw new AppError('BAD_USER_INPUT', `A URL is at most ${MAX_URL_CHARS} characters.`, { limit: MAX_URL_CHARS });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AppError(
      'BAD_USER_INPUT',
      `${JSON.stringify(text.slice(0, 200))} is neither a version id nor a URL (e.g. https://civitai.com/models/123?modelVersionId=456).`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new AppError('BAD_USER_INPUT', `${JSON.stringify(text.slice(0, 200))} is not an http(s) URL.`);
  let baseHost: string | null = null;
  try {
    baseHost = baseUrl ? new URL(baseUrl).host : null;
  } catch {
    baseHost = null;
  }
  if (!CIVITAI_HOSTS.includes(url.hostname) && url.host !== baseHost)
    throw new AppError(
      'BAD_USER_INPUT',
      `${JSON.stringify(text.slice(0, 200))} is not a Civitai URL: its host is ${JSON.stringify(url.host)}, not ` +
        `${[...CIVITAI_HOSTS, ...(baseHost && !CIVITAI_HOSTS.includes(baseHost) ? [baseHost] : [])].join(', ')}.`,
    );
  const version = url.searchParams.get('modelVersionId');
  if (version !== null) return { kind: 'version', versionId: positiveId(version, 'modelVersionId', arg) };
  const byVersion = /^\/(?:api\/download\/models|api\/v1\/model-versions|model-versions)\/([^/]+)\/?$/.exec(
    url.pathname,
  );
  if (byVersion) return { kind: 'version', versionId: positiveId(byVersion[1]!, 'the version id', arg) };
  const byModel = /^\/(?:api\/v1\/)?models\/([^/]+)(?:\/[^/]*)?\/?$/.exec(url.pathname);
  if (byModel) return { kind: 'model', modelId: positiveId(byModel[1]!, 'the model id', arg) };
  throw new AppError(
    'BAD_USER_INPUT',
    `${JSON.stringify(text.slice(0, 200))} names no Civitai model or version (e.g. https://civitai.com/models/123?modelVersionId=456).`,
  );
}

/**
 * Finding model files in a library tree, with the sidecars and previews that sit next to them.
 * Directory symlinks are not followed (no loops, no escapes); file symlinks are resolved and kept only when the
 * target is inside a library root. Only regular files count: FIFOs, sockets and devices are skipped and reported.
 * Sidecars and previews are opened the same careful way (`openLibraryFile`): inside the roots after resolving
 * links, regular files only, opened without blocking.
 */
import { constants, type Dirent, type Stats } from 'node:fs';
import { open, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { yieldIfBusy } from '../db/request-scope.ts';
import { AppError } from '../errors.ts';
import { RequestWorker } from '../worker-requests.ts';
import { isInside } from './library-paths.ts';

export const MODEL_EXTENSIONS = ['.safetensors', '.ckpt', '.pt', '.pth', '.bin', '.sft', '.gguf'] as const;
const PREVIEW_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];
/** A preview is `<stem>.preview.png|jpg|jpeg|webp`, else `<stem>.png|…`: the suffixes in that order. */
const PREVIEW_SUFFIXES = ['.preview', ''].flatMap((infix) => PREVIEW_EXTENSIONS.map((ext) => `${infix}${ext}`));
/** The sidecar names read beside a model file `<stem>`, in the order `readSidecars` reads them. */
export const SIDECAR_SUFFIXES = ['.civitai.info', '.cm-info.json', '.metadata.json', '.json'] as const;
/** Every name a file beside a model can have that a scan reads (lower case, as `Siblings` keys are). */
const NEIGHBOUR_SUFFIXES: readonly string[] = [...SIDECAR_SUFFIXES, ...PREVIEW_SUFFIXES];

/** The names in one directory, looked up case-insensitively (built once per directory, not once per file). */
export type Siblings = ReadonlyMap<string, string>;

export function siblingsOf(names: Iterable<string>): Siblings {
  const byLower = new Map<string, string>();
  for (const name of names) if (!byLower.has(name.toLowerCase())) byLower.set(name.toLowerCase(), name);
  return byLower;
}

export interface FoundFile {
  /** Real path. */
  path: string;
  dir: string;
  fileName: string;
  /** File name without the model extension. */
  stem: string;
  size: number;
  mtimeMs: number;
  /** Folder names from the root down to the file (for inferring the model type). */
  folders: string[];
  /** Other file names in the same directory (sidecars, previews), by lower-case name. */
  siblings: Siblings;
  /**
   * What `lstat` said during the walk of the names in this directory that are some model file's possible sidecar
   * or preview, by lower-case name (one map per directory). Empty when no model file here has any.
   */
  neighbours: ReadonlyMap<string, PathFacts>;
}

export interface WalkProblem {
  path: string;
  message: string;
}

export interface WalkResult {
  files: FoundFile[];
  problems: WalkProblem[];
  /** Model-named entries that are not regular files (FIFOs, sockets, devices). */
  skipped: number;
}

export function modelExtension(fileName: string): string | null {
  const lower = fileName.toLowerCase();
  return MODEL_EXTENSIONS.find((ext) => lower.endsWith(ext)) ?? null;
}

/** The preview's lower-case name: `<stem>.preview.png|jpg|jpeg|webp`, then `<stem>.png|…` (case-insensitive). */
function previewKey(file: Pick<FoundFile, 'stem' | 'siblings'>): string | null {
  const stem = file.stem.toLowerCase();
  for (const suffix of PREVIEW_SUFFIXES) if (file.siblings.has(stem + suffix)) return stem + suffix;
  return null;
}

export function previewFor(file: Pick<FoundFile, 'dir' | 'stem' | 'siblings'>): string | null {
  const key = previewKey(file);
  return key === null ? null : path.join(file.dir, file.siblings.get(key)!);
}

/** A sidecar `<stem><suffix>` if present (case-insensitive). */
export function sidecarFor(file: Pick<FoundFile, 'dir' | 'stem' | 'siblings'>, suffix: string): string | null {
  const name = file.siblings.get(`${file.stem}${suffix}`.toLowerCase());
  return name ? path.join(file.dir, name) : null;
}

const SPECIAL_FILE = 'not a regular file (a FIFO, socket or device): skipped';

/**
 * Opens a file next to a model for reading: refused (coded error) when a link leads out of the roots or it is not
 * a regular file. Opened with O_NONBLOCK, so a FIFO never holds the scan.
 */
export async function openLibraryFile(file: string, roots: readonly string[]): Promise<FileHandle> {
  const real = await realpath(file);
  if (!roots.some((root) => isInside(root, real))) {
    throw new AppError('FORBIDDEN', 'symbolic link to a file outside the library roots: not read');
  }
  return openRegularFile(real);
}

/** Opens a regular file without blocking (a FIFO with no writer would block the opening thread forever). */
async function openRegularFile(file: string): Promise<FileHandle> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw new AppError('BAD_USER_INPUT', SPECIAL_FILE, { specialFile: true });
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Reads a whole file next to a model (see `openLibraryFile`), refusing one larger than `maxBytes`. */
export async function readLibraryFile(
  file: string,
  roots: readonly string[],
  maxBytes: number,
): Promise<{ bytes: Buffer; mtimeMs: number }> {
  return readOpened(await openLibraryFile(file, roots), maxBytes);
}

/** Reads a whole regular file (any folder: e.g. an image cache path the catalog records), at most `maxBytes`. */
export async function readRegularFile(file: string, maxBytes: number): Promise<{ bytes: Buffer; mtimeMs: number }> {
  return readOpened(await openRegularFile(file), maxBytes);
}

async function readOpened(handle: FileHandle, maxBytes: number): Promise<{ bytes: Buffer; mtimeMs: number }> {
  try {
    const info = await handle.stat();
    if (info.size > maxBytes)
      throw new AppError('LIMIT_EXCEEDED', `larger than ${maxBytes} bytes: not read`, { limit: maxBytes });
    return { bytes: await handle.readFile(), mtimeMs: info.mtimeMs };
  } finally {
    await handle.close();
  }
}

/**
 * Whether the sidecars and the preview beside `file` are as a scan recorded them (`sidecarMtimeMs`: the newest of
 * the sidecars it read; `previewMtimeMs`: the preview's), judged from their names and what `lstat` said of them
 * during the walk, without opening them. Anything else — a link, a special file, a preview too large to read, one
 * that could not be looked at — answers false, and the caller reads them the careful way, which reports what it
 * must.
 */
export function neighboursUnchanged(
  file: Pick<FoundFile, 'stem' | 'siblings' | 'neighbours'>,
  sidecarMtimeMs: number | null,
  previewMtimeMs: number | null,
  maxPreviewBytes: number,
): boolean {
  if (file.neighbours.size === 0) return sidecarMtimeMs === null && previewMtimeMs === null;
  const stem = file.stem.toLowerCase();
  let newest: number | null = null;
  for (const suffix of SIDECAR_SUFFIXES) {
    if (!file.siblings.has(stem + suffix)) continue;
    const info = file.neighbours.get(stem + suffix);
    if (!info || info instanceof Error || info.kind !== 'file') return false;
    newest = Math.max(newest ?? 0, info.mtimeMs);
  }
  if (newest !== sidecarMtimeMs) return false;
  const preview = previewKey(file);
  if (preview === null) return previewMtimeMs === null;
  const info = file.neighbours.get(preview);
  return (
    !!info &&
    !(info instanceof Error) &&
    info.kind === 'file' &&
    info.size <= maxPreviewBytes &&
    info.mtimeMs === previewMtimeMs
  );
}

/** Whether a lower-case name is a possible sidecar or preview of one of `stems` (lower-case model file stems). */
function isNeighbourName(name: string, stems: ReadonlySet<string>): boolean {
  for (const suffix of NEIGHBOUR_SUFFIXES)
    if (name.length > suffix.length && name.endsWith(suffix) && stems.has(name.slice(0, -suffix.length))) return true;
  return false;
}

/** A path's facts from `lstat`: a regular file's size and time, or what else it is, or why it could not be read. */
export type PathFacts = { kind: 'file' | 'directory' | 'other'; size: number; mtimeMs: number } | Error;

type WorkerFacts = [number, number, number] | string;

/** The walks' worker (see `lstat.worker.mjs` for why there): a folder's files are looked at in one message. */
const lstatWorker = new RequestWorker<{ paths: readonly string[] }, { facts: WorkerFacts[] }>(
  new URL('./lstat.worker.mjs', import.meta.url),
  'lstat worker',
);

async function factsOfPaths(paths: readonly string[]): Promise<PathFacts[]> {
  if (paths.length === 0) return [];
  const { facts } = await lstatWorker.run({ paths });
  return facts.map((answer): PathFacts => {
    if (typeof answer === 'string') return new Error(answer);
    const [kind, size, mtimeMs] = answer;
    return { kind: kind === 1 ? 'file' : kind === 2 ? 'directory' : 'other', size, mtimeMs };
  });
}

/** Whether a problem came from a file that is not a regular file (FIFO, socket, device). */
export function isSpecialFileError(error: unknown): boolean {
  return error instanceof AppError && error.details?.specialFile === true;
}

function factsOf(info: Stats): PathFacts {
  return {
    kind: info.isFile() ? 'file' : info.isDirectory() ? 'directory' : 'other',
    size: info.size,
    mtimeMs: info.mtimeMs,
  };
}

/** Walks one root; model files and problems (unreadable folders, links leaving the roots, special files) are reported. */
export async function walkLibrary(
  root: string,
  allowedRoots: readonly string[],
  signal?: AbortSignal,
): Promise<WalkResult> {
  const result: WalkResult = { files: [], problems: [], skipped: 0 };
  async function visit(dir: string, folders: string[]): Promise<void> {
    signal?.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      result.problems.push({ path: dir, message: (error as Error).message });
      return;
    }
    const siblings = siblingsOf(entries.map((e) => e.name));
    // The plain model files' facts, and those of the names beside them that a scan may read (sidecars, previews),
    // asked for in one message to the lstat worker.
    const stems = new Set<string>();
    const plain: Dirent[] = [];
    for (const entry of entries) {
      const extension = modelExtension(entry.name);
      if (!extension) continue;
      stems.add(entry.name.slice(0, -extension.length).toLowerCase());
      if (entry.isFile()) plain.push(entry);
    }
    const beside = [...siblings].filter(([lower]) => !modelExtension(lower) && isNeighbourName(lower, stems));
    const answers = await factsOfPaths([
      ...plain.map((entry) => path.join(dir, entry.name)),
      ...beside.map(([, name]) => path.join(dir, name)),
    ]);
    const facts = new Map(plain.map((entry, i) => [entry.name, answers[i]!]));
    const neighbours = new Map(beside.map(([lower], i) => [lower, answers[plain.length + i]!]));
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      await yieldIfBusy();
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await visit(full, [...folders, entry.name]);
        continue;
      }
      const extension = modelExtension(entry.name);
      if (!extension) continue;
      try {
        let real = full;
        if (entry.isSymbolicLink()) {
          real = await realpath(full);
          if (!allowedRoots.some((r) => isInside(r, real))) {
            result.problems.push({ path: full, message: 'symbolic link to a file outside the library roots: skipped' });
            continue;
          }
        }
        const fact = entry.isSymbolicLink() ? factsOf(await stat(real)) : entry.isFile() ? facts.get(entry.name) : null;
        if (fact instanceof Error) throw fact;
        const info = fact ?? null;
        if (info?.kind !== 'file') {
          if (info?.kind === 'directory') continue;
          result.skipped++;
          result.problems.push({ path: full, message: SPECIAL_FILE });
          continue;
        }
        result.files.push({
          path: real,
          dir,
          fileName: entry.name,
          stem: entry.name.slice(0, -extension.length),
          size: info.size,
          mtimeMs: info.mtimeMs,
          folders,
          siblings,
          neighbours,
        });
      } catch (error) {
        result.problems.push({ path: full, message: (error as Error).message });
      }
    }
  }
  await visit(root, []);
  return result;
}

/**
 * Finding model files in a library tree, with the sidecars and previews that sit next to them.
 * Directory symlinks are not followed (no loops, no escapes); file symlinks are resolved and kept only when the
 * target is inside a library root. Only regular files count: FIFOs, sockets and devices are skipped and reported.
 * Sidecars and previews are opened the same careful way (`openLibraryFile`): inside the roots after resolving
 * links, regular files only, opened without blocking.
 */
import { constants, type Dirent, type Stats } from 'node:fs';
import { lstat, open, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { yieldIfBusy } from '../db/request-scope.ts';
import { AppError } from '../errors.ts';
import { RequestWorker } from '../worker-requests.ts';
import { isInside } from './library-paths.ts';

export const MODEL_EXTENSIONS = ['.safetensors', '.ckpt', '.pt', '.pth', '.bin', '.sft', '.gguf'] as const;
const PREVIEW_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];

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

/** `<stem>.preview.png|jpg|jpeg|webp`, then `<stem>.png|…` (case-insensitive). */
export function previewFor(file: Pick<FoundFile, 'dir' | 'stem' | 'siblings'>): string | null {
  for (const infix of ['.preview', '']) {
    for (const ext of PREVIEW_EXTENSIONS) {
      const name = file.siblings.get(`${file.stem}${infix}${ext}`.toLowerCase());
      if (name) return path.join(file.dir, name);
    }
  }
  return null;
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
 * the sidecars it read; `previewMtimeMs`: the preview's), judged from their names and `lstat` alone, without
 * opening them. Anything else — a link, a special file, a preview too large to read, one that vanished — answers
 * false, and the caller reads them the careful way, which reports what it must.
 */
export async function neighboursUnchanged(
  file: Pick<FoundFile, 'dir' | 'stem' | 'siblings'>,
  sidecarSuffixes: readonly string[],
  sidecarMtimeMs: number | null,
  previewMtimeMs: number | null,
  maxPreviewBytes: number,
): Promise<boolean> {
  try {
    let newest: number | null = null;
    for (const suffix of sidecarSuffixes) {
      const sidecar = sidecarFor(file, suffix);
      if (!sidecar) continue;
      const info = await lstat(sidecar);
      if (!info.isFile()) return false;
      newest = Math.max(newest ?? 0, info.mtimeMs);
    }
    if (newest !== sidecarMtimeMs) return false;
    const preview = previewFor(file);
    if (!preview) return previewMtimeMs === null;
    const info = await lstat(preview);
    return info.isFile() && info.size <= maxPreviewBytes && info.mtimeMs === previewMtimeMs;
  } catch {
    return false;
  }
}

/**
 * How many file-system calls a rescan keeps in flight when it checks sidecars and previews. They run on libuv's
 * threads, never on the event loop; one at a time, the promise API's round trips made a rescan of 50,000 unchanged
 * files take seconds.
 */
export const FS_CALLS_IN_FLIGHT = 64;

/** `task` over `items`, at most `FS_CALLS_IN_FLIGHT` at a time, the answers in order (yielding between batches). */
export async function mapInFlight<T, R>(items: readonly T[], task: (item: T) => Promise<R>): Promise<R[]> {
  const answers: R[] = [];
  for (let at = 0; at < items.length; at += FS_CALLS_IN_FLIGHT) {
    await yieldIfBusy();
    answers.push(...(await Promise.all(items.slice(at, at + FS_CALLS_IN_FLIGHT).map(task))));
  }
  return answers;
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
    // The plain model files' facts, asked for in one message to the lstat worker.
    const plain = entries.filter((entry) => entry.isFile() && modelExtension(entry.name));
    const answers = await factsOfPaths(plain.map((entry) => path.join(dir, entry.name)));
    const facts = new Map(plain.map((entry, i) => [entry.name, answers[i]!]));
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
        });
      } catch (error) {
        result.problems.push({ path: full, message: (error as Error).message });
      }
    }
  }
  await visit(root, []);
  return result;
}

/**
 * After the bytes arrived: compare their hashes with the catalog's, move the file into place without ever replacing
 * another file, record it as the library scan would (so the next scan does not read it again), make the version's
 * first image its thumbnail, and write sidecars other tools read when asked to.
 */
import { writeFile as fsWriteFile, link, lstat, mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { MAX_THUMBNAIL_SIDE } from '../config.ts';
import type { CatalogDatabase } from '../db/catalog-database.ts';
import type { Row } from '../db/row-writer.ts';
import { firstImageOfVersion } from '../db/tables/downloads.ts';
import { HASH_FIELDS } from '../db/tables/model-files.ts';
import { AppError } from '../errors.ts';
import type { StreamHashes } from '../library/hashing/stream-hasher.ts';
import { resolveLibraryPath } from '../library/library-paths.ts';
import { linkToCatalog, optionalFileColumns, recordLocalFileIn } from '../library/linker.ts';
import { makeThumbnail } from '../thumbnails/maker.ts';
import { downloadImage, storeThumbnail } from '../thumbnails/maintenance.ts';

/**
 * Where folder `target` stands: the real path of its deepest existing ancestor (checked to be a folder inside
 * `libraryRoots` after resolving symlinks) and the names still missing below it. A link inside a root that points
 * outside is refused here (FORBIDDEN), before anything is created.
 */
export async function checkFolderInside(
  target: string,
  libraryRoots: readonly string[],
): Promise<{ existing: string; missing: string[] }> {
  const missing: string[] = [];
  let existing = path.resolve(target);
  for (;;) {
    if (
      await lstat(existing).then(
        () => true,
        () => false,
      )
    )
      break;
    const parent = path.dirname(existing);
    if (parent === existing) break;
    missing.unshift(path.basename(existing));
    existing = parent;
  }
  return { existing: await resolveLibraryPath(existing, libraryRoots, 'directory'), missing };
}

/**
 * Makes folder `target` inside the library roots and returns its real path: missing folders are created one level
 * at a time, each checked again after it is made (a link swapped in meanwhile is refused), so nothing is ever
 * created outside the roots.
 */
export async function makeFolderInside(target: string, libraryRoots: readonly string[]): Promise<string> {
  const { existing, missing } = await checkFolderInside(target, libraryRoots);
  let current = existing;
  for (const name of missing) {
    const next = path.join(current, name);
    await mkdir(next).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    current = await resolveLibraryPath(next, libraryRoots, 'directory');
  }
  return current;
}

/** Suffixed names tried before giving up (`name (1).ext` … `name (99).ext`). */
const MAX_SUFFIX = 99;

/**
 * The first catalog hash that disagrees with the downloaded bytes (SHA-256 first), or null when every hash the
 * catalog has agrees. A catalog file without hashes cannot be checked: `checked` says so.
 */
export function hashDisagreement(
  file: Row,
  hashes: StreamHashes,
): { checked: boolean; mismatch: { kind: string; expected: string; actual: string } | null } {
  let checked = false;
  // SHA-256 first: it is the one hash every tool shows, and what a mismatch reports when the catalog has it.
  const fields = Object.entries(HASH_FIELDS).sort(([a], [b]) => Number(b === 'sha256') - Number(a === 'sha256'));
  for (const [field, column] of fields) {
    const expected = (file[column] as string | null)?.toUpperCase();
    const actual = hashes[field as keyof typeof HASH_FIELDS];
    if (!expected || actual === null) continue;
    // Civitai shows AutoV3 by its first 12 digits; the catalog may hold only those.
    const comparable = field === 'autoV3' ? actual.slice(0, expected.length) : actual;
    checked = true;
    if (comparable !== expected) return { checked, mismatch: { kind: field, expected, actual } };
  }
  return { checked, mismatch: null };
}

function suffixed(name: string, n: number): string {
  if (n === 0) return name;
  const extension = path.extname(name);
  return `${name.slice(0, name.length - extension.length)} (${n})${extension}`;
}

/**
 * Moves the verified `.part` file to `dir/name`, or `dir/name (1)…` when that name is taken: a hard link fails
 * rather than replace an existing file, so no other file is ever overwritten, even by a racing program. File systems
 * without hard links (FAT, some network shares) get a rename after a look, which a racing writer could beat.
 */
export async function placeFile(
  partPath: string,
  dir: string,
  name: string,
  /** Told each name before it is tried (recorded, so a run stopped right after finds the file). */
  onChosen: (target: string) => Promise<void> = async () => undefined,
): Promise<string> {
  // The bytes reach the disk before the name that says "verified" does.
  const handle = await open(partPath, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  for (let n = 0; n <= MAX_SUFFIX; n++) {
    const target = path.join(dir, suffixed(name, n));
    if (await exists(target)) continue;
    await onChosen(target);
    try {
      await link(partPath, target);
      await unlink(partPath);
      return target;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw error;
      if (await exists(target)) continue;
      await rename(partPath, target);
      return target;
    }
  }
  throw new AppError('CONFLICT', `${dir} already holds ${name} and ${MAX_SUFFIX} suffixed copies of it.`);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * Records the placed file in the scan index and links it to catalog file `file` (LocalPath, IsLocalFileValid…); the
 * history's change set names the download.
 */
export async function linkDownloaded(
  db: CatalogDatabase,
  filePath: string,
  hashes: StreamHashes,
  file: Row,
  now: Date,
  downloadId: number,
): Promise<number> {
  const info = await stat(filePath);
  const seen = { path: filePath, size: info.size, mtimeMs: info.mtimeMs };
  const columns = await optionalFileColumns(db.kysely);
  return db.write(async (trx) => {
    const local = await recordLocalFileIn(trx, seen, hashes, now);
    const linked = await linkToCatalog(trx, local.Id, filePath, hashes, [file], new Set([filePath]), columns, {
      now,
      jobId: String(downloadId),
      source: 'download',
    });
    return linked.modelFileId;
  });
}

/**
 * Makes the version's first image its thumbnail when it has none, and returns the image's bytes (for a preview
 * sidecar); null when the version has no image. Failures are the caller's to log: a missing thumbnail does not
 * undo a verified download.
 */
export async function thumbnailFromFirstImage(
  db: CatalogDatabase,
  versionId: number,
  thumbnailSide: number,
  needBytes: boolean,
): Promise<Buffer | null> {
  const image = await firstImageOfVersion(db.kysely, versionId);
  if (!image || (image.hasThumbnail && !needBytes)) return null;
  const bytes = await downloadImage(image.url);
  if (!image.hasThumbnail) await storeThumbnail(db, image.id, await makeThumbnail(bytes, { maxSide: thumbnailSide }));
  return bytes;
}

/**
 * `<stem>.civitai.info` (the version payload, as A1111's Civitai Helper writes it) and `<stem>.preview.webp`, never
 * replacing files that are already there. Returns the names written.
 */
export async function writeSidecars(
  modelPath: string,
  versionPayload: unknown,
  imageBytes: Buffer | null,
): Promise<string[]> {
  const stem = modelPath.slice(0, modelPath.length - path.extname(modelPath).length);
  const written: string[] = [];
  const create = async (file: string, data: string | Buffer) => {
    try {
      await fsWriteFile(file, data, { flag: 'wx' });
      written.push(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  };
  if (versionPayload !== null) await create(`${stem}.civitai.info`, `${JSON.stringify(versionPayload, null, 2)}\n`);
  if (imageBytes) {
    const preview = await makeThumbnail(imageBytes, { maxSide: MAX_THUMBNAIL_SIDE, quality: 85 });
    await create(`${stem}.preview.webp`, preview.bytes);
  }
  return written;
}

/** Removes a job's partial file (cancelled, wrong bytes, disk full); a missing one is fine. */
export async function removePartFile(partPath: string | null): Promise<void> {
  if (partPath) await rm(partPath, { force: true });
}

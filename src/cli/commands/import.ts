import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { openCatalogForCli } from '../catalog.ts';
import { isAppError, limitExceeded } from '../../errors.ts';
import type { ImportSummary } from '../../civitai/batch-import.ts';
import { createProgressBar } from '../progress.ts';
import { DATA_DIR_OPTION, defineCommand, namedPath, usageError, type CliIo } from '../command.ts';
const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;

/** Payload files in a directory tree: `*.json` and `*.civitai.info`. */
export function isPayloadFileName(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.endsWith('.json') || lower.endsWith('.civitai.info');
}

interface Source {
  label: string;
  /** Found by walking a directory: a JSON file that is not a Civitai payload is skipped, not failed. */
  discovered: boolean;
  read: () => Promise<string>;
}

async function walk(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await walk(full)));
    else if (entry.isFile() && isPayloadFileName(entry.name)) found.push(full);
  }
  return found.sort();
}

async function readLimited(file: string): Promise<string> {
  const info = await stat(file);
  if (info.size > MAX_PAYLOAD_BYTES)
    throw limitExceeded(
      `${file} is ${info.size} bytes; payload files are at most ${MAX_PAYLOAD_BYTES}.`,
      MAX_PAYLOAD_BYTES,
    );
  return readFile(file, 'utf8');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES)
      throw limitExceeded(`stdin holds more than ${MAX_PAYLOAD_BYTES} bytes.`, MAX_PAYLOAD_BYTES);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function collectSources(args: string[]): Promise<Source[]> {
  const sources: Source[] = [];
  for (const arg of args) {
    if (arg === '-') {
      sources.push({ label: 'stdin', discovered: false, read: readStdin });
      continue;
    }
    const info = await namedPath(arg);
    if (info.isDirectory()) {
      for (const file of await walk(arg))
        sources.push({ label: file, discovered: true, read: () => readLimited(file) });
    } else {
      sources.push({ label: arg, discovered: false, read: () => readLimited(arg) });
    }
  }
  return sources;
}

function printSummary(io: CliIo, summary: ImportSummary, skipped: string[]): void {
  for (const failure of summary.failures.slice(0, 20)) {
    const who =
      failure.civitaiId !== null
        ? `model ${failure.civitaiId}${failure.name ? ` "${failure.name}"` : ''} (${failure.source})`
        : failure.source;
    io.err(`failed: ${who}: ${failure.message}`);
  }
  if (summary.failures.length > 20) io.err(`… and ${summary.failures.length - 20} more failures`);
  const warnings = summary.outcomes.flatMap((o) => o.warnings.map((w) => `model ${o.civitaiId}: ${w}`));
  for (const warning of warnings.slice(0, 20)) io.out(`warning: ${warning}`);
  const images = summary.imageBatches.reduce((n, batch) => n + batch.images, 0);
  io.out(
    `imported ${summary.created}, updated ${summary.updated}, unchanged ${summary.unchanged}, failed ${summary.failed}` +
      `${images ? `; ${images} images into ${summary.imageBatches.length} version(s)` : ''}${skipped.length ? `; skipped ${skipped.length} JSON file(s) that are not Civitai payloads` : ''}.`,
  );
}

export const importCommand = defineCommand({
  name: 'import',
  summary:
    'Import Civitai API payloads (model, model version, models or images list) from files, directories or stdin.',
  forms: ['<file|dir|->...'],
  options: {
    'images-version': {
      type: 'string',
      value: 'ID',
      description: 'The Civitai model version id the images list pages belong to (an images page names none).',
      byDefault: 'none: an images list page is refused',
    },
    ...DATA_DIR_OPTION,
  },
  async run({ values, positionals }, io) {
    if (positionals.length === 0) throw usageError('Name at least one file, directory or - (stdin).', importCommand);
    const imagesVersion = values['images-version'] === undefined ? null : Number(values['images-version']);
    if (imagesVersion !== null && (!Number.isInteger(imagesVersion) || imagesVersion <= 0))
      throw usageError('--images-version takes a Civitai model version id.', importCommand);
    const sources = await collectSources(positionals);
    const [{ parseJson }, { emptySummary, importPayload, mergeSummaries }] = await Promise.all([
      import('../../civitai/json-reader.ts'),
      import('../../civitai/batch-import.ts'),
    ]);
    const db = await openCatalogForCli(values, io);
    const total = emptySummary();
    const skipped: string[] = [];
    const progress = createProgressBar(sources.length, 'import');
    try {
      for (const [index, source] of sources.entries()) {
        try {
          const json = parseJson(await source.read());
          mergeSummaries(total, await importPayload(db, json, source.label, { imagesVersionCivitaiId: imagesVersion }));
        } catch (error) {
          // The payload as a whole was unreadable or not Civitai's.
          if (
            source.discovered &&
            isAppError(error) &&
            (error.code === 'NOT_CIVITAI_PAYLOAD' || error.code === 'INVALID_JSON')
          )
            skipped.push(source.label);
          else
            mergeSummaries(total, {
              ...emptySummary(),
              failed: 1,
              failures: [
                { source: source.label, civitaiId: null, name: null, path: null, message: (error as Error).message },
              ],
            });
        }
        progress.update(
          index + 1,
          `created ${total.created} updated ${total.updated} unchanged ${total.unchanged} failed ${total.failed}`,
        );
      }
    } finally {
      progress.finish();
      await db.close();
    }
    printSummary(io, total, skipped);
    return total.failed > 0 ? 1 : 0;
  },
});

import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { resolveToolSettings } from '../../config.ts';
import { resolveCivitaiSettings } from '../../config.ts';
import { resolveLibraryPath } from '../../library/library-paths.ts';
import type { ScanProgress } from '../../library/scan.ts';
import { openCatalogForCli } from '../catalog.ts';
import { createProgressBar } from '../progress.ts';
import { DATA_DIR_OPTION, defineCommand, namedPath, usageError, type CliIo } from '../command.ts';
import { exitAfterDeadline } from '../../shutdown.ts';

/** One file at a time suits spinning disks, where parallel reads seek back and forth. */
const DEFAULT_CONCURRENCY = 1;
const MAX_CONCURRENCY = 8;

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

function printSummary(io: CliIo, p: ScanProgress, jobId: string): void {
  for (const problem of p.problems.slice(0, 20)) io.err(`problem: ${problem.path}: ${problem.message}`);
  if (p.problems.length > 20) io.err(`… and ${p.problems.length - 20} more problems`);
  io.out(
    `${p.filesSeen} model files: ${p.filesUnchanged} unchanged, ${p.filesHashed} hashed (${megabytes(p.bytesHashed)}); ` +
      `${p.linked} linked, ${p.moved} moved, ${p.newModels} new local models, ${p.missing} missing; ` +
      `${p.sidecarsImported} sidecars imported, ${p.thumbnails} thumbnails${p.identifiedOnline ? `, ${p.identifiedOnline} identified online` : ''}; ` +
      `${p.filesSkipped} special files skipped; ${p.problems.length} problems. ` +
      // Counted over the whole library, not this scan alone: a re-scan says the same (see ScanProgress.duplicates).
      `The library holds ${p.duplicates} extra copies of ${p.duplicateGroups} files (listed by duplicateFiles).`,
  );
  io.out(`Scan job ${jobId}: the models' history names it beside every change this scan made.`);
}

export const scanCommand = defineCommand({
  name: 'scan',
  summary:
    'Scan folders of model files: hash what changed, link files to the catalog, import sidecars, make thumbnails.',
  forms: ['<folder>...'],
  options: {
    concurrency: {
      type: 'string',
      value: 'N',
      description: `How many files are hashed at once, 1 to ${MAX_CONCURRENCY} (more suits SSDs; one suits spinning disks).`,
      byDefault: String(DEFAULT_CONCURRENCY),
    },
    'identify-online': {
      type: 'boolean',
      description: 'Ask Civitai about files no catalog entry or sidecar describes, and import what it knows.',
      byDefault: 'off: nothing is sent to Civitai',
    },
    ...DATA_DIR_OPTION,
  },
  async run({ values, positionals }, io) {
    if (positionals.length === 0) throw usageError('Name at least one folder.', scanCommand);
    const concurrency = Number(values.concurrency ?? DEFAULT_CONCURRENCY);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)
      throw usageError(`--concurrency is between 1 and ${MAX_CONCURRENCY}.`, scanCommand);
    for (const folder of positionals) await namedPath(folder);
    // With DIFFUSION_NEXUS_LIBRARY_ROOTS set, folders must be inside it; otherwise the folders named here are the roots.
    const settings = resolveToolSettings();
    const libraryRoots =
      settings.libraryRoots.length > 0 ? settings.libraryRoots : positionals.map((p) => path.resolve(p));
    const roots = await Promise.all(
      positionals.map((p) => resolveLibraryPath(path.resolve(p), libraryRoots, 'directory')),
    );
    const [{ scanLibrary }, { createCivitaiClient }] = await Promise.all([
      import('../../library/scan.ts'),
      import('../../civitai/client.ts'),
    ]);
    const db = await openCatalogForCli(values, io);
    const bar = createProgressBar(1, 'scan');
    // Ctrl-C or SIGTERM stops the scan between files (what it did so far is kept) and ends the process in seconds.
    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      stop.abort(signal);
      exitAfterDeadline((message) => io.err(message));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // As a server's scan job has: the history's change sets of what this scan changes carry it.
    const jobId = randomUUID();
    try {
      const result = await scanLibrary(db, {
        roots,
        jobId,
        libraryRoots,
        thumbnailSide: settings.thumbnailSide,
        concurrency,
        identifyOnline: values['identify-online'] ?? false,
        signal: stop.signal,
        civitai: values['identify-online'] ? createCivitaiClient(resolveCivitaiSettings()) : undefined,
        onProgress: (p) => {
          if (p.phase === 'hashing')
            bar.update(
              0,
              `hashing ${p.filesHashed}/${p.filesToHash} files, ${megabytes(p.bytesHashed)}/${megabytes(p.bytesToHash)}`,
            );
          else
            bar.update(p.phase === 'done' ? 1 : 0, `${p.phase} ${p.currentPath ? path.basename(p.currentPath) : ''}`);
        },
      });
      bar.finish();
      printSummary(io, result, jobId);
      return result.problems.length > 0 ? 1 : 0;
    } catch (error) {
      if (!stop.signal.aborted) throw error;
      bar.finish();
      io.err(`scan stopped: ${String(stop.signal.reason)} received (what was scanned so far is kept).`);
      return stop.signal.reason === 'SIGINT' ? 130 : 143;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await db.close();
    }
  },
});

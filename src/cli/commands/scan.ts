import path from 'node:path';
import { resolveToolSettings } from '../../config.ts';
import { AppError } from '../../errors.ts';
import { createCivitaiClient } from '../../civitai/client.ts';
import { resolveCivitaiSettings } from '../../config.ts';
import { resolveLibraryPath } from '../../library/library-paths.ts';
import { scanLibrary, type ScanProgress } from '../../library/scan.ts';
import { openCatalogForCli } from '../catalog.ts';
import { createProgressBar } from '../progress.ts';
import { DATA_DIR_OPTION, parseCommandArgs, type CliCommand, type CliIo } from '../command.ts';
import { exitAfterDeadline } from '../../shutdown.ts';

const usage = 'diffusion-nexus scan <folder>... [--concurrency 1] [--identify-online] [--data-dir DIR]';

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

function printSummary(io: CliIo, p: ScanProgress): void {
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
}

export const scanCommand: CliCommand = {
  name: 'scan',
  summary:
    'Scan folders of model files: hash what changed, link files to the catalog, import sidecars, make thumbnails.',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        ...DATA_DIR_OPTION,
        concurrency: { type: 'string' },
        'identify-online': { type: 'boolean' },
      },
      usage,
    );
    if (positionals.length === 0) throw new AppError('BAD_USER_INPUT', `Name at least one folder.\nusage: ${usage}`);
    const concurrency = Number(values.concurrency ?? 1);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 8)
      throw new AppError('BAD_USER_INPUT', '--concurrency is between 1 and 8.');
    // With DIFFUSION_NEXUS_LIBRARY_ROOTS set, folders must be inside it; otherwise the folders named here are the roots.
    const settings = resolveToolSettings();
    const libraryRoots =
      settings.libraryRoots.length > 0 ? settings.libraryRoots : positionals.map((p) => path.resolve(p));
    const roots = await Promise.all(
      positionals.map((p) => resolveLibraryPath(path.resolve(p), libraryRoots, 'directory')),
    );
    const db = await openCatalogForCli(values['data-dir'], io);
    const bar = createProgressBar(1, 'scan');
    // Ctrl-C or SIGTERM stops the scan between files (what it did so far is kept) and ends the process in seconds.
    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      stop.abort(signal);
      exitAfterDeadline((message) => io.err(message));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const result = await scanLibrary(db, {
        roots,
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
      printSummary(io, result);
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
};

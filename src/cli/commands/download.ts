import path from 'node:path';
import { MAX_DOWNLOAD_CONCURRENCY, resolveCivitaiSettings, resolveToolSettings } from '../../config.ts';
import { parseDownloadTarget } from '../../downloads/names.ts';
import type { DownloadJob } from '../../downloads/queue.ts';
import type { DownloadContext } from '../../downloads/requests.ts';
import { isAppError } from '../../errors.ts';
import { exitAfterDeadline } from '../../shutdown.ts';
import { openCatalogForCli } from '../catalog.ts';
import { DATA_DIR_OPTION, defineCommand, FAILURE_EXIT_CODE, namedPath, usageError, type CliIo } from '../command.ts';
import { createProgressBars } from '../progress.ts';

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

function detail(job: DownloadJob): string {
  const total = job.totalBytes === null ? '?' : megabytes(job.totalBytes);
  const speed = job.bytesPerSecond ? ` ${megabytes(job.bytesPerSecond)}/s` : '';
  const eta = job.etaSeconds !== null ? ` ${Math.ceil(job.etaSeconds)} s left` : '';
  return `${job.state.toLowerCase()} ${megabytes(job.receivedBytes)}/${total}${speed}${eta}`;
}

function printSummary(io: CliIo, jobs: DownloadJob[], problems: string[]): void {
  for (const problem of problems) io.err(`failed: ${problem}`);
  for (const job of jobs) {
    if (job.state === 'DONE')
      io.out(
        `${job.alreadyPresent ? 'already present' : 'downloaded'}: ${job.localPath}${job.message ? ` (${job.message})` : ''}`,
      );
    else if (job.state === 'FAILED')
      io.err(`failed: version ${job.versionCivitaiId} [${job.errorCode}]: ${job.message}`);
    else io.err(`${job.state.toLowerCase()}: version ${job.versionCivitaiId} (download ${job.id})`);
  }
  const count = (predicate: (job: DownloadJob) => boolean) => jobs.filter(predicate).length;
  const bytes = jobs
    .filter((job) => job.state === 'DONE' && !job.alreadyPresent)
    .reduce((sum, job) => sum + job.receivedBytes, 0);
  io.out(
    `${count((j) => j.state === 'DONE' && !j.alreadyPresent)} downloaded (${megabytes(bytes)}), ` +
      `${count((j) => j.alreadyPresent)} already present, ` +
      `${count((j) => j.state === 'FAILED') + problems.length} failed` +
      `${count((j) => j.state === 'PAUSED' || j.state === 'CANCELLED') ? `, ${count((j) => j.state === 'PAUSED' || j.state === 'CANCELLED')} stopped` : ''}.`,
  );
}

export const downloadCommand = defineCommand({
  name: 'download',
  summary: 'Download model files from Civitai into the library: verified by hash, linked in the catalog, resumable.',
  forms: ['<versionId|civitai.com URL>...'],
  options: {
    to: {
      type: 'string',
      value: 'DIR',
      description:
        'The folder to download into (inside DIFFUSION_NEXUS_LIBRARY_ROOTS when that is set; otherwise it is the root).',
      byDefault: 'none: required',
    },
    concurrency: {
      type: 'string',
      value: 'N',
      description: `How many files are transferred at once, 1 to ${MAX_DOWNLOAD_CONCURRENCY}.`,
      byDefault: 'DIFFUSION_NEXUS_DOWNLOAD_CONCURRENCY, else 2',
    },
    sidecars: {
      type: 'boolean',
      description: 'Write <stem>.civitai.info and <stem>.preview.webp beside each file (read by other tools).',
      byDefault: 'DIFFUSION_NEXUS_DOWNLOAD_SIDECARS, else off',
    },
    ...DATA_DIR_OPTION,
  },
  async run({ values, positionals }, io) {
    if (positionals.length === 0)
      throw usageError('Name at least one model version id or civitai.com URL.', downloadCommand);
    if (!values.to) throw usageError('Say where to download with --to DIR.', downloadCommand);
    const settings = resolveToolSettings();
    const concurrency = Number(values.concurrency ?? settings.downloads.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_DOWNLOAD_CONCURRENCY)
      throw usageError(`--concurrency is between 1 and ${MAX_DOWNLOAD_CONCURRENCY}.`, downloadCommand);
    const civitaiSettings = resolveCivitaiSettings();
    const targets = positionals.map((arg) => {
      try {
        return parseDownloadTarget(arg, civitaiSettings.baseUrl);
      } catch (error) {
        throw isAppError(error) ? usageError(error.message, downloadCommand) : error;
      }
    });
    if (!(await namedPath(values.to)).isDirectory()) throw usageError(`${values.to} is not a folder.`, downloadCommand);
    const [{ createCivitaiClient }, { DownloadQueue }, { downloadFolder, downloadVersion, newestVersionOf }] =
      await Promise.all([
        import('../../civitai/client.ts'),
        import('../../downloads/queue.ts'),
        import('../../downloads/requests.ts'),
      ]);
    // As for scan: with DIFFUSION_NEXUS_LIBRARY_ROOTS set the folder must be inside it, else it is the root itself.
    const to = path.resolve(values.to);
    const libraryRoots = settings.libraryRoots.length > 0 ? settings.libraryRoots : [to];
    // Refused before the catalog is opened (or created): a bad folder changes nothing.
    await downloadFolder(to, null, libraryRoots);
    const civitai = createCivitaiClient(civitaiSettings);
    const db = await openCatalogForCli(values, io);
    const queue = new DownloadQueue({
      db,
      civitai,
      civitaiSettings,
      libraryRoots,
      thumbnailSide: settings.thumbnailSide,
      concurrency,
      scope: 'own',
      log: () => undefined,
    });
    const context: DownloadContext = {
      db,
      civitai,
      queue,
      libraryRoots,
      sidecars: values.sidecars ?? settings.downloads.sidecars,
    };
    // Ctrl-C or SIGTERM pauses what runs (the .part files stay: running the command again resumes them). The
    // handlers stay until the end (`on`, not `once`: a second signal must not kill the run half-way through
    // pausing; the deadline ends it if pausing hangs), and the process is kept alive while jobs settle: a stopped
    // transfer, or a job another process runs, holds no handle that would keep the event loop from emptying.
    let interrupted: NodeJS.Signals | null = null;
    let stopped: Promise<void> | null = null;
    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (interrupted) return;
      interrupted = signal;
      exitAfterDeadline((message) => io.err(message));
      stopped = queue.stopAll('pause');
      stop.abort(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const keepAlive = setInterval(() => undefined, 60_000);
    const bars = createProgressBars();
    try {
      const problems: string[] = [];
      const ids: number[] = [];
      for (const [i, target] of targets.entries()) {
        if (interrupted) break;
        try {
          const versionId =
            target.kind === 'version' ? target.versionId : await newestVersionOf(context, target.modelId);
          const job = await downloadVersion(context, { versionCivitaiId: versionId, root: to });
          if (ids.includes(job.id)) continue;
          ids.push(job.id);
          if (await queue.runElsewhere(job.id))
            io.out(
              `joined download ${job.id} of version ${job.versionCivitaiId}: another process (a server or another ` +
                'download command) is downloading it; waiting for it to finish.',
            );
        } catch (error) {
          if (!isAppError(error)) throw error;
          if (interrupted) break;
          problems.push(`${positionals[i]} [${error.code}]: ${error.message}`);
        }
      }
      let jobs = await queue.settled(
        ids,
        (current) => {
          for (const job of current)
            bars.update(job.id, job.fileName ?? `version ${job.versionCivitaiId}`, detail(job));
        },
        stop.signal,
      );
      if (interrupted) {
        await stopped;
        jobs = await queue.jobs(ids);
      }
      bars.finish();
      printSummary(io, jobs, problems);
      if (interrupted) {
        io.err(`download stopped: ${interrupted} received (run the same command again to resume).`);
        return interrupted === 'SIGINT' ? 130 : 143;
      }
      return jobs.some((job) => job.state !== 'DONE') || problems.length > 0 ? FAILURE_EXIT_CODE : 0;
    } finally {
      await (stopped ?? queue.stopAll('pause'));
      await db.close();
      clearInterval(keepAlive);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
});

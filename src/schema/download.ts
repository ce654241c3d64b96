/** Downloads: the queue's jobs, starting downloads (a version, or every update), control, and live progress. */
import { DOWNLOAD_STATES } from '../db/tables/downloads.ts';
import type { DownloadJob } from '../downloads/queue.ts';
import type { SkippedUpdate, UpdatesOutcome } from '../downloads/requests.ts';
import {
  downloadFields,
  downloadMutations,
  downloadQueries,
  downloadSubscriptions,
  MAX_UPDATE_MODELS,
} from '../resolvers/download.ts';
import { builder } from './builder.ts';
import { notCoveredByRevision } from './revision-coverage.ts';
import { pageComplexity } from './connections.ts';
import { ModelFileNode } from './model-file.ts';

const DownloadStateEnum = builder.enumType('DownloadState', {
  description:
    'QUEUED (waiting for a free slot), DOWNLOADING, VERIFYING (hashes being compared, the file moved into place), DONE, FAILED (`errorCode` says why), CANCELLED, PAUSED.',
  values: DOWNLOAD_STATES,
});

export const DownloadRef = builder.objectRef<DownloadJob>('Download').implement({
  extensions: notCoveredByRevision('the download queue (its progress changes many times a second)'),
  description:
    'A download job of the persistent queue: it survives restarts and resumes from its partial file. Progress fields are live while this server runs the job.',
  fields: (t) => ({
    id: t.id({ description: 'The job id (for `download`, `cancelDownload`…).', resolve: (job) => job.id }),
    state: t.field({ type: DownloadStateEnum, resolve: (job) => job.state }),
    civitaiVersionId: t.exposeInt('versionCivitaiId'),
    civitaiFileId: t.exposeInt('fileCivitaiId', { nullable: true }),
    modelFile: t.field({
      type: ModelFileNode,
      nullable: true,
      description: 'The catalog file being downloaded (linked to the local copy once DONE).',
      resolve: downloadFields.modelFile,
    }),
    targetDirectory: t.exposeString('targetDirectory'),
    fileName: t.exposeString('fileName', {
      nullable: true,
      description: "The name it is saved under: the server's (sanitised), else the catalog's.",
    }),
    localPath: t.exposeString('localPath', { nullable: true }),
    alreadyPresent: t.exposeBoolean('alreadyPresent', {
      description: 'The file was already in the library (same SHA-256, verified): nothing was transferred.',
    }),
    sidecars: t.exposeBoolean('sidecars', {
      description: 'Whether `<stem>.civitai.info` and `<stem>.preview.webp` are written beside the file.',
    }),
    expectedSha256: t.exposeString('expectedSha256', { nullable: true }),
    actualSha256: t.exposeString('actualSha256', { nullable: true }),
    totalBytes: t.field({ type: 'BigInt', nullable: true, resolve: (job) => job.totalBytes }),
    receivedBytes: t.field({ type: 'BigInt', resolve: (job) => job.receivedBytes }),
    bytesPerSecond: t.exposeFloat('bytesPerSecond', { nullable: true }),
    etaSeconds: t.exposeFloat('etaSeconds', { nullable: true }),
    attempts: t.exposeInt('attempts', { description: 'Times a process started (or resumed) the job.' }),
    errorCode: t.exposeString('errorCode', {
      nullable: true,
      description: 'Why it FAILED: HASH_MISMATCH, DISK_FULL, DOWNLOAD_FAILED, NOT_FOUND, FORBIDDEN…',
    }),
    message: t.exposeString('message', {
      nullable: true,
      description: 'What happened, in words: the error, where an already present copy is, an unverified file.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

const SkippedUpdateRef = builder.objectRef<SkippedUpdate>('SkippedUpdate').implement({
  fields: (t) => ({
    modelDatabaseId: t.exposeInt('modelId'),
    reason: t.exposeString('reason'),
  }),
});

const UpdatesOutcomeRef = builder.objectRef<UpdatesOutcome>('DownloadUpdatesResult').implement({
  fields: (t) => ({
    downloads: t.field({ type: [DownloadRef], resolve: (o) => o.downloads }),
    skipped: t.field({
      type: [SkippedUpdateRef],
      description:
        'Models not queued, each with why: an outdated model that could not be, and every model `modelIds` names that has no update.',
      resolve: (o) => o.skipped,
    }),
  }),
});

builder.queryFields((t) => ({
  download: t.field({
    type: DownloadRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: downloadQueries.download,
  }),
  downloads: t.connection(
    {
      type: DownloadRef,
      description: 'Download jobs, newest first, optionally of one state.',
      // Also its totalCount and page info, which are no Download fields.
      extensions: notCoveredByRevision('the download queue'),
      args: { state: t.arg({ type: DownloadStateEnum }) },
      complexity: pageComplexity,
      resolve: downloadQueries.downloads,
    },
    { name: 'DownloadConnection' },
  ),
}));

builder.mutationFields((t) => ({
  downloadModelVersion: t.field({
    type: DownloadRef,
    description:
      "Queues a Civitai version's file for download into `root` (a folder inside DIFFUSION_NEXUS_LIBRARY_ROOTS) or its `subfolder`. The version is imported first if the catalog lacks it. A file already in the library is not downloaded again; a second request for a file being downloaded returns the same job.",
    args: {
      civitaiVersionId: t.arg.int({ required: true }),
      root: t.arg.string({ required: true }),
      subfolder: t.arg.string({ description: 'A relative folder below `root`, created when the job starts.' }),
      fileId: t.arg.int({ description: "The Civitai id of the version's file to fetch (default: its primary file)." }),
      sidecars: t.arg.boolean({
        description:
          'Write `<stem>.civitai.info` and `<stem>.preview.webp` (default: DIFFUSION_NEXUS_DOWNLOAD_SIDECARS).',
      }),
    },
    resolve: downloadMutations.downloadModelVersion,
  }),
  downloadUpdates: t.field({
    type: UpdatesOutcomeRef,
    description: `Queues the newest version of every model whose \`hasUpdate\` is true (or of \`modelIds\`, at most ${MAX_UPDATE_MODELS}), into the folder of its current file unless \`root\` is given.`,
    args: { modelIds: t.arg.idList(), root: t.arg.string() },
    resolve: downloadMutations.downloadUpdates,
  }),
  cancelDownload: t.field({
    type: DownloadRef,
    description: 'Stops the job and removes its partial file.',
    args: { id: t.arg.id({ required: true }) },
    resolve: downloadMutations.cancelDownload,
  }),
  pauseDownload: t.field({
    type: DownloadRef,
    description: 'Stops the job, keeping its partial file for `resumeDownload`.',
    args: { id: t.arg.id({ required: true }) },
    resolve: downloadMutations.pauseDownload,
  }),
  resumeDownload: t.field({
    type: DownloadRef,
    description: 'Queues a paused job again; it continues where it stopped.',
    args: { id: t.arg.id({ required: true }) },
    resolve: downloadMutations.resumeDownload,
  }),
  retryDownload: t.field({
    type: DownloadRef,
    description: 'Queues a failed or cancelled job again.',
    args: { id: t.arg.id({ required: true }) },
    resolve: downloadMutations.retryDownload,
  }),
}));

builder.subscriptionFields((t) => ({
  downloadProgress: t.field({
    type: DownloadRef,
    description:
      "The job's state and progress now and as it changes (at most ten updates a second), ending when it is DONE, FAILED or CANCELLED.",
    args: { id: t.arg.id({ required: true }) },
    subscribe: downloadSubscriptions.downloadProgress,
    resolve: (job) => job,
  }),
}));

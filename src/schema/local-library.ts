/** The local library: scanning folders (jobs with progress), and files found on disk. */
import type { DuplicateGroup, LocalFileShape } from '../library/duplicates.ts';
import type { ScanProblem, ScanProgress } from '../library/scan.ts';
import type { ScanJob } from '../library/scan-jobs.ts';
import {
  DEFAULT_DUPLICATE_GROUPS,
  libraryMutations,
  libraryQueries,
  librarySubscriptions,
  localFileFields,
  MAX_SCAN_CONCURRENCY,
} from '../resolvers/local-library.ts';
import { builder } from './builder.ts';
import { notCoveredByRevision } from './revision-coverage.ts';
import { ModelFileNode } from './model-file.ts';

const MAX_PROBLEMS_SHOWN = 100;

const ScanJobStatusEnum = builder.enumType('ScanJobStatus', { values: ['RUNNING', 'COMPLETED', 'FAILED'] as const });
const ScanPhaseEnum = builder.enumType('ScanPhase', {
  values: {
    WALKING: { value: 'walking' },
    HASHING: { value: 'hashing' },
    LINKING: { value: 'linking' },
    DONE: { value: 'done' },
  } as const,
});

const ScanProblemRef = builder.objectRef<ScanProblem>('ScanProblem').implement({
  fields: (t) => ({ path: t.exposeString('path'), message: t.exposeString('message') }),
});

const ScanProgressRef = builder.objectRef<ScanProgress>('ScanProgress').implement({
  description: 'Counts so far. Files whose size and modification time did not change are not read (`filesUnchanged`).',
  fields: (t) => ({
    phase: t.field({ type: ScanPhaseEnum, resolve: (p) => p.phase }),
    filesSeen: t.exposeInt('filesSeen'),
    filesUnchanged: t.exposeInt('filesUnchanged'),
    filesToHash: t.exposeInt('filesToHash'),
    filesHashed: t.exposeInt('filesHashed'),
    bytesToHash: t.field({ type: 'BigInt', resolve: (p) => BigInt(p.bytesToHash) }),
    bytesHashed: t.field({ type: 'BigInt', resolve: (p) => BigInt(p.bytesHashed) }),
    linked: t.exposeInt('linked', { description: 'Files newly linked to a catalog file.' }),
    moved: t.exposeInt('moved', { description: 'Files found at a new path and re-linked.' }),
    duplicates: t.exposeInt('duplicates', {
      description:
        'Extra copies in the whole library when the scan ended: for each content held more than once (each group `duplicateFiles` lists), the copies beyond the first. The same on every scan while the files stay; 0 until the scan ends.',
    }),
    duplicateGroups: t.exposeInt('duplicateGroups', {
      description:
        'Contents held more than once in the library when the scan ended (the groups `duplicateFiles` lists).',
    }),
    newModels: t.exposeInt('newModels', {
      description: 'Files no catalog data described, catalogued as local models.',
    }),
    missing: t.exposeInt('missing', { description: 'Previously seen files that are gone.' }),
    sidecarsImported: t.exposeInt('sidecarsImported'),
    thumbnails: t.exposeInt('thumbnails'),
    identifiedOnline: t.exposeInt('identifiedOnline'),
    filesSkipped: t.exposeInt('filesSkipped', {
      description:
        'Model files, sidecars and previews that are not regular files (FIFOs, sockets, devices): never opened.',
    }),
    errors: t.int({ resolve: (p) => p.problems.length }),
    problems: t.field({
      type: [ScanProblemRef],
      description: `The first ${MAX_PROBLEMS_SHOWN}.`,
      resolve: (p) => p.problems.slice(0, MAX_PROBLEMS_SHOWN),
    }),
    currentPath: t.exposeString('currentPath', { nullable: true }),
  }),
});

const ScanJobRef = builder.objectRef<ScanJob>('ScanJob').implement({
  extensions: notCoveredByRevision('scan jobs live in the memory of the server running them'),
  fields: (t) => ({
    id: t.exposeID('id'),
    status: t.field({ type: ScanJobStatusEnum, resolve: (job) => job.status }),
    roots: t.exposeStringList('roots'),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    progress: t.field({ type: ScanProgressRef, resolve: (job) => job.progress }),
  }),
});

const LocalFileRef = builder.objectRef<LocalFileShape>('LocalFile').implement({
  description: 'A model file the library scan found on disk.',
  fields: (t) => ({
    path: t.exposeString('path'),
    size: t.field({ type: 'BigInt', resolve: (f) => f.size }),
    modifiedAt: t.field({ type: 'DateTime', resolve: (f) => new Date(f.mtimeMs) }),
    modelFile: t.field({
      type: ModelFileNode,
      nullable: true,
      resolve: localFileFields.modelFile,
    }),
  }),
});

const DuplicateGroupRef = builder.objectRef<DuplicateGroup>('DuplicateFileGroup').implement({
  description: 'Local files with identical content (same size and SHA-256).',
  fields: (t) => ({
    sha256: t.exposeString('sha256'),
    size: t.field({ type: 'BigInt', resolve: (g) => g.size }),
    wastedBytes: t.field({
      type: 'BigInt',
      description: 'Bytes all copies but one take.',
      resolve: (g) => g.size * BigInt(g.files.length - 1),
    }),
    files: t.field({ type: [LocalFileRef], resolve: (g) => g.files }),
  }),
});

builder.queryFields((t) => ({
  scanJob: t.field({
    type: ScanJobRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: libraryQueries.scanJob,
  }),
  duplicateFiles: t.field({
    type: [DuplicateGroupRef],
    description:
      "Groups of present local files with the same content, largest waste first. Uses the scan's hashes (no re-hashing).",
    args: { limit: t.arg.int({ defaultValue: DEFAULT_DUPLICATE_GROUPS }) },
    resolve: libraryQueries.duplicateFiles,
  }),
}));

builder.mutationFields((t) => ({
  scanLibrary: t.field({
    type: ScanJobRef,
    description:
      'Starts scanning folders (inside DIFFUSION_NEXUS_LIBRARY_ROOTS) in the background. Follow it with `scanJob` or the `scanProgress` subscription.',
    args: {
      roots: t.arg.stringList({ required: true }),
      concurrency: t.arg.int({
        defaultValue: 1,
        description: `Files hashed at once (1 suits spinning disks; up to ${MAX_SCAN_CONCURRENCY} for SSDs).`,
      }),
      identifyOnline: t.arg.boolean({
        defaultValue: false,
        description: 'Look files the catalog does not know up on Civitai by hash.',
      }),
    },
    resolve: libraryMutations.scanLibrary,
  }),
}));

builder.subscriptionFields((t) => ({
  scanProgress: t.field({
    type: ScanJobRef,
    description: "The job's state now and as it changes (at most ten updates a second), ending when it finishes.",
    args: { jobId: t.arg.id({ required: true }) },
    subscribe: librarySubscriptions.scanProgress,
    resolve: (job) => job,
  }),
}));

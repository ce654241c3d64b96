/** ModelFile: a downloadable file of a version, its hashes, scans and local copy; and look-ups by hash. */
import { MAX_HASHES_PER_CALL } from '../catalog/hash-lookup.ts';
import { FileFormat, FilePrecision, FileSizeType, readEnum, ScanResult } from '../db/enums.ts';
import type { ModelFile } from '../generated/prisma/client.ts';
import { fileFields, fileMutations, fileQueries, type HashMatchShape, loadFileNodes } from '../resolvers/model-file.ts';
import { builder } from './builder.ts';
import { FileFormatEnum, FilePrecisionEnum, FileSizeTypeEnum, HashAlgorithmEnum, ScanResultEnum } from './enums.ts';
import { ModelVersionNode } from './model-version.ts';
import { SEEN_TIMES_REFRESH_MS } from '../library/scan.ts';

const FileHashes = builder.objectRef<ModelFile>('FileHashes').implement({
  description: 'Hashes as upper-case hex, as Civitai publishes them.',
  fields: (t) => ({
    autoV1: t.string({ nullable: true, resolve: (f) => f.hashAutoV1?.toUpperCase() ?? null }),
    autoV2: t.string({ nullable: true, resolve: (f) => f.hashAutoV2?.toUpperCase() ?? null }),
    autoV3: t.string({
      nullable: true,
      description: 'All 64 hex digits; Civitai shows the first 12.',
      resolve: (f) => f.hashAutoV3?.toUpperCase() ?? null,
    }),
    sha256: t.string({ nullable: true, resolve: (f) => f.hashSHA256?.toUpperCase() ?? null }),
    crc32: t.string({
      nullable: true,
      description: "In Civitai's byte order (reversed from zlib's).",
      resolve: (f) => f.hashCRC32?.toUpperCase() ?? null,
    }),
    blake3: t.string({ nullable: true, resolve: (f) => f.hashBLAKE3?.toUpperCase() ?? null }),
  }),
});

/** A Relay node whose rows come from the request's loaders (see `src/resolvers/model-file.ts`). */
export const ModelFileNode = builder.nodeRef(
  builder.prismaObject('ModelFile', {
    fields: (t) => ({
      databaseId: t.exposeInt('id'),
      civitaiId: t.exposeInt('civitaiId', { nullable: true }),
      fileName: t.exposeString('fileName'),
      sizeKB: t.exposeFloat('sizeKB'),
      fileType: t.exposeString('fileType', { description: 'Civitai\'s file type, e.g. "Model", "Training Data".' }),
      isPrimary: t.exposeBoolean('isPrimary'),
      format: t.field({ type: FileFormatEnum, resolve: (f) => readEnum(FileFormat, f.format) }),
      precision: t.field({ type: FilePrecisionEnum, resolve: (f) => readEnum(FilePrecision, f.precision) }),
      sizeType: t.field({ type: FileSizeTypeEnum, resolve: (f) => readEnum(FileSizeType, f.sizeType) }),
      downloadUrl: t.exposeString('downloadUrl', { nullable: true }),
      pickleScanResult: t.field({ type: ScanResultEnum, resolve: (f) => readEnum(ScanResult, f.pickleScanResult) }),
      pickleScanMessage: t.exposeString('pickleScanMessage', { nullable: true }),
      virusScanResult: t.field({ type: ScanResultEnum, resolve: (f) => readEnum(ScanResult, f.virusScanResult) }),
      scannedAt: t.expose('scannedAt', { type: 'DateTime', nullable: true }),
      hashes: t.field({ type: FileHashes, resolve: (f) => f }),
      localPath: t.exposeString('localPath', { nullable: true }),
      isLocalFileValid: t.exposeBoolean('isLocalFileValid'),
      localFileVerifiedAt: t.expose('localFileVerifiedAt', {
        type: 'DateTime',
        nullable: true,
        description:
          'When the file at localPath was last found to be this file: set when a scan or linkLocalFile links it; ' +
          `a rescan that finds it unchanged moves it forward once it is more than ${SEEN_TIMES_REFRESH_MS / 60_000} minutes old.`,
      }),
      isSecure: t.boolean({
        description: 'Both the pickle scan and the virus scan succeeded.',
        resolve: (f) =>
          readEnum(ScanResult, f.pickleScanResult) === 'Success' &&
          readEnum(ScanResult, f.virusScanResult) === 'Success',
      }),
    }),
  }),
  { id: { resolve: (f: ModelFile) => f.id }, loadMany: loadFileNodes },
);

/** Fields that reach other entities, added once every node exists (keeps TypeScript's inference acyclic). */
builder.objectFields(ModelFileNode, (t) => ({
  version: t.field({ type: ModelVersionNode, resolve: fileFields.version }),
}));

const HashMatch = builder.objectRef<HashMatchShape>('HashMatch').implement({
  description: 'The result for one looked-up hash.',
  fields: (t) => ({
    hash: t.exposeString('hash', { description: 'The hash as it was asked for.' }),
    algorithm: t.field({
      type: HashAlgorithmEnum,
      nullable: true,
      description: 'The algorithm `file` matched under; null when nothing matched.',
      resolve: (m) => m.matches[0]?.algorithm ?? null,
    }),
    file: t.field({
      type: ModelFileNode,
      nullable: true,
      description: 'The best match: a present local file first, then the oldest row.',
      resolve: (m) => m.matches[0]?.file ?? null,
    }),
    files: t.field({
      type: [ModelFileNode],
      description: 'Every file with this hash (the same version can be downloaded twice).',
      resolve: (m) => m.matches.map((match) => match.file),
    }),
  }),
});

builder.queryFields((t) => ({
  modelFile: t.field({
    type: ModelFileNode,
    nullable: true,
    args: { id: t.arg.id(), databaseId: t.arg.int() },
    resolve: fileQueries.modelFile,
  }),
  fileByHash: t.field({
    type: ModelFileNode,
    nullable: true,
    description: 'The file with this hash, case-insensitive. The algorithm follows from the length unless given.',
    args: { hash: t.arg.string({ required: true }), algorithm: t.arg({ type: HashAlgorithmEnum }) },
    resolve: fileQueries.fileByHash,
  }),
  filesByHashes: t.field({
    type: [HashMatch],
    description: `Looks up to ${MAX_HASHES_PER_CALL} hashes at once; results keep the input order.`,
    args: { hashes: t.arg.stringList({ required: true }), algorithm: t.arg({ type: HashAlgorithmEnum }) },
    complexity: (args) => ({ field: 1, multiplier: Math.max(1, Math.min(args.hashes.length, MAX_HASHES_PER_CALL)) }),
    resolve: fileQueries.filesByHashes,
  }),
}));

const FileHashesInput = builder.inputType('FileHashesInput', {
  description:
    "Hashes of a local file (hex, any case). They must agree with the catalog's, and fill the ones it lacks.",
  fields: (t) => ({
    autoV1: t.string(),
    autoV2: t.string(),
    autoV3: t.string(),
    sha256: t.string(),
    crc32: t.string(),
    blake3: t.string(),
  }),
});

builder.mutationFields((t) => ({
  linkLocalFile: t.field({
    type: ModelFileNode,
    description: 'Records where this file is on disk. The path must be inside DIFFUSION_NEXUS_LIBRARY_ROOTS and exist.',
    args: {
      id: t.arg.id({ required: true }),
      path: t.arg.string({ required: true }),
      hashes: t.arg({ type: FileHashesInput }),
    },
    resolve: fileMutations.linkLocalFile,
  }),
  unlinkLocalFile: t.field({
    type: ModelFileNode,
    description: 'Forgets the local copy (the file on disk is not touched).',
    args: { id: t.arg.id({ required: true }) },
    resolve: fileMutations.unlinkLocalFile,
  }),
}));

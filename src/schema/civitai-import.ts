/** Getting data in from Civitai: importing payloads a client already has, and syncing online. */
import type { ImportFailure, ImportSummary } from '../civitai/batch-import.ts';
import type { ModelImportOutcome } from '../civitai/import.ts';
import type { SyncOutcome } from '../civitai/sync.ts';
import { civitaiMutations, outcomeModel } from '../resolvers/civitai-import.ts';
import { builder } from './builder.ts';
import { ModelNode } from './model.ts';

const ImportStatusEnum = builder.enumType('ImportStatus', { values: ['CREATED', 'UPDATED', 'UNCHANGED'] as const });
const SyncStatusEnum = builder.enumType('SyncStatus', {
  values: {
    CREATED: { description: 'The model was new to the catalog.' },
    UPDATED: { description: 'Something changed and was written.' },
    UNCHANGED: { description: 'The catalog already held exactly this.' },
    NOT_ON_CIVITAI: { description: 'Civitai answered 404. Remembered for a week; pass `force: true` to ask again.' },
    REMOVED_FROM_CIVITAI: {
      description:
        'Civitai answered 404 for a model or version the catalog had synced: every row is kept and marked (`removedFromCivitaiAt`).',
    },
  } as const,
});

const ImportedModel = builder.objectRef<ModelImportOutcome>('ImportedModel').implement({
  fields: (t) => ({
    civitaiId: t.exposeInt('civitaiId'),
    name: t.exposeString('name'),
    status: t.field({
      type: ImportStatusEnum,
      resolve: (o) => o.status.toUpperCase() as 'CREATED' | 'UPDATED' | 'UNCHANGED',
    }),
    warnings: t.exposeStringList('warnings', {
      description: 'Values kept as Other/Unknown because they were not recognised.',
    }),
    model: t.field({
      type: ModelNode,
      nullable: true,
      resolve: outcomeModel,
    }),
  }),
});

const ImportFailureRef = builder.objectRef<ImportFailure>('ImportFailure').implement({
  description: 'A model of the payload that was not imported (nothing of it was written).',
  fields: (t) => ({
    civitaiId: t.exposeInt('civitaiId', { nullable: true }),
    name: t.exposeString('name', { nullable: true }),
    path: t.exposeString('path', {
      nullable: true,
      description: 'JSON path of the offending value, e.g. `$.modelVersions[0].files[2].sizeKB`.',
    }),
    message: t.exposeString('message'),
  }),
});

const ImportResult = builder.objectRef<ImportSummary>('ImportResult').implement({
  fields: (t) => ({
    created: t.exposeInt('created'),
    updated: t.exposeInt('updated'),
    unchanged: t.exposeInt('unchanged'),
    failed: t.exposeInt('failed'),
    models: t.field({ type: [ImportedModel], resolve: (s) => s.outcomes }),
    failures: t.field({ type: [ImportFailureRef], resolve: (s) => s.failures }),
    imagesImported: t.int({
      description: 'Images imported from an images list.',
      resolve: (s) => s.imageBatches.reduce((n, b) => n + b.images, 0),
    }),
  }),
});

const SyncResult = builder.objectRef<SyncOutcome>('SyncResult').implement({
  fields: (t) => ({
    status: t.field({ type: SyncStatusEnum, resolve: (o) => o.status }),
    model: t.field({
      type: ModelNode,
      nullable: true,
      resolve: outcomeModel,
    }),
    checkedAt: t.expose('checkedAt', { type: 'DateTime' }),
    remembered: t.exposeBoolean('remembered', {
      description: 'The answer is a remembered 404; Civitai was not asked this time.',
    }),
    fromArchive: t.boolean({
      description:
        'Civitai did not know the hash and CivArchive did (CIVARCHIVE_FALLBACK=1): what was imported came from the archive.',
      resolve: (o) => o.fromArchive ?? false,
    }),
    warnings: t.exposeStringList('warnings'),
  }),
});

builder.mutationFields((t) => ({
  importCivitaiPayload: t.field({
    type: ImportResult,
    description:
      'Imports a Civitai API response as-is: a model, a model version (also `/by-hash`), a models list page, or an images list page ' +
      '(with `imagesVersionCivitaiId`). Each model is its own transaction; failures are reported per model.',
    args: { payload: t.arg({ type: 'JSON', required: true }), imagesVersionCivitaiId: t.arg.int() },
    resolve: civitaiMutations.importCivitaiPayload,
  }),
  syncCivitaiModel: t.field({
    type: SyncResult,
    args: {
      civitaiId: t.arg.int({ required: true }),
      force: t.arg.boolean({ description: 'Ask Civitai even after a recent 404.' }),
    },
    resolve: civitaiMutations.syncCivitaiModel,
  }),
  syncCivitaiVersion: t.field({
    type: SyncResult,
    description: 'Fetches the version and imports its whole model.',
    args: { civitaiId: t.arg.int({ required: true }), force: t.arg.boolean() },
    resolve: civitaiMutations.syncCivitaiVersion,
  }),
  syncByHash: t.field({
    type: SyncResult,
    description: 'Identifies a file by hash on Civitai (`/model-versions/by-hash`) and imports its model.',
    args: { hash: t.arg.string({ required: true }), force: t.arg.boolean() },
    resolve: civitaiMutations.syncByHash,
  }),
}));

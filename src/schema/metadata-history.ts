/** A model's metadata history (what changed, when, from where; revertible) and its archive of raw payloads. */
import {
  type ArchivedPayloadInfo,
  type ChangeSet,
  type FieldChange,
  historyFields,
  historyMutations,
  MAX_PAYLOADS,
} from '../resolvers/metadata-history.ts';
import { builder } from './builder.ts';
import { pageComplexity } from './connections.ts';
import { ModelNode } from './model.ts';

const ChangeSourceEnum = builder.enumType('ChangeSource', {
  values: {
    import: { value: 'import', description: 'A payload imported by the CLI or the `importCivitaiPayload` mutation.' },
    sync: { value: 'sync', description: 'An online sync with Civitai (also a 404 that marked a removal).' },
    scan: { value: 'scan', description: 'A library scan (a linked file, a sidecar, a local-only model).' },
    download: {
      value: 'download',
      description: "A finished download's file linked to its catalog file (`jobId`: the download's `id`).",
    },
    edit: { value: 'edit', description: 'A user edit through a mutation.' },
    revert: { value: 'revert', description: '`revertChange`.' },
  } as const,
});

const FieldChangeRef = builder.objectRef<FieldChange>('FieldChange').implement({
  description: 'One field of one row, before and after.',
  fields: (t) => ({
    entity: t.exposeString('entity', { description: '`Model`, `ModelVersion` or `ModelFile`.' }),
    entityId: t.exposeInt('entityId', { description: 'The row id (databaseId) of the entity.' }),
    field: t.exposeString('field', {
      description:
        'The physical column name (`Description`, `BaseModel`…), or `Tags`, `TriggerWords`, `Creator`; `*` when the change created the row.',
    }),
    oldValue: t.field({ type: 'JSON', nullable: true, resolve: (c) => c.oldValue }),
    newValue: t.field({ type: 'JSON', nullable: true, resolve: (c) => c.newValue }),
  }),
});

const ChangeSetRef = builder.objectRef<ChangeSet>('MetadataChangeSet').implement({
  description: 'What one import, sync, scan, edit or revert changed in a model, written with the change itself.',
  fields: (t) => ({
    databaseId: t.exposeInt('id', { description: 'Pass to `revertChange`.' }),
    source: t.field({ type: ChangeSourceEnum, resolve: (c) => c.source as never }),
    detail: t.exposeString('detail', {
      nullable: true,
      description: 'Where it came from: "Civitai model 4201", a file path, a mutation name.',
    }),
    jobId: t.exposeString('jobId', {
      nullable: true,
      description: 'The request id (x-request-id), or the scan job id, that made it.',
    }),
    revertsChangeSetId: t.exposeInt('revertsChangeSetId', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    changes: t.field({ type: [FieldChangeRef], resolve: (c) => c.changes }),
  }),
});

const ChangeSetConnection = builder.connectionObject(
  { type: ChangeSetRef, name: 'MetadataChangeSetConnection' },
  { name: 'MetadataChangeSetEdge' },
);

const PayloadRef = builder.objectRef<ArchivedPayloadInfo>('ArchivedPayload').implement({
  description: 'A payload read for this model, kept once per distinct content (gzip-compressed).',
  fields: (t) => ({
    origin: t.exposeString('origin', { description: '`civitai`, `archive`, `file` or `request`.' }),
    source: t.exposeString('source', { description: 'Where it was read: "Civitai model 4201", a file path.' }),
    fetchedAt: t.expose('fetchedAt', { type: 'DateTime', description: 'When it was first read for this model.' }),
    kind: t.exposeString('kind', { description: '`model`, `version` or `images`.' }),
    byteSize: t.exposeInt('byteSize', { description: 'Size of the JSON text.' }),
    storedBytes: t.exposeInt('storedBytes', { description: 'Size as stored (compressed).' }),
    contentHash: t.exposeString('contentHash', { description: 'SHA-256 of the JSON text.' }),
    json: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The payload itself (read and decompressed only when asked for).',
      resolve: historyFields.payloadJson,
    }),
  }),
});

builder.objectFields(ModelNode, (t) => ({
  history: t.connection(
    {
      type: ChangeSetRef,
      description: 'Every recorded change to this model, its versions and files, newest first (`first`/`after`).',
      complexity: pageComplexity,
      resolve: historyFields.history,
    },
    ChangeSetConnection,
  ),
  payloads: t.field({
    type: [PayloadRef],
    description: `The raw payloads read for this model, newest first (at most ${MAX_PAYLOADS}).`,
    args: { first: t.arg.int({ defaultValue: 10 }) },
    complexity: (args) => ({ field: 1, multiplier: args.first ?? 10 }),
    resolve: historyFields.payloads,
  }),
}));

const RevertChangePayload = builder
  .objectRef<{ changeSetId: number | null; model: unknown }>('RevertChangePayload')
  .implement({
    fields: (t) => ({
      changeSetId: t.exposeInt('changeSetId', {
        nullable: true,
        description:
          "The change set recording the revert; null when the values were already the change set's old ones.",
      }),
      model: t.field({ type: ModelNode, nullable: true, resolve: (p) => p.model as never }),
    }),
  });

builder.mutationFields((t) => ({
  revertChange: t.field({
    type: RevertChangePayload,
    description:
      'Restores the old values of a change set as a user edit (later syncs keep them); the revert is recorded and can be reverted too. Created rows are not deleted.',
    args: { changeSetId: t.arg.int({ required: true }) },
    resolve: historyMutations.revertChange,
  }),
}));

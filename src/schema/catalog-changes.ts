/** Live catalog changes: the `catalogChanged` subscription and the `Revision` it counts in. */
import { Kind } from 'graphql';
import {
  type CatalogChangeEvent,
  catalogChangeSubscriptions,
  formatRevision,
  type ModelChange,
  modelChangeFields,
  parseRevision,
} from '../resolvers/catalog-changes.ts';
import { builder } from './builder.ts';

builder.scalarType('Revision', {
  description:
    'A catalog revision as `<number>:<epoch>` (opaque: keep it whole and hand it back). Every write to the catalog raises the number; the epoch names the database (a restore starts a new one).',
  serialize: (revision) => formatRevision(revision),
  parseValue: (value) => parseRevision(value),
  parseLiteral: (ast) => parseRevision(ast.kind === Kind.STRING ? ast.value : undefined),
});

const ModelChangeKindEnum = builder.enumType('ModelChangeKind', {
  description:
    'CREATED (the model is new since the previous revision), UPDATED (it or anything its answer shows: versions, files, images, trigger words, tags, its creator), DELETED.',
  values: ['CREATED', 'UPDATED', 'DELETED'] as const,
});

const ModelChangeRef = builder.objectRef<ModelChange>('ModelChange').implement({
  description: 'One model that changed: read it again with `nodes(ids)` (a DELETED one is gone).',
  fields: (t) => ({
    id: t.id({ description: "The model's global id (as `Model.id`).", resolve: modelChangeFields.id }),
    databaseId: t.exposeInt('modelId', { description: "The model's `databaseId`." }),
    kind: t.field({ type: ModelChangeKindEnum, resolve: (change) => change.kind }),
  }),
});

const CatalogChangeRef = builder.objectRef<CatalogChangeEvent>('CatalogChange').implement({
  description:
    'The catalog at a new revision and the models that changed since the previous event (or since `since`, in the first event).',
  fields: (t) => ({
    revision: t.field({
      type: 'Revision',
      description: 'Where the catalog stands now: pass it as `since` when subscribing again.',
      resolve: (event) => event.revision,
    }),
    reload: t.exposeBoolean('reload', {
      description:
        'The changes could not be named (too many at once, a `since` from another database or a restore, or from before changes were recorded): read again everything shown. `models` is then empty.',
    }),
    models: t.field({
      type: [ModelChangeRef],
      description: 'Each changed model once, in the order of its latest change.',
      resolve: (event) => event.models,
    }),
  }),
});

builder.subscriptionFields((t) => ({
  catalogChanged: t.field({
    type: CatalogChangeRef,
    description:
      'Catalog changes as they happen, whoever writes (this server, the CLI, the desktop app, another instance): first an event with the current revision (and what changed after `since`), then one event per burst of writes, a few a second at most.',
    args: {
      since: t.arg({
        type: 'Revision',
        required: false,
        description: 'The last revision this client saw (a reconnecting client): the first event names what it missed.',
      }),
    },
    subscribe: catalogChangeSubscriptions.catalogChanged,
    resolve: (event) => event,
  }),
}));

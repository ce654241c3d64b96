/** Imports every type module (for its side effects on the builder) and builds the schema. */
import { builder } from './builder.ts';
import { withSyncNodeIds } from './node-ids.ts';
import './scalars.ts';
import './enums.ts';
import './connections.ts';
import './health.ts';
import './model.ts';
import './model-version.ts';
import './model-file.ts';
import './model-image.ts';
import './creator.ts';
import './tag.ts';
import './trigger-word.ts';
import './mutation-results.ts';
import './civitai-import.ts';
import './local-library.ts';
import './download.ts';
import './search.ts';
import './metadata-history.ts';
import './catalog-changes.ts';

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

export const schema = withSyncNodeIds(builder.toSchema());

/** Imports every type module (for its side effects on the builder) and builds the schema. */
import { builder } from './builder.ts';
import './scalars.ts';
import './health.ts';

builder.queryType({});

export const schema = builder.toSchema();

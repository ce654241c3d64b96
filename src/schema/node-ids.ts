/**
 * Every node's `id` resolved synchronously. plugin-relay wraps each node's `id` resolver in an `async` function, so
 * every `id` in an answer cost a promise and, in the compiled executor, a continuation closure: a 1,000-hash look-up
 * selecting `file { id version { id model { id } } }` made 3,000 of them (about a tenth of what the request
 * allocated). The id resolvers themselves are synchronous (`row => row.id`, declared with each node): this takes each
 * one from its type's options and encodes its result in place of the wrapper, with the same encoder.
 */
import { type GraphQLFieldResolver, type GraphQLSchema, isObjectType } from 'graphql';
import { encodeNodeId, NODE_TYPES } from '../catalog/global-id.ts';

type IdResolver = GraphQLFieldResolver<unknown, unknown>;

export function withSyncNodeIds(schema: GraphQLSchema): GraphQLSchema {
  for (const name of NODE_TYPES) {
    const type = schema.getType(name);
    const declared = (type?.extensions.pothosOptions as { id?: { resolve?: IdResolver } } | undefined)?.id?.resolve;
    const field = isObjectType(type) ? type.getFields().id : undefined;
    if (!field || !declared) throw new Error(`${name} is not a node with an id resolver`);
    field.resolve = (parent, args, context, info) => {
      const id = declared(parent, args, context, info);
      if (id instanceof Promise) throw new Error(`${name}.id must be resolved synchronously`);
      return encodeNodeId(name, id as number);
    };
  }
  return schema;
}

/** Result shapes shared by mutations of several entities. */
import { encodeNodeId, type NodeTypeName } from '../catalog/global-id.ts';
import { builder } from './builder.ts';

export interface DeletedShape {
  type: NodeTypeName;
  databaseId: number;
}

export const DeletedNode = builder.objectRef<DeletedShape>('DeletedNode').implement({
  description: 'What a delete removed (the row and everything that cascaded from it).',
  fields: (t) => ({
    id: t.id({ resolve: (d) => encodeNodeId(d.type, d.databaseId) }),
    databaseId: t.exposeInt('databaseId'),
  }),
});

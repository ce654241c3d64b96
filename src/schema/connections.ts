/** What every connection shares: `totalCount` (computed only when selected) and page-size complexity. */
import { builder } from './builder.ts';
import { DEFAULT_PAGE_SIZE } from '../catalog/pagination.ts';

builder.globalConnectionField('totalCount', (t) =>
  t.int({
    description: 'Number of items in the whole list (all pages) under the same filters.',
    resolve: (connection) => connection.totalCount(),
  }),
);

/** Complexity of a connection field: what is selected under it costs once per requested item. */
export function pageComplexity(args: { first?: number | null; last?: number | null }) {
  return { field: 1, multiplier: Math.max(1, args.last ?? args.first ?? DEFAULT_PAGE_SIZE) };
}

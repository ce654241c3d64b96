/**
 * Which answers the catalog revision vouches for (`src/db/revision.ts`): an answer made only of rows the revision
 * covers is current for as long as the revision stands, so it can be cached and revalidated with an ETag. Types and
 * fields that read anything else — the download queue, scan jobs held in memory, the server's health, the size of
 * the database file — say so with `extensions: notCoveredByRevision('why')`, next to where they read it; an
 * operation selecting any of them is always executed.
 */
import {
  type DocumentNode,
  type GraphQLSchema,
  getNamedType,
  getOperationAST,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';

const EXTENSION = 'notCoveredByRevision';

/** The `extensions` of a type or field whose values the catalog revision does not cover. */
export function notCoveredByRevision(reason: string): Record<string, string> {
  return { [EXTENSION]: reason };
}

function notCovered(extensions: Readonly<Record<string, unknown>> | null | undefined): boolean {
  return typeof extensions?.[EXTENSION] === 'string';
}

/**
 * Whether the operation is a query all of whose fields (through fragments) the revision covers: not a mutation or
 * subscription, no field or type marked `notCoveredByRevision`. False for a document that does not name one
 * operation or that does not fit the schema (it fails validation when run).
 */
export function coveredByRevision(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
): boolean {
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== 'query') return false;
  const typeInfo = new TypeInfo(schema);
  let covered = true;
  // Every fragment of the document is visited, used or not: the cheap, safe side.
  const visited = {
    ...document,
    definitions: document.definitions.filter((d) => d.kind !== 'OperationDefinition' || d === operation),
  };
  visit(
    visited,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const field = typeInfo.getFieldDef();
        const parent = typeInfo.getParentType();
        if (!field || !parent) {
          // `__typename` has a definition; anything unknown would fail validation.
          covered = false;
          return;
        }
        if (
          notCovered(field.extensions) ||
          notCovered(parent.extensions) ||
          notCovered(getNamedType(field.type).extensions)
        )
          covered = false;
      },
    }),
  );
  return covered;
}

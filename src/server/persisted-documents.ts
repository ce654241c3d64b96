/**
 * Persisted documents (trusted documents): GraphQL Code Generator writes every client document of the project —
 * `examples/`, the tests, any app using the client preset — to a manifest by hash (`npm run codegen`:
 * `src/generated/graphql/persisted-documents.json`, ids `sha256:<hex>`), and a client sends the id instead of the
 * text: `GET /graphql?documentId=sha256:…&variables=…`, or a POST body with `documentId`. A GET of a known document
 * is a plain URL, which is what HTTP caches and ETags work with (`revision-cache.ts`).
 *
 * Unknown ids are refused with PERSISTED_DOCUMENT_NOT_FOUND. With DIFFUSION_NEXUS_TRUSTED_DOCUMENTS_ONLY=1 only
 * known documents run (PERSISTED_DOCUMENTS_ONLY otherwise): a client can then run nothing the project's own clients
 * do not, the safe setting for a server on a network. yoga's persisted-operations plugin does the work; this module
 * loads the manifests and gives its refusals our codes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { type DocumentNode, getOperationAST, type GraphQLSchema, parse, validate } from 'graphql';
import { createGraphQLError, type GraphQLParams, type Plugin } from 'graphql-yoga';
import { AppError } from '../errors.ts';
import { PROJECT_ROOT } from '../db/project-paths.ts';
import { coveredByRevision } from '../schema/revision-coverage.ts';

/** The manifest `npm run codegen` (and `npm install`) writes for the project's own documents. */
export const PROJECT_MANIFEST = path.join(PROJECT_ROOT, 'src', 'generated', 'graphql', 'persisted-documents.json');

export interface PersistedDocument {
  id: string;
  text: string;
  /** Whether the operation (by name; null: the only one) may be cached and revalidated (see `revision-coverage.ts`). */
  cacheable(operationName: string | null | undefined): boolean;
  /** The variables the operation declares (execution ignores any others a request sends). */
  declaredVariables(operationName: string | null | undefined): readonly string[];
}

export interface PersistedDocuments {
  get(id: string): PersistedDocument | undefined;
  readonly size: number;
}

const SHA256_ID = /^sha256:[0-9a-f]{64}$/;

/** The id a client sends for `text`, as the codegen preset makes it: `sha256:` + the hex SHA-256 of the text. */
export function documentIdFor(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** An id as the manifests key it: `sha256:` + lower-case hex; a bare 64-digit hex hash is taken as SHA-256 too. */
export function normalDocumentId(id: string): string {
  const text = id.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return `sha256:${text.toLowerCase()}`;
  return /^sha256:[0-9a-fA-F]{64}$/i.test(text) ? `sha256:${text.slice(7).toLowerCase()}` : text;
}

/** The document id of a request: a POST body's `documentId`, or a GET's `documentId` parameter. */
export function documentIdOf(params: GraphQLParams, request: Request): string | null {
  const fromBody = (params as { documentId?: unknown }).documentId;
  if (typeof fromBody === 'string') return normalDocumentId(fromBody);
  if (request.method !== 'GET') return null;
  const fromUrl = new URL(request.url, 'http://localhost').searchParams.get('documentId');
  return fromUrl === null ? null : normalDocumentId(fromUrl);
}

/** The parsed document, or why it would fail every time it is sent (it does not parse, or not against `schema`). */
function checkedDocument(text: string, schema: GraphQLSchema): DocumentNode | string {
  let document: DocumentNode;
  try {
    document = parse(text);
  } catch (error) {
    return `does not parse: ${(error as Error).message}`;
  }
  const [first] = validate(schema, document);
  return first ? `is not valid here: ${first.message}` : document;
}

/**
 * Reads manifests (`{ "<id>": "<document>" }`) into one set. A `sha256:` id must be the hash of its text (a manifest
 * that disagrees with itself would run another document than the client's); other ids are taken as they are. Every
 * document is checked against the schema here, at start-up: one that does not parse or validate would fail each
 * time a client sent its id (a manifest of another version of the API).
 */
export function loadPersistedDocuments(files: readonly string[], schema: GraphQLSchema): PersistedDocuments {
  const documents = new Map<string, PersistedDocument>();
  for (const file of files) {
    let manifest: unknown;
    try {
      manifest = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new AppError(
        'BAD_USER_INPUT',
        `The persisted documents manifest ${file} cannot be read: ${(error as Error).message}`,
      );
    }
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest))
      throw new AppError(
        'BAD_USER_INPUT',
        `The persisted documents manifest ${file} is not a JSON object of id → document.`,
      );
    for (const [key, text] of Object.entries(manifest)) {
      const id = normalDocumentId(key);
      const hashed = SHA256_ID.test(id);
      if (typeof text !== 'string' || (hashed && documentIdFor(text) !== id))
        throw new AppError(
          'BAD_USER_INPUT',
          `The persisted documents manifest ${file}: ${key} is not ${hashed ? 'the SHA-256 of its document' : 'a document'}.`,
        );
      const document = checkedDocument(text, schema);
      if (typeof document === 'string')
        throw new AppError(
          'BAD_USER_INPUT',
          `The persisted documents manifest ${file}: ${key} ${document} (regenerate the manifest for this server's schema).`,
        );
      documents.set(id, persistedDocument(id, text, document, schema));
    }
  }
  return { get: (id) => documents.get(id), size: documents.size };
}

function persistedDocument(id: string, text: string, document: DocumentNode, schema: GraphQLSchema): PersistedDocument {
  const operations = new Map<string | null, { cacheable: boolean; variables: readonly string[] }>();
  const operation = (operationName: string | null | undefined) => {
    const name = operationName ?? null;
    let facts = operations.get(name);
    if (!facts) {
      const definition = getOperationAST(document, name);
      facts = {
        cacheable: coveredByRevision(schema, document, name),
        variables: definition?.variableDefinitions?.map((v) => v.variable.name.value) ?? [],
      };
      operations.set(name, facts);
    }
    return facts;
  };
  return {
    id,
    text,
    cacheable: (operationName) => operation(operationName).cacheable,
    declaredVariables: (operationName) => operation(operationName).variables,
  };
}

export interface PersistedDocumentsOptions {
  documents: PersistedDocuments;
  /** Only known documents run (DIFFUSION_NEXUS_TRUSTED_DOCUMENTS_ONLY). */
  trustedOnly: boolean;
}

/** An id as an error message quotes it: a client's text of any length, cut to what identifies it. */
function shown(id: string | null): string {
  const text = id ?? '';
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/**
 * Persisted documents run by id; a request naming a document and sending query text as well is refused, whichever
 * would have run (the text would, where arbitrary operations are allowed — not what a client naming a document means).
 */
export function persistedDocumentsPlugin(options: PersistedDocumentsOptions): Plugin[] {
  const { documents, trustedOnly } = options;
  const oneOfTheTwo: Plugin = {
    onParams({ params, request }) {
      if (typeof params.query === 'string' && documentIdOf(params, request) !== null)
        throw createGraphQLError('Send either `documentId` or `query`, not both.', {
          extensions: { code: 'BAD_REQUEST', http: { spec: true, status: 400 } },
        });
    },
  };
  return [oneOfTheTwo, byId(documents, trustedOnly)];
}

function byId(documents: PersistedDocuments, trustedOnly: boolean): Plugin {
  return usePersistedOperations({
    allowArbitraryOperations: !trustedOnly,
    extractPersistedOperationId: (params, request) => documentIdOf(params, request),
    getPersistedOperation: (id) => documents.get(id)?.text ?? null,
    customErrors: {
      notFound: (payload) =>
        new AppError(
          'PERSISTED_DOCUMENT_NOT_FOUND',
          `No persisted document has the id ${shown(documentIdOf(payload.params, payload.request))}: ` +
            'send the document itself, or regenerate the manifest (npm run codegen) and restart the server.',
          { http: { status: 400 } },
        ),
      persistedQueryOnly: () =>
        new AppError(
          'PERSISTED_DOCUMENTS_ONLY',
          'This server runs persisted documents only (DIFFUSION_NEXUS_TRUSTED_DOCUMENTS_ONLY): send `documentId` ' +
            'instead of `query`.',
          { http: { status: 403 } },
        ),
      // Neither `query` nor `documentId`: what yoga answers when the query is missing.
      keyNotFound: () =>
        createGraphQLError(trustedOnly ? 'Must provide `documentId`.' : 'Must provide query string.', {
          extensions: { code: 'BAD_REQUEST', http: { spec: true, status: 400, headers: { Allow: 'GET, POST' } } },
        }),
    },
  });
}

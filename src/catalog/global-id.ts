/**
 * Opaque Relay IDs: base64 of `Type:databaseId`. Decoding is strict, so a mangled or foreign ID is a coded
 * BAD_USER_INPUT error naming the argument instead of a crash or a silent miss.
 */
import { AppError } from '../errors.ts';

export const NODE_TYPES = [
  'Model',
  'ModelVersion',
  'ModelFile',
  'ModelImage',
  'Creator',
  'Tag',
  'TriggerWord',
] as const;
export type NodeTypeName = (typeof NODE_TYPES)[number];

export function encodeNodeId(typename: string, id: string | number | bigint): string {
  // A type name and a number are ASCII, where btoa is plain base64 — and a third of Buffer's cost (an answer of
  // 200 rows encodes 200 ids).
  return btoa(`${typename}:${id}`);
}

export function decodeNodeId(globalId: string): { typename: string; id: string } {
  const invalid = () =>
    new AppError(
      'BAD_USER_INPUT',
      `"${globalId.length > 80 ? `${globalId.slice(0, 80)}…` : globalId}" is not a valid ID. ` +
        'IDs are the opaque `id` values this API returns; use `databaseId` arguments for numeric ids.',
    );
  if (globalId.length > 200 || !/^[A-Za-z0-9+/]+={0,2}$/.test(globalId)) throw invalid();
  const match = /^([A-Za-z]+):([1-9]\d{0,15})$/.exec(Buffer.from(globalId, 'base64').toString('utf8'));
  if (!match || !(NODE_TYPES as readonly string[]).includes(match[1]!)) throw invalid();
  return { typename: match[1]!, id: match[2]! };
}

/** Decodes an ID that must name a row of `expected`; returns its database id. */
export function databaseIdFrom(globalId: string, expected: NodeTypeName): number {
  const { typename, id } = decodeNodeId(globalId);
  if (typename !== expected) {
    throw new AppError('BAD_USER_INPUT', `ID "${globalId}" belongs to a ${typename}, not a ${expected}.`);
  }
  return Number(id);
}

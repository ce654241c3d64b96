/**
 * Finding files by hash. The algorithm follows from the length (8 → AutoV1 or CRC32, 10 → AutoV2, 12 → AutoV3,
 * 64 → SHA256 or BLAKE3) unless the caller names it. Hex is matched case-insensitively through expression indexes
 * on `upper(column)` (rows written by other tools may be lower-case), and CRC32 in either byte order: Civitai
 * prints it byte-reversed compared with zlib.
 */
import { AppError, limitExceeded } from '../errors.ts';

export const HASH_ALGORITHMS = ['AUTOV1', 'AUTOV2', 'AUTOV3', 'SHA256', 'CRC32', 'BLAKE3'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

export const MAX_HASHES_PER_CALL = 1000;

const LENGTHS: Record<HashAlgorithm, readonly number[]> = {
  AUTOV1: [8],
  CRC32: [8],
  AUTOV2: [10],
  AUTOV3: [12, 64],
  SHA256: [64],
  BLAKE3: [64],
};

export interface HashQuery {
  /** As the caller wrote it. */
  input: string;
  /** Upper-case hex. */
  hash: string;
  algorithms: HashAlgorithm[];
}

/** Reverses the byte order of a hex string (`0D4A1185` ↔ `85114A0D`). */
export function reverseHexBytes(hex: string): string {
  return (hex.match(/../g) ?? []).reverse().join('');
}

/** The values to look for in the algorithm's indexed expression. */
export function matchValues(algorithm: HashAlgorithm, hash: string): string[] {
  // A full AutoV3 is found through its prefix; the loader then compares the whole value.
  if (algorithm === 'CRC32') return [...new Set([hash, reverseHexBytes(hash)])];
  if (algorithm === 'AUTOV3') return [hash.slice(0, 12)];
  return [hash];
}

export function parseHashQuery(input: string, algorithm?: HashAlgorithm | null): HashQuery {
  const hash = input.trim().toUpperCase();
  const shown = input.length > 80 ? `${input.slice(0, 80)}…` : input;
  if (!/^[0-9A-F]+$/.test(hash)) throw new AppError('BAD_USER_INPUT', `"${shown}" is not a hexadecimal hash.`);
  if (algorithm) {
    if (!LENGTHS[algorithm].includes(hash.length)) {
      throw new AppError(
        'BAD_USER_INPUT',
        `"${shown}" has ${hash.length} hex digits, not ${LENGTHS[algorithm].join(' or ')} as a ${algorithm} hash has.`,
      );
    }
    return { input, hash, algorithms: [algorithm] };
  }
  const algorithms = HASH_ALGORITHMS.filter((a) => LENGTHS[a].includes(hash.length));
  if (algorithms.length === 0) {
    throw new AppError(
      'BAD_USER_INPUT',
      `"${shown}" has ${hash.length} hex digits, not 8 (AutoV1/CRC32), 10 (AutoV2), 12 (AutoV3) or 64 (SHA256/BLAKE3).`,
    );
  }
  // A 64-digit hash is SHA256 or BLAKE3 (an AutoV3 is only ever looked up by its 12-digit prefix).
  return { input, hash, algorithms: hash.length === 64 ? ['SHA256', 'BLAKE3'] : algorithms };
}

/** Validates a whole batch up front, so a bad entry fails the call before anything runs. */
export function parseHashBatch(inputs: readonly string[], algorithm?: HashAlgorithm | null): HashQuery[] {
  if (inputs.length > MAX_HASHES_PER_CALL) {
    throw limitExceeded(
      `At most ${MAX_HASHES_PER_CALL} hashes per call, got ${inputs.length}. Split the list.`,
      MAX_HASHES_PER_CALL,
    );
  }
  const invalid: { index: number; reason: string }[] = [];
  const parsed = inputs.map((input, index) => {
    try {
      return parseHashQuery(input, algorithm);
    } catch (error) {
      // Each reason is a sentence of its own (without semicolons); here it becomes one clause of a list.
      invalid.push({ index, reason: (error as Error).message.replace(/\.$/, '') });
      return null;
    }
  });
  if (invalid.length > 0) {
    const shown = invalid.slice(0, 5).map(({ index, reason }) => `hashes[${index}]: ${reason}`);
    if (invalid.length > 5) shown.push(`${invalid.length - 5} more`);
    throw new AppError(
      'BAD_USER_INPUT',
      `${invalid.length} of ${inputs.length} hashes ${invalid.length === 1 ? 'is' : 'are'} invalid (positions are 0-based): ${shown.join('; ')}.`,
      // The same positions for programs, every one of them (the message shows the first five).
      { invalidPositions: invalid.map(({ index }) => index) },
    );
  }
  return parsed as HashQuery[];
}

import { Kind, valueFromASTUntyped } from 'graphql';
import { builder } from './builder.ts';
import { AppError } from '../errors.ts';

/** ISO-8601 instants. Output is always UTC with milliseconds (`2026-01-02T03:04:05.678Z`). */
builder.scalarType('DateTime', {
  description: 'An instant as an ISO-8601 string in UTC, e.g. `2026-01-02T03:04:05.678Z`.',
  serialize: (value) => (value instanceof Date ? value : new Date(value)).toISOString(),
  parseValue: (value) => parseDateTime(value),
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

export function parseDateTime(value: unknown): Date {
  const date =
    typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)
      ? new Date(value)
      : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new AppError(
      'BAD_USER_INPUT',
      `Expected an ISO-8601 date-time such as "2026-01-02T03:04:05Z", got ${JSON.stringify(value)}.`,
    );
  }
  return date;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** 64-bit integers (image seeds, byte sizes) as decimal strings: JSON numbers lose precision past 2^53. */
builder.scalarType('BigInt', {
  description: 'A 64-bit integer as a decimal string (e.g. a generation seed), exact beyond 2^53.',
  serialize: (value) => String(value),
  parseValue: (value) => parseBigInt(value),
  parseLiteral: (ast) => parseBigInt(ast.kind === Kind.STRING || ast.kind === Kind.INT ? ast.value : undefined),
});

export function parseBigInt(value: unknown): bigint {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || !/^-?\d{1,19}$/.test(text)) {
    throw new AppError(
      'BAD_USER_INPUT',
      `Expected a 64-bit integer as a decimal string, got ${JSON.stringify(value)}.`,
    );
  }
  const parsed = BigInt(text);
  if (parsed < INT64_MIN || parsed > INT64_MAX)
    throw new AppError('BAD_USER_INPUT', `${text} is outside the 64-bit integer range.`);
  return parsed;
}

/** Any JSON value, e.g. a Civitai API payload passed through as-is. */
builder.scalarType('JSON', {
  description: 'Any JSON value (object, array, string, number, boolean or null).',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

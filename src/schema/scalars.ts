import { Kind } from 'graphql';
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
  const date = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)
    ? new Date(value)
    : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new AppError('BAD_USER_INPUT', `Expected an ISO-8601 date-time such as "2026-01-02T03:04:05Z", got ${JSON.stringify(value)}.`);
  }
  return date;
}

/**
 * Reading untrusted JSON with the path of every value at hand, so a bad payload fails with a message that names
 * where (`$.modelVersions[2].files[0].sizeKB: expected a number, got "big"`). Lenient where Civitai's API drifts
 * (numbers as strings in free-form fields), strict where a wrong type means a wrong row.
 */
import { AppError } from '../errors.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const LIMITS = {
  /** Longest text kept for descriptions and prompts (longer is cut, not rejected). */
  longText: 200_000,
  shortText: 2_000,
  arrayItems: 5_000,
} as const;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing (the field is missing)';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

export class JsonReader {
  readonly value: unknown;
  readonly path: string;

  constructor(value: unknown, path = '$') {
    this.value = value;
    this.path = path;
  }

  /** Throws a BAD_USER_INPUT naming this value's path; `got` describes what was found (default: the value itself). */
  fail(expected: string, got: string = describe(this.value)): never {
    throw new AppError('BAD_USER_INPUT', `${this.path}: expected ${expected}, got ${got}.`, { path: this.path });
  }

  isObject(): boolean {
    return typeof this.value === 'object' && this.value !== null && !Array.isArray(this.value);
  }

  /** Whether the object names `key` at all, even as null (`has` treats null as absent). */
  states(key: string): boolean {
    return this.isObject() && Object.hasOwn(this.value as object, key);
  }

  has(key: string): boolean {
    return (
      this.isObject() &&
      (this.value as Record<string, unknown>)[key] !== undefined &&
      (this.value as Record<string, unknown>)[key] !== null
    );
  }

  /** The child at `key` (must be an object to ask). */
  at(key: string): JsonReader {
    if (!this.isObject()) this.fail('an object');
    return new JsonReader((this.value as Record<string, unknown>)[key], `${this.path}.${key}`);
  }

  object(key: string): JsonReader {
    const child = this.at(key);
    if (!child.isObject()) child.fail('an object');
    return child;
  }

  optObject(key: string): JsonReader | null {
    return this.has(key) ? this.object(key) : null;
  }

  array(key: string, max: number = LIMITS.arrayItems): JsonReader[] {
    const child = this.at(key);
    if (!Array.isArray(child.value)) child.fail('an array');
    const items = child.value as unknown[];
    if (items.length > max) child.fail(`at most ${max} items`, `${items.length} items`);
    return items.map((item, i) => new JsonReader(item, `${child.path}[${i}]`));
  }

  optArray(key: string, max: number = LIMITS.arrayItems): JsonReader[] | null {
    return this.has(key) ? this.array(key, max) : null;
  }

  string(key: string, max: number = LIMITS.shortText): string {
    const child = this.at(key);
    const value = child.value;
    if (typeof value !== 'string') return child.fail('a string');
    if (value.length > max) child.fail(`at most ${max} characters`, `${value.length} characters`);
    return value;
  }

  optString(key: string, max: number = LIMITS.shortText): string | null {
    return this.has(key) ? this.string(key, max) : null;
  }

  /** Free text that may be long: cut to `max` instead of failing. */
  optText(key: string, max: number = LIMITS.longText): string | null {
    if (!this.has(key)) return null;
    const child = this.at(key);
    const value = child.value;
    if (typeof value !== 'string') return child.fail('a string');
    return value.length > max ? value.slice(0, max) : value;
  }

  /** A positive integer id that fits the database's 32-bit Int columns. */
  id(key: string): number {
    const child = this.at(key);
    const value = child.value;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > 2_147_483_647)
      return child.fail('a positive integer id');
    return value;
  }

  optId(key: string): number | null {
    return this.has(key) ? this.id(key) : null;
  }

  /** A count for a 32-bit Int column: a whole number from 0 to 2^31 − 1. */
  optCount(key: string): number | null {
    if (!this.has(key)) return null;
    const child = this.at(key);
    const value = child.value;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 2_147_483_647)
      return child.fail('a whole number from 0 to 2147483647');
    return value;
  }

  number(key: string): number {
    const child = this.at(key);
    const value = child.value;
    if (typeof value !== 'number' || !Number.isFinite(value)) return child.fail('a number');
    return value;
  }

  optNumber(key: string): number | null {
    return this.has(key) ? this.number(key) : null;
  }

  optBoolean(key: string): boolean | null {
    if (!this.has(key)) return null;
    const child = this.at(key);
    const value = child.value;
    if (typeof value !== 'boolean') return child.fail('true or false');
    return value;
  }

  /** ISO-8601 timestamp text → Date. */
  optDate(key: string): Date | null {
    if (!this.has(key)) return null;
    const child = this.at(key);
    const date = typeof child.value === 'string' ? new Date(child.value) : null;
    if (!date || Number.isNaN(date.getTime())) child.fail('an ISO-8601 date');
    return date;
  }
}

/** Parses JSON text, naming the position of a syntax error (not the text's source: its caller reports that). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AppError('INVALID_JSON', `not valid JSON: ${(error as Error).message}`);
  }
}

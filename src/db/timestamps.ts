/**
 * Timestamps are TEXT in SQLite. The desktop app (EF Core) writes `yyyy-MM-dd HH:mm:ss.FFFFFFFzzz`, e.g.
 * `2025-12-22 19:53:09.1234567+00:00`; this server writes the same format (`toStoredTimestamp`), so other readers of
 * the shared file see one format. Files still hold rows written by earlier versions of this server in Prisma's
 * `2026-01-02T03:04:05.678+00:00`: compared as text, a space sorts before `T`, so rows of the two formats misorder
 * within a day and `>`/`<` filters are wrong. Every SQL comparison or ORDER BY on a timestamp column therefore goes
 * through the dialect's `utc()` (see `dialect.ts`), which normalises both formats (and any offset) to the same
 * sortable UTC text, served by the expression indexes of the migrations.
 */

/**
 * How this server writes an instant into a TEXT timestamp column: the desktop app's format, in UTC. Its `F` digits
 * drop trailing zeros, and the period too when the fraction is zero (`…:05+00:00`), as .NET formats them.
 */
export function toStoredTimestamp(date: Date): string {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}+00:00`;
}

/** Sortable UTC form: `YYYY-MM-DDTHH:MM:SS.SSSZ`. NULL (or unparsable text) stays NULL. */
export const UTC_TIMESTAMP_FORMAT = '%Y-%m-%dT%H:%M:%fZ';

/**
 * Parses stored timestamp text of either format into a Date. JS `Date` cannot parse the desktop app's
 * seven-digit fractions reliably, so the text is normalised to ISO-8601 with milliseconds first.
 */
export function parseStoredTimestamp(stored: string | number | bigint | null | undefined): Date | null {
  if (stored === null || stored === undefined) return null;
  if (typeof stored !== 'string') return new Date(Number(stored)); // epoch milliseconds (Prisma's other format)
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(
    stored.trim(),
  );
  if (!match) {
    const fallback = new Date(stored);
    return Number.isNaN(fallback.getTime()) ? null : fallback;
  }
  const [, day, time, fraction = '', zone = 'Z'] = match;
  const millis = fraction.padEnd(3, '0').slice(0, 3);
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  return new Date(`${day}T${time!.length === 5 ? `${time}:00` : time}.${millis}${offset}`);
}

const STORED_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d+))?\s*(Z|([+-])(\d{2}):?(\d{2})?)?$/i;

/**
 * Stored timestamp text of either format (any offset; none means UTC), or epoch milliseconds, as the instant's UTC
 * text to the microsecond: `YYYY-MM-DDTHH:MM:SS.ffffffZ` — PostgreSQL's `timestamptz` precision, so the form both
 * engines can hold exactly. The desktop app's seventh fraction digit (100 ns) is dropped, never rounded into the
 * next microsecond (rounding could carry into the seconds). Null when the text is no timestamp (or no real date).
 * Used where a whole catalog moves between engines (`transfer/`), not on the request path.
 */
export function utcMicrosText(stored: string | number | bigint): string | null {
  if (typeof stored !== 'string') {
    const millis = Number(stored);
    if (!Number.isFinite(millis)) return null;
    const whole = Math.floor(millis);
    const date = new Date(whole);
    if (Number.isNaN(date.getTime())) return null;
    const micros = String(Math.floor((millis - whole) * 1000)).padStart(3, '0');
    return `${date.toISOString().slice(0, 23)}${micros}Z`;
  }
  const match = STORED_TIMESTAMP.exec(stored.trim());
  if (!match) return null;
  const [, year, month, day, hour, minute, second = '00', fraction = '', , sign, offsetHours, offsetMinutes] = match;
  const date = new Date(0);
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  date.setUTCHours(Number(hour), Number(minute), Number(second), 0);
  // Date rolls 30 February over into March: a field out of range is no timestamp.
  const iso = date.toISOString();
  if (iso.slice(0, 19) !== `${year}-${month}-${day}T${hour}:${minute}:${second}`) return null;
  const offset = sign ? (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes ?? 0)) : 0;
  const utc = new Date(date.getTime() - offset * 60_000).toISOString();
  return `${utc.slice(0, 19)}.${fraction.padEnd(6, '0').slice(0, 6)}Z`;
}

/** `utcMicrosText`'s form in the desktop app's stored format (`2025-12-22 19:53:09.123456+00:00`, see above). */
export function storedFromUtcMicros(text: string): string {
  const fraction = text.slice(20, 26).replace(/0+$/, '');
  return `${text.slice(0, 10)} ${text.slice(11, 19)}${fraction ? `.${fraction}` : ''}+00:00`;
}

/**
 * A table's content checksum: SHA-256 over its rows in key order, each row's canonical values (`values.ts`)
 * encoded without ambiguity — the row as a JSON array with every Buffer replaced by its length, then those
 * Buffers' bytes. The same rows give the same checksum whichever engine they were read from; any changed, missing,
 * extra or reordered value changes it.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Canonical } from './values.ts';

export class TableChecksum {
  #hash: Hash = createHash('sha256');
  rows = 0;

  add(values: readonly Canonical[]): void {
    let buffers: Buffer[] | null = null;
    const json = JSON.stringify(
      values.map((value) => {
        if (!Buffer.isBuffer(value)) return value;
        (buffers ??= []).push(value);
        return value.length;
      }),
    );
    this.#hash.update(json);
    if (buffers) for (const buffer of buffers as Buffer[]) this.#hash.update(buffer);
    this.rows++;
  }

  /** The hex digest; the checksum takes no rows after this. */
  digest(): string {
    return this.#hash.digest('hex');
  }
}

/**
 * Look-ups by hash: every algorithm, detected from the length or named; case-insensitive on both sides (rows
 * stored lower-case by other tools are found); CRC32 in either byte order; batches in input order with few
 * statements; clear errors for bad input.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { reverseHexBytes } from '../src/catalog/hash-lookup.ts';
import { dataOf, firstErrorCode, seededCatalog, type SeededCatalog } from './helpers/catalog.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { runOnCatalog } from './helpers/postgres.ts';

let catalog: SeededCatalog;
let server: TestServer;
const statements: string[] = [];

interface FileRow {
  Id: number;
  HashAutoV1: string;
  HashAutoV2: string;
  HashSHA256: string;
  HashCRC32: string;
  HashBLAKE3: string;
  HashAutoV3: string | null;
  LocalPath: string | null;
  IsLocalFileValid: number;
}

beforeAll(async () => {
  catalog = await seededCatalog();
  server = await startTestServer(
    { dataDir: catalog.dataDir, databasePath: catalog.databasePath },
    { onStatement: (sql) => statements.push(sql) },
  );
});

const files = () => catalog.sql.prepare(`SELECT * FROM ModelFiles ORDER BY Id`).all() as FileRow[];
const FILE_BY_HASH = 'query($h: String!, $a: HashAlgorithm) { fileByHash(hash: $h, algorithm: $a) { databaseId } }';
const byHash = async (hash: string, algorithm?: string) =>
  dataOf(await server.graphql<{ fileByHash: { databaseId: number } | null }>(FILE_BY_HASH, { h: hash, a: algorithm }))
    .fileByHash?.databaseId ?? null;

describe('fileByHash', () => {
  it('finds a file by each of its hashes, in any letter case', async () => {
    const file = files().find((f) => f.HashAutoV3 && f.HashSHA256 === f.HashSHA256.toUpperCase())!;
    for (const hash of [
      file.HashSHA256,
      file.HashAutoV2,
      file.HashAutoV3!.slice(0, 12),
      file.HashBLAKE3,
      file.HashSHA256.toLowerCase(),
      ` ${file.HashAutoV2.toLowerCase()} `,
    ]) {
      expect(await byHash(hash), hash).toBe(file.Id);
    }
    expect(await byHash(file.HashAutoV1, 'AUTOV1')).toBe(file.Id);
    expect(await byHash(file.HashCRC32, 'CRC32')).toBe(file.Id);
    expect(await byHash(file.HashAutoV3!, 'AUTOV3')).toBe(file.Id);
  });

  it('finds rows whose hashes were stored lower-case', async () => {
    const lower = files().find((f) => f.HashSHA256 === f.HashSHA256.toLowerCase())!;
    expect(lower).toBeDefined();
    expect(await byHash(lower.HashSHA256.toUpperCase())).toBe(lower.Id);
    expect(await byHash(lower.HashAutoV2.toUpperCase())).toBe(lower.Id);
  });

  it("matches CRC32 in Civitai's byte order and in zlib's", async () => {
    const file = files()[0]!;
    expect(await byHash(file.HashCRC32, 'CRC32')).toBe(file.Id);
    expect(await byHash(reverseHexBytes(file.HashCRC32), 'CRC32')).toBe(file.Id);
    expect(reverseHexBytes('0D4A1185')).toBe('85114A0D');
  });

  it('returns null for an unknown hash and rejects malformed ones with BAD_USER_INPUT', async () => {
    expect(await byHash('0'.repeat(64))).toBeNull();
    for (const [hash, algorithm] of [
      ['xyz', undefined],
      ['ABCDEF', undefined],
      ['ABCDEF0123', 'SHA256'],
    ] as const) {
      const response = await server.graphql(FILE_BY_HASH, { h: hash, a: algorithm });
      expect(firstErrorCode(response), hash).toBe('BAD_USER_INPUT');
    }
  });

  it('prefers a present local copy when the same file was downloaded twice', async () => {
    const original = files().find((f) => f.LocalPath === null)!;
    const copyColumns = `"ModelVersionId", "FileName", "SizeKB", "FileType", "IsPrimary", "Format", "Precision", "SizeType",
        "PickleScanResult", "VirusScanResult", "HashSHA256", "LocalPath", "IsLocalFileValid"`;
    const copyValues = (
      no: string,
      yes: string,
    ) => `"ModelVersionId", "FileName", "SizeKB", "FileType", ${no}, "Format",
        "Precision", "SizeType", "PickleScanResult", "VirusScanResult", lower("HashSHA256"), '/library/copy.safetensors', ${yes}`;
    const [copy] = await runOnCatalog<{ Id: number }>(
      server.config,
      {
        sqlite: `INSERT INTO "ModelFiles" (${copyColumns}) SELECT ${copyValues('0', '1')} FROM "ModelFiles" WHERE "Id" = ? RETURNING "Id"`,
        postgres: `INSERT INTO "ModelFiles" (${copyColumns}) SELECT ${copyValues('false', 'true')} FROM "ModelFiles" WHERE "Id" = $1 RETURNING "Id"`,
      },
      [original.Id],
    );
    const { filesByHashes } = dataOf(
      await server.graphql<{ filesByHashes: { file: { databaseId: number }; files: { databaseId: number }[] }[] }>(
        'query($h: [String!]!) { filesByHashes(hashes: $h) { file { databaseId } files { databaseId } } }',
        { h: [original.HashSHA256] },
      ),
    );
    expect(filesByHashes[0]!.file.databaseId).toBe(copy!.Id);
    expect(filesByHashes[0]!.files.map((f) => f.databaseId)).toEqual([copy!.Id, original.Id]);
  });
});

describe('filesByHashes', () => {
  it('answers a 1,000-hash batch in input order with one statement per algorithm present', async () => {
    const all = files().filter((f) => f.HashAutoV2 !== null && f.HashBLAKE3 !== null);
    const hashes: string[] = [];
    for (let i = 0; hashes.length < 1000; i++) {
      const file = all[i % all.length]!;
      const kinds = [file.HashSHA256, file.HashAutoV2, file.HashBLAKE3, `FFFF${i.toString(16).padStart(6, '0')}`];
      hashes.push(kinds[i % kinds.length]!.toLowerCase());
    }
    statements.length = 0;
    const { filesByHashes } = dataOf(
      await server.graphql<{
        filesByHashes: { hash: string; algorithm: string | null; file: { databaseId: number } | null }[];
      }>('query($h: [String!]!) { filesByHashes(hashes: $h) { hash algorithm file { databaseId } } }', { h: hashes }),
    );
    expect(statements.length).toBeLessThanOrEqual(6);
    expect(filesByHashes).toHaveLength(1000);
    filesByHashes.forEach((match, i) => {
      expect(match.hash).toBe(hashes[i]);
      const file = all[i % all.length]!;
      const expectedAlgorithm = ['SHA256', 'AUTOV2', 'BLAKE3', null][i % 4];
      expect(match.algorithm).toBe(expectedAlgorithm);
      if (expectedAlgorithm) {
        const holders = all.filter((f) =>
          [f.HashSHA256, f.HashAutoV2, f.HashBLAKE3].some((h) => h?.toLowerCase() === hashes[i]),
        );
        expect(holders.map((f) => f.Id)).toContain(match.file!.databaseId);
        expect(holders.map((f) => f.Id)).toContain(file.Id);
      } else {
        expect(match.file).toBeNull();
      }
    });
  });

  it('refuses more than 1,000 hashes and names invalid entries, running nothing', async () => {
    const tooMany = await server.graphql('query($h: [String!]!) { filesByHashes(hashes: $h) { hash } }', {
      h: Array.from({ length: 1001 }, () => 'ABCDEF0123'),
    });
    expect(firstErrorCode(tooMany)).toBe('LIMIT_EXCEEDED');
    statements.length = 0;
    const hashes = ['ABCDEF0123', 'not-hex', '12'];
    const bad = await server.graphql('query($h: [String!]!) { filesByHashes(hashes: $h) { hash } }', { h: hashes });
    expect(firstErrorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.message).toMatch(
      /^2 of 3 hashes are invalid \(positions are 0-based\): hashes\[1\]: .*not-hex.*; hashes\[2\]: /,
    );
    expect(statements).toEqual([]);
  });

  it('names invalid hashes by their 0-based position, in one sentence', async () => {
    // Every third entry is bad (not hex, or of no hash's length): the positions the answer names are the inputs' own.
    const hashes = Array.from({ length: 20 }, (_, i) => (i % 3 === 1 ? (i % 2 ? `bad-${i}` : 'ABC') : 'ABCDEF0123'));
    const positions = hashes.flatMap((h, i) => (h !== 'ABCDEF0123' ? [i] : []));
    const bad = await server.graphql('query($h: [String!]!) { filesByHashes(hashes: $h) { hash } }', { h: hashes });
    expect(firstErrorCode(bad)).toBe('BAD_USER_INPUT');
    const error = bad.errors![0]!;
    expect(error.extensions?.invalidPositions).toEqual(positions);
    expect(error.message).toContain('0-based');
    for (const position of positions.slice(0, 5))
      expect(error.message).toContain(`hashes[${position}]: "${hashes[position]}"`);
    expect(error.message).toContain(`; ${positions.length - 5} more.`);
    // One sentence: a clause per entry, joined by semicolons (none inside a clause), a single full stop at the end.
    expect(error.message.split('; ')).toHaveLength(6);
    expect(error.message).not.toMatch(/\.\s*;|\.\.$/);
    expect(error.message.match(/\.(\s|$)/g)).toEqual(['.']);

    const one = await server.graphql('query($h: [String!]!) { filesByHashes(hashes: $h) { hash } }', {
      h: ['ABCDEF0123', '12'],
    });
    expect(one.errors?.[0]?.message).toMatch(
      /^1 of 2 hashes is invalid .*hashes\[1\]: "12" has 2 hex digits, not 8 .*\(SHA256\/BLAKE3\)\.$/,
    );
    const named = await server.graphql(
      'query($h: [String!]!) { filesByHashes(hashes: $h, algorithm: CRC32) { hash } }',
      {
        h: ['ABCDEF01', '12'],
      },
    );
    expect(named.errors?.[0]?.message).toBe(
      '1 of 2 hashes is invalid (positions are 0-based): hashes[1]: "12" has 2 hex digits, not 8 as a CRC32 hash has.',
    );
  });
});

-- Hand-written: the look-up indexes of the SQLite migrations AddLookupIndexes and AddHashAutoV3, which schema.prisma
-- cannot describe, under the same names. The expressions match the ones the code queries with, character for
-- character (src/db/tables/model-files.ts, src/db/lists.ts). Comments here hold no semicolons or quotes: the
-- driver adapter splits the script into statements.

-- Hash look-ups are case-insensitive (rows written by other tools may hold lower-case hex). All six kinds.
CREATE INDEX "IX_ModelFiles_HashAutoV1_Upper" ON "ModelFiles"(upper("HashAutoV1"));
CREATE INDEX "IX_ModelFiles_HashAutoV2_Upper" ON "ModelFiles"(upper("HashAutoV2"));
CREATE INDEX "IX_ModelFiles_HashSHA256_Upper" ON "ModelFiles"(upper("HashSHA256"));
CREATE INDEX "IX_ModelFiles_HashCRC32_Upper" ON "ModelFiles"(upper("HashCRC32"));
CREATE INDEX "IX_ModelFiles_HashBLAKE3_Upper" ON "ModelFiles"(upper("HashBLAKE3"));
CREATE INDEX "IX_ModelFiles_HashAutoV3_Prefix" ON "ModelFiles"(upper(substr("HashAutoV3", 1, 12)));

-- Timestamps order, compare and page through their UTC text in the format SQLite gives them (strftime with
-- %Y-%m-%dT%H:%M:%fZ), so cursors and answers are the same text on both engines. to_char is only STABLE (it reads
-- the session time zone and locale), but with the zone fixed to UTC and a pattern without locale fields its result
-- depends on the instant alone, which makes this wrapper truly IMMUTABLE and lets the same expression indexes as on
-- SQLite serve it (src/db/dialect.ts writes the same call).
CREATE FUNCTION "dn_utc_text"(timestamptz) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

CREATE INDEX "IX_Models_CreatedAtUtc" ON "Models"("dn_utc_text"("CreatedAt"));
CREATE INDEX "IX_Models_UpdatedAtUtc" ON "Models"("dn_utc_text"("UpdatedAt"));
CREATE INDEX "IX_ModelVersions_CreatedAtUtc" ON "ModelVersions"("dn_utc_text"("CreatedAt"));
CREATE INDEX "IX_ModelVersions_ModelId_CreatedAtUtc" ON "ModelVersions"("ModelId", "dn_utc_text"("CreatedAt"));

-- Case-insensitive name ordering and username look-ups.
CREATE INDEX "IX_Models_NameLower" ON "Models"(lower("Name"));
CREATE INDEX "IX_Creators_UsernameLower" ON "Creators"(lower("Username"));

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

-- Timestamps are timestamptz here and order and compare as instants (utc() of the dialect is the column itself),
-- so the strftime expression indexes of SQLite become plain column indexes. Models.CreatedAt and
-- ModelVersions.CreatedAt already have theirs (IX_Models_CreatedAt and IX_ModelVersions_CreatedAt in Init).
CREATE INDEX "IX_Models_UpdatedAtUtc" ON "Models"("UpdatedAt");
CREATE INDEX "IX_ModelVersions_ModelId_CreatedAtUtc" ON "ModelVersions"("ModelId", "CreatedAt");

-- Case-insensitive name ordering and username look-ups.
CREATE INDEX "IX_Models_NameLower" ON "Models"(lower("Name"));
CREATE INDEX "IX_Creators_UsernameLower" ON "Creators"(lower("Username"));

-- Hand-written: expression indexes, which schema.prisma cannot describe. Prisma's diff ignores expression indexes,
-- so they cause no drift. The expressions must match, character for character, the ones the code queries with
-- (src/db/timestamps.ts, src/resolvers/hash-lookup.ts); a test checks the query plans use them.

-- Hash lookups are case-insensitive: rows written by other tools may hold lower-case hex.
CREATE INDEX "IX_ModelFiles_HashAutoV1_Upper" ON "ModelFiles"(upper("HashAutoV1"));
CREATE INDEX "IX_ModelFiles_HashAutoV2_Upper" ON "ModelFiles"(upper("HashAutoV2"));
CREATE INDEX "IX_ModelFiles_HashSHA256_Upper" ON "ModelFiles"(upper("HashSHA256"));
CREATE INDEX "IX_ModelFiles_HashCRC32_Upper" ON "ModelFiles"(upper("HashCRC32"));
CREATE INDEX "IX_ModelFiles_HashBLAKE3_Upper" ON "ModelFiles"(upper("HashBLAKE3"));

-- Timestamps are TEXT in two formats; order and filter on their normalised UTC form.
CREATE INDEX "IX_Models_CreatedAtUtc" ON "Models"(strftime('%Y-%m-%dT%H:%M:%fZ', "CreatedAt"));
CREATE INDEX "IX_Models_UpdatedAtUtc" ON "Models"(strftime('%Y-%m-%dT%H:%M:%fZ', "UpdatedAt"));
CREATE INDEX "IX_ModelVersions_CreatedAtUtc" ON "ModelVersions"(strftime('%Y-%m-%dT%H:%M:%fZ', "CreatedAt"));
CREATE INDEX "IX_ModelVersions_ModelId_CreatedAtUtc" ON "ModelVersions"("ModelId", strftime('%Y-%m-%dT%H:%M:%fZ', "CreatedAt"));

-- Case-insensitive name ordering and username look-ups (lower(), not COLLATE NOCASE: Prisma would see a
-- collated column index as its own and want to drop it).
CREATE INDEX "IX_Models_NameLower" ON "Models"(lower("Name"));
CREATE INDEX "IX_Creators_UsernameLower" ON "Creators"(lower("Username"));

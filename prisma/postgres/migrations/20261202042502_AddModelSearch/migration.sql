-- Hand-written: full-text search on PostgreSQL, the counterpart of the SQLite migration AddModelSearch. The tables
-- are declared external (src/db/external-tables.ts), so Prisma leaves them alone. Comments here hold no semicolons
-- or quotes: the driver adapter splits the script into statements at every semicolon, which is also why the
-- trigger function bodies below write their semicolons as the escape \073.
--
-- ModelSearch holds one document per model, written by src/search/search-index.ts as on SQLite: the nine texts
-- (the same text SQLite indexes, for snippets and matched fields) and the tsvector built from them in code, each
-- word folded like SQLite folds it, weighted by field (A name, B tags and trigger words, C creator, file, version
-- and base model names, D description and prompts) and positioned so that no phrase spans two fields.
-- The GIN index answers word, phrase and prefix queries. No extension is needed: folding happens in code.

CREATE TABLE "ModelSearch" (
  "ModelId" INTEGER NOT NULL PRIMARY KEY,
  "name" TEXT NOT NULL,
  "tags" TEXT NOT NULL,
  "triggerWords" TEXT NOT NULL,
  "creator" TEXT NOT NULL,
  "fileNames" TEXT NOT NULL,
  "versionNames" TEXT NOT NULL,
  "baseModels" TEXT NOT NULL,
  "description" TEXT NOT NULL,
  "prompts" TEXT NOT NULL,
  "document" TSVECTOR NOT NULL
);
CREATE INDEX "IX_ModelSearch_Document" ON "ModelSearch" USING GIN ("document");

-- Per indexed word, how many documents hold it (what the fts5vocab view gives on SQLite): the search cost
-- estimate reads it. Kept by the same code that writes documents. Byte order, so a prefix is a range.
CREATE TABLE "ModelSearchTerms" (
  "term" TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  "doc" INTEGER NOT NULL
);

-- Models whose document must be rebuilt, noted by the triggers below whoever writes: this server, another
-- instance, the CLI or any SQL client. Documents are rebuilt from it after writes and before every search.
CREATE TABLE "ModelSearchDirty" ("ModelId" INTEGER NOT NULL PRIMARY KEY);

-- Every existing model needs a document.
INSERT INTO "ModelSearchDirty" ("ModelId") SELECT "Id" FROM "Models";

-- Statement-level triggers: each statement notes the models it changed once, from its transition tables (new_rows,
-- old_rows), with one function per table whose statements PostgreSQL plans once per connection. A model already
-- noted is updated in place rather than skipped: that waits for a rebuild holding the note locked (FOR UPDATE) to
-- commit, and then notes the model again, so a change made while its document was being rebuilt is never lost.
-- The bodies are E strings: each semicolon in them is written \073, and each quote doubled.

CREATE FUNCTION "dn_search_note_Models"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  IF TG_OP = ''INSERT'' THEN
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT "Id" AS "ModelId" FROM new_rows) AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  ELSIF TG_OP = ''UPDATE'' THEN
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT n."Id" AS "ModelId" FROM new_rows n JOIN old_rows o ON o."Id" = n."Id" WHERE (n."Name", n."Description", n."CreatorId") IS DISTINCT FROM (o."Name", o."Description", o."CreatorId")) AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  ELSE
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT "Id" AS "ModelId" FROM old_rows) AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  END IF\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_ModelSearch_Models_Insert" AFTER INSERT ON "Models"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_Models"();
CREATE TRIGGER "TR_ModelSearch_Models_Update" AFTER UPDATE ON "Models"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_Models"();
CREATE TRIGGER "TR_ModelSearch_Models_Delete" AFTER DELETE ON "Models"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_Models"();

CREATE FUNCTION "dn_search_note_ModelTags"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  IF TG_OP = ''INSERT'' THEN
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT "ModelId" FROM new_rows) AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  ELSIF TG_OP = ''UPDATE'' THEN
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT "ModelId" FROM new_rows UNION ALL SELECT "ModelId" FROM old_rows) AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  ELSE
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT "ModelId" FROM old_rows) AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  END IF\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_ModelSearch_ModelTags_Insert" AFTER INSERT ON "ModelTags"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_ModelTags"();
CREATE TRIGGER "TR_ModelSearch_ModelTags_Update" AFTER UPDATE ON "ModelTags"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_ModelTags"();
CREATE TRIGGER "TR_ModelSearch_ModelTags_Delete" AFTER DELETE ON "ModelTags"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_ModelTags"();

CREATE FUNCTION "dn_search_note_Tags"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT mt."ModelId" FROM new_rows n JOIN old_rows o ON o."Id" = n."Id" JOIN "ModelTags" mt ON mt."TagId" = n."Id" WHERE n."Name" IS DISTINCT FROM o."Name") AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_ModelSearch_Tags_Update" AFTER UPDATE ON "Tags"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_Tags"();

CREATE FUNCTION "dn_search_note_Creators"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT m."Id" AS "ModelId" FROM new_rows n JOIN old_rows o ON o."Id" = n."Id" JOIN "Models" m ON m."CreatorId" = n."Id" WHERE n."Username" IS DISTINCT FROM o."Username") AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_ModelSearch_Creators_Update" AFTER UPDATE ON "Creators"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_Creators"();

CREATE FUNCTION "dn_search_note_ModelVersions"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  IF TG_OP = ''INSERT'' THEN
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT "ModelId" FROM new_rows) AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  ELSIF TG_OP = ''UPDATE'' THEN
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT x."ModelId" FROM new_rows n JOIN old_rows o ON o."Id" = n."Id" CROSS JOIN LATERAL (VALUES (n."ModelId"), (o."ModelId")) AS x ("ModelId") WHERE (n."Name", n."BaseModel", n."BaseModelRaw", n."ModelId") IS DISTINCT FROM (o."Name", o."BaseModel", o."BaseModelRaw", o."ModelId")) AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  ELSE
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT "ModelId" FROM old_rows) AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  END IF\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_ModelSearch_ModelVersions_Insert" AFTER INSERT ON "ModelVersions"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_ModelVersions"();
CREATE TRIGGER "TR_ModelSearch_ModelVersions_Update" AFTER UPDATE ON "ModelVersions"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_ModelVersions"();
CREATE TRIGGER "TR_ModelSearch_ModelVersions_Delete" AFTER DELETE ON "ModelVersions"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_ModelVersions"();

CREATE FUNCTION "dn_search_note_TriggerWords"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  IF TG_OP = ''INSERT'' THEN
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT v."ModelId" FROM new_rows w JOIN "ModelVersions" v ON v."Id" = w."ModelVersionId") AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  ELSIF TG_OP = ''UPDATE'' THEN
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT v."ModelId" FROM new_rows n JOIN old_rows o ON o."Id" = n."Id" JOIN "ModelVersions" v ON v."Id" IN (n."ModelVersionId", o."ModelVersionId") WHERE (n."Word", n."ModelVersionId") IS DISTINCT FROM (o."Word", o."ModelVersionId")) AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  ELSE
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT v."ModelId" FROM old_rows w JOIN "ModelVersions" v ON v."Id" = w."ModelVersionId") AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  END IF\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_ModelSearch_TriggerWords_Insert" AFTER INSERT ON "TriggerWords"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_TriggerWords"();
CREATE TRIGGER "TR_ModelSearch_TriggerWords_Update" AFTER UPDATE ON "TriggerWords"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_TriggerWords"();
CREATE TRIGGER "TR_ModelSearch_TriggerWords_Delete" AFTER DELETE ON "TriggerWords"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_TriggerWords"();

CREATE FUNCTION "dn_search_note_ModelFiles"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  IF TG_OP = ''INSERT'' THEN
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT v."ModelId" FROM new_rows f JOIN "ModelVersions" v ON v."Id" = f."ModelVersionId") AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  ELSIF TG_OP = ''UPDATE'' THEN
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT v."ModelId" FROM new_rows n JOIN old_rows o ON o."Id" = n."Id" JOIN "ModelVersions" v ON v."Id" IN (n."ModelVersionId", o."ModelVersionId") WHERE (n."FileName", n."ModelVersionId") IS DISTINCT FROM (o."FileName", o."ModelVersionId")) AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  ELSE
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT v."ModelId" FROM old_rows f JOIN "ModelVersions" v ON v."Id" = f."ModelVersionId") AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  END IF\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_ModelSearch_ModelFiles_Insert" AFTER INSERT ON "ModelFiles"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_ModelFiles"();
CREATE TRIGGER "TR_ModelSearch_ModelFiles_Update" AFTER UPDATE ON "ModelFiles"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_ModelFiles"();
CREATE TRIGGER "TR_ModelSearch_ModelFiles_Delete" AFTER DELETE ON "ModelFiles"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_ModelFiles"();

CREATE FUNCTION "dn_search_note_ModelImages"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  IF TG_OP = ''INSERT'' THEN
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT v."ModelId" FROM new_rows i JOIN "ModelVersions" v ON v."Id" = i."ModelVersionId" WHERE i."Prompt" IS NOT NULL) AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  ELSIF TG_OP = ''UPDATE'' THEN
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT v."ModelId" FROM new_rows n JOIN old_rows o ON o."Id" = n."Id" JOIN "ModelVersions" v ON v."Id" IN (n."ModelVersionId", o."ModelVersionId") WHERE (n."Prompt", n."ModelVersionId") IS DISTINCT FROM (o."Prompt", o."ModelVersionId")) AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  ELSE
    INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT "ModelId" FROM (SELECT v."ModelId" FROM old_rows i JOIN "ModelVersions" v ON v."Id" = i."ModelVersionId" WHERE i."Prompt" IS NOT NULL) AS changed WHERE "ModelId" IS NOT NULL ORDER BY 1
      ON CONFLICT ("ModelId") DO UPDATE SET "ModelId" = EXCLUDED."ModelId"\073
  END IF\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_ModelSearch_ModelImages_Insert" AFTER INSERT ON "ModelImages"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_ModelImages"();
CREATE TRIGGER "TR_ModelSearch_ModelImages_Update" AFTER UPDATE ON "ModelImages"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_ModelImages"();
CREATE TRIGGER "TR_ModelSearch_ModelImages_Delete" AFTER DELETE ON "ModelImages"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_search_note_ModelImages"();

-- Hand-written: which models changed at which revision, the counterpart of the SQLite migration
-- AddCatalogModelChanges (src/db/catalog-changes.ts, the catalogChanged subscription). Comments here hold no
-- semicolons or quotes: the driver adapter splits the script into statements at every semicolon, which is also why
-- the function bodies below write their semicolons as the escape \073.
--
-- One row per model id (its latest change, the revision that created it, whether it was deleted), bounded by the
-- catalog whatever the rate of writes, so nothing needs pruning. Statement triggers with transition tables note
-- every model a statement touched in one set-based upsert. They run AFTER the statement, whose BEFORE trigger
-- (AddCatalogRevision) already raised the revision and holds its row lock until commit: the number they read is
-- this transaction's own, above the revision any client saw before the commit and at most the one it commits.
-- The answer of a model is made of its rows, its versions, files, images, trigger words and tags, and the names of its creator and
-- tags: a write to any of them notes the model. A TRUNCATE of any of them cannot say which models it
-- touched: it moves ChangesFrom to the current revision, so clients that knew an earlier one reload.

ALTER TABLE "CatalogRevision" ADD COLUMN "ChangesFrom" BIGINT;

CREATE TABLE "CatalogModelChanges" (
    "ModelId" INTEGER NOT NULL,
    "Revision" BIGINT NOT NULL,
    "CreatedRevision" BIGINT,
    "Deleted" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "CatalogModelChanges_pkey" PRIMARY KEY ("ModelId")
);

CREATE INDEX "IX_CatalogModelChanges_Revision" ON "CatalogModelChanges"("Revision");

CREATE FUNCTION "dn_catalog_model_changes_Models"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  IF TG_OP = ''INSERT'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", r."Revision", false FROM (SELECT DISTINCT m FROM (SELECT "Id" AS m FROM new_rows) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision", "CreatedRevision" = excluded."CreatedRevision", "Deleted" = false\073
  ELSIF TG_OP = ''UPDATE'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT "Id" AS m FROM new_rows) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  ELSIF TG_OP = ''DELETE'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, true FROM (SELECT DISTINCT m FROM (SELECT "Id" AS m FROM old_rows) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision", "Deleted" = true\073
  END IF\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_CatalogModelChanges_Models_Insert" AFTER INSERT ON "Models"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_Models"();
CREATE TRIGGER "TR_CatalogModelChanges_Models_Update" AFTER UPDATE ON "Models"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_Models"();
CREATE TRIGGER "TR_CatalogModelChanges_Models_Delete" AFTER DELETE ON "Models"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_Models"();

CREATE FUNCTION "dn_catalog_model_changes_ModelVersions"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  IF TG_OP = ''INSERT'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT "ModelId" AS m FROM new_rows) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  ELSIF TG_OP = ''UPDATE'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT "ModelId" AS m FROM new_rows UNION SELECT "ModelId" FROM old_rows) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  ELSIF TG_OP = ''DELETE'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT "ModelId" AS m FROM old_rows) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  END IF\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_CatalogModelChanges_ModelVersions_Insert" AFTER INSERT ON "ModelVersions"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_ModelVersions"();
CREATE TRIGGER "TR_CatalogModelChanges_ModelVersions_Update" AFTER UPDATE ON "ModelVersions"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_ModelVersions"();
CREATE TRIGGER "TR_CatalogModelChanges_ModelVersions_Delete" AFTER DELETE ON "ModelVersions"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_ModelVersions"();

CREATE FUNCTION "dn_catalog_model_changes_ModelTags"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  IF TG_OP = ''INSERT'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT "ModelId" AS m FROM new_rows) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  ELSIF TG_OP = ''UPDATE'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT "ModelId" AS m FROM new_rows UNION SELECT "ModelId" FROM old_rows) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  ELSIF TG_OP = ''DELETE'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT "ModelId" AS m FROM old_rows) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  END IF\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_CatalogModelChanges_ModelTags_Insert" AFTER INSERT ON "ModelTags"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_ModelTags"();
CREATE TRIGGER "TR_CatalogModelChanges_ModelTags_Update" AFTER UPDATE ON "ModelTags"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_ModelTags"();
CREATE TRIGGER "TR_CatalogModelChanges_ModelTags_Delete" AFTER DELETE ON "ModelTags"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_ModelTags"();

CREATE FUNCTION "dn_catalog_model_changes_ModelFiles"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  IF TG_OP = ''INSERT'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT v."ModelId" AS m FROM "ModelVersions" AS v WHERE v."Id" IN (SELECT "ModelVersionId" FROM new_rows)) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  ELSIF TG_OP = ''UPDATE'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT v."ModelId" AS m FROM "ModelVersions" AS v WHERE v."Id" IN (SELECT "ModelVersionId" FROM new_rows UNION SELECT "ModelVersionId" FROM old_rows)) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  ELSIF TG_OP = ''DELETE'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT v."ModelId" AS m FROM "ModelVersions" AS v WHERE v."Id" IN (SELECT "ModelVersionId" FROM old_rows)) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  END IF\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_CatalogModelChanges_ModelFiles_Insert" AFTER INSERT ON "ModelFiles"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_ModelFiles"();
CREATE TRIGGER "TR_CatalogModelChanges_ModelFiles_Update" AFTER UPDATE ON "ModelFiles"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_ModelFiles"();
CREATE TRIGGER "TR_CatalogModelChanges_ModelFiles_Delete" AFTER DELETE ON "ModelFiles"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_ModelFiles"();

CREATE FUNCTION "dn_catalog_model_changes_ModelImages"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  IF TG_OP = ''INSERT'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT v."ModelId" AS m FROM "ModelVersions" AS v WHERE v."Id" IN (SELECT "ModelVersionId" FROM new_rows)) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  ELSIF TG_OP = ''UPDATE'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT v."ModelId" AS m FROM "ModelVersions" AS v WHERE v."Id" IN (SELECT "ModelVersionId" FROM new_rows UNION SELECT "ModelVersionId" FROM old_rows)) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  ELSIF TG_OP = ''DELETE'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT v."ModelId" AS m FROM "ModelVersions" AS v WHERE v."Id" IN (SELECT "ModelVersionId" FROM old_rows)) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  END IF\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_CatalogModelChanges_ModelImages_Insert" AFTER INSERT ON "ModelImages"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_ModelImages"();
CREATE TRIGGER "TR_CatalogModelChanges_ModelImages_Update" AFTER UPDATE ON "ModelImages"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_ModelImages"();
CREATE TRIGGER "TR_CatalogModelChanges_ModelImages_Delete" AFTER DELETE ON "ModelImages"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_ModelImages"();

CREATE FUNCTION "dn_catalog_model_changes_TriggerWords"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  IF TG_OP = ''INSERT'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT v."ModelId" AS m FROM "ModelVersions" AS v WHERE v."Id" IN (SELECT "ModelVersionId" FROM new_rows)) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  ELSIF TG_OP = ''UPDATE'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT v."ModelId" AS m FROM "ModelVersions" AS v WHERE v."Id" IN (SELECT "ModelVersionId" FROM new_rows UNION SELECT "ModelVersionId" FROM old_rows)) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  ELSIF TG_OP = ''DELETE'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT v."ModelId" AS m FROM "ModelVersions" AS v WHERE v."Id" IN (SELECT "ModelVersionId" FROM old_rows)) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  END IF\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_CatalogModelChanges_TriggerWords_Insert" AFTER INSERT ON "TriggerWords"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_TriggerWords"();
CREATE TRIGGER "TR_CatalogModelChanges_TriggerWords_Update" AFTER UPDATE ON "TriggerWords"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_TriggerWords"();
CREATE TRIGGER "TR_CatalogModelChanges_TriggerWords_Delete" AFTER DELETE ON "TriggerWords"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_TriggerWords"();

-- A creator or tag is shown by name inside its models answers: renaming one changes them all.
CREATE FUNCTION "dn_catalog_model_changes_Creators"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  IF TG_OP = ''UPDATE'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT m."Id" AS m FROM "Models" AS m WHERE m."CreatorId" IN (SELECT "Id" FROM new_rows)) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  END IF\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_CatalogModelChanges_Creators_Update" AFTER UPDATE ON "Creators"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_Creators"();

CREATE FUNCTION "dn_catalog_model_changes_Tags"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  IF TG_OP = ''UPDATE'' THEN
    INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
      SELECT ids.m, r."Revision", NULL::bigint, false FROM (SELECT DISTINCT m FROM (SELECT mt."ModelId" AS m FROM "ModelTags" AS mt WHERE mt."TagId" IN (SELECT "Id" FROM new_rows)) AS touched WHERE m IS NOT NULL) AS ids,
        "CatalogRevision" AS r WHERE r."Id" = 1
      ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision"\073
  END IF\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_CatalogModelChanges_Tags_Update" AFTER UPDATE ON "Tags"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_Tags"();

CREATE FUNCTION "dn_catalog_model_changes_truncated"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  UPDATE "CatalogRevision" SET "ChangesFrom" = "Revision" WHERE "Id" = 1\073
  RETURN NULL\073
END';
CREATE TRIGGER "TR_CatalogModelChanges_Models_Truncate" AFTER TRUNCATE ON "Models"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_truncated"();
CREATE TRIGGER "TR_CatalogModelChanges_ModelVersions_Truncate" AFTER TRUNCATE ON "ModelVersions"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_truncated"();
CREATE TRIGGER "TR_CatalogModelChanges_ModelTags_Truncate" AFTER TRUNCATE ON "ModelTags"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_truncated"();
CREATE TRIGGER "TR_CatalogModelChanges_ModelFiles_Truncate" AFTER TRUNCATE ON "ModelFiles"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_truncated"();
CREATE TRIGGER "TR_CatalogModelChanges_ModelImages_Truncate" AFTER TRUNCATE ON "ModelImages"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_truncated"();
CREATE TRIGGER "TR_CatalogModelChanges_TriggerWords_Truncate" AFTER TRUNCATE ON "TriggerWords"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_truncated"();
CREATE TRIGGER "TR_CatalogModelChanges_Creators_Truncate" AFTER TRUNCATE ON "Creators"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_truncated"();
CREATE TRIGGER "TR_CatalogModelChanges_Tags_Truncate" AFTER TRUNCATE ON "Tags"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_model_changes_truncated"();

-- Changes before this migration were not recorded: a client asking for them is told to reload.
UPDATE "CatalogRevision" SET "ChangesFrom" = "Revision" WHERE "Id" = 1;

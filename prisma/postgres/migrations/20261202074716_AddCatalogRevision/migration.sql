-- Hand-written: the catalog revision, the counterpart of the SQLite migration AddCatalogRevision (src/db/revision.ts).
-- One row whose number every statement writing a table GraphQL answers are made of raises, whoever writes: this
-- server, another instance, the CLI or any SQL client. Comments here hold no semicolons or quotes: the driver
-- adapter splits the script into statements at every semicolon, which is also why the function body below writes
-- its semicolons as the escape \073.

CREATE TABLE "CatalogRevision" (
    "Id" INTEGER NOT NULL,
    "Revision" BIGINT NOT NULL,
    "Epoch" TEXT NOT NULL,

    CONSTRAINT "CatalogRevision_pkey" PRIMARY KEY ("Id")
);

-- Epoch: a random name for this database, so one number never stands for two different catalogs.
INSERT INTO "CatalogRevision" ("Id", "Revision", "Epoch") VALUES (1, 1, md5(random()::text || clock_timestamp()::text));

-- Statement-level triggers, one function for every table: a statement raises the number once however many rows it
-- writes, and announces it on the channel dn_catalog_revision (NOTIFY is delivered at commit, once per transaction:
-- the payload is always empty, and equal notifications of one transaction are folded into one).
-- BEFORE the statement, so that a writer takes the row lock of the revision before the row locks of its first
-- catalog statement. Writers in several processes then queue for the revision (until commit) holding no catalog
-- row another writer could be waiting for, instead of deadlocking over one. A statement that turns out to change
-- nothing still raises the number: that only costs a cached answer.
CREATE FUNCTION "dn_catalog_revision_raise"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1\073
  PERFORM pg_notify(''dn_catalog_revision'', '''')\073
  RETURN NULL\073
END';

CREATE TRIGGER "TR_CatalogRevision_Creators" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "Creators"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_revision_raise"();
CREATE TRIGGER "TR_CatalogRevision_Models" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "Models"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_revision_raise"();
CREATE TRIGGER "TR_CatalogRevision_Tags" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "Tags"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_revision_raise"();
CREATE TRIGGER "TR_CatalogRevision_ModelTags" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "ModelTags"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_revision_raise"();
CREATE TRIGGER "TR_CatalogRevision_ModelVersions" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "ModelVersions"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_revision_raise"();
CREATE TRIGGER "TR_CatalogRevision_ModelFiles" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "ModelFiles"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_revision_raise"();
CREATE TRIGGER "TR_CatalogRevision_ModelImages" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "ModelImages"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_revision_raise"();
CREATE TRIGGER "TR_CatalogRevision_TriggerWords" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "TriggerWords"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_revision_raise"();
CREATE TRIGGER "TR_CatalogRevision_LocalFiles" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "LocalFiles"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_revision_raise"();
CREATE TRIGGER "TR_CatalogRevision_ModelPayloads" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "ModelPayloads"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_revision_raise"();
CREATE TRIGGER "TR_CatalogRevision_MetadataChangeSets" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "MetadataChangeSets"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_revision_raise"();
CREATE TRIGGER "TR_CatalogRevision_MetadataChanges" BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON "MetadataChanges"
  FOR EACH STATEMENT EXECUTE FUNCTION "dn_catalog_revision_raise"();

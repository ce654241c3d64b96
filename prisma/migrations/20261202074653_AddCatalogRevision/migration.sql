-- The catalog revision (src/db/revision.ts): one row whose number every write to the tables GraphQL answers are
-- made of raises, whoever writes (this server, the CLI, another instance, the desktop app), so an answer cached or
-- tagged (ETag) at one revision is known to be current while the number stands. The table is generated from
-- schema.prisma; the row and the triggers below are hand-written.
--
-- SQLite has row triggers only: a statement raises the number once per row it writes, an UPDATE of one row of a
-- one-row table (its page is already being written by the transaction). Readers only compare numbers, so by how
-- much it rises does not matter. The triggers touch nothing but this table, which the desktop app does not know:
-- its own statements (RETURNING included) see the rows they wrote exactly as without the triggers.
-- Not covered: Downloads (job progress, read only by fields that are never cached) and CivitaiLookups (read by
-- mutations only).

-- CreateTable
CREATE TABLE "CatalogRevision" (
    "Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "Revision" BIGINT NOT NULL,
    "Epoch" TEXT NOT NULL
);

-- Epoch: a random name for this database's line of numbers (a restore starts a new one, src/db/backup.ts).
INSERT INTO "CatalogRevision" ("Id", "Revision", "Epoch") VALUES (1, 1, lower(hex(randomblob(16))));

CREATE TRIGGER "TR_CatalogRevision_Creators_Insert" AFTER INSERT ON "Creators" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_Creators_Update" AFTER UPDATE ON "Creators" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_Creators_Delete" AFTER DELETE ON "Creators" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;

CREATE TRIGGER "TR_CatalogRevision_Models_Insert" AFTER INSERT ON "Models" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_Models_Update" AFTER UPDATE ON "Models" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_Models_Delete" AFTER DELETE ON "Models" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;

CREATE TRIGGER "TR_CatalogRevision_Tags_Insert" AFTER INSERT ON "Tags" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_Tags_Update" AFTER UPDATE ON "Tags" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_Tags_Delete" AFTER DELETE ON "Tags" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;

CREATE TRIGGER "TR_CatalogRevision_ModelTags_Insert" AFTER INSERT ON "ModelTags" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_ModelTags_Update" AFTER UPDATE ON "ModelTags" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_ModelTags_Delete" AFTER DELETE ON "ModelTags" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;

CREATE TRIGGER "TR_CatalogRevision_ModelVersions_Insert" AFTER INSERT ON "ModelVersions" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_ModelVersions_Update" AFTER UPDATE ON "ModelVersions" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_ModelVersions_Delete" AFTER DELETE ON "ModelVersions" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;

CREATE TRIGGER "TR_CatalogRevision_ModelFiles_Insert" AFTER INSERT ON "ModelFiles" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_ModelFiles_Update" AFTER UPDATE ON "ModelFiles" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_ModelFiles_Delete" AFTER DELETE ON "ModelFiles" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;

CREATE TRIGGER "TR_CatalogRevision_ModelImages_Insert" AFTER INSERT ON "ModelImages" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_ModelImages_Update" AFTER UPDATE ON "ModelImages" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_ModelImages_Delete" AFTER DELETE ON "ModelImages" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;

CREATE TRIGGER "TR_CatalogRevision_TriggerWords_Insert" AFTER INSERT ON "TriggerWords" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_TriggerWords_Update" AFTER UPDATE ON "TriggerWords" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_TriggerWords_Delete" AFTER DELETE ON "TriggerWords" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;

CREATE TRIGGER "TR_CatalogRevision_LocalFiles_Insert" AFTER INSERT ON "LocalFiles" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_LocalFiles_Update" AFTER UPDATE ON "LocalFiles" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_LocalFiles_Delete" AFTER DELETE ON "LocalFiles" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;

CREATE TRIGGER "TR_CatalogRevision_ModelPayloads_Insert" AFTER INSERT ON "ModelPayloads" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_ModelPayloads_Update" AFTER UPDATE ON "ModelPayloads" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_ModelPayloads_Delete" AFTER DELETE ON "ModelPayloads" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;

CREATE TRIGGER "TR_CatalogRevision_MetadataChangeSets_Insert" AFTER INSERT ON "MetadataChangeSets" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_MetadataChangeSets_Update" AFTER UPDATE ON "MetadataChangeSets" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_MetadataChangeSets_Delete" AFTER DELETE ON "MetadataChangeSets" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;

CREATE TRIGGER "TR_CatalogRevision_MetadataChanges_Insert" AFTER INSERT ON "MetadataChanges" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_MetadataChanges_Update" AFTER UPDATE ON "MetadataChanges" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;
CREATE TRIGGER "TR_CatalogRevision_MetadataChanges_Delete" AFTER DELETE ON "MetadataChanges" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
END;

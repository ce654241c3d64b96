-- Which models changed at which revision (src/db/catalog-changes.ts, the catalogChanged subscription): one row per
-- model id, kept by the triggers below in the statements that write the catalog, whoever writes (this server, the
-- CLI, the desktop app). One row per model rather than a log of changes: its size is bounded by the catalog (and the
-- deleted models' tombstones) whatever the rate of writes, it needs no pruning, and "what changed since revision R"
-- is one range read on the Revision index. The kind of change follows from the row: Deleted, or CreatedRevision > R
-- (created since R), or else updated.
--
-- Each trigger raises the revision itself before recording it, so the number a row records lies between the
-- revision before its transaction and the one the transaction commits (SQLite does not promise an order between
-- the triggers of one table): a client that saw any earlier revision finds the change, and one that saw the
-- committed revision does not see it again. A model's answer is made of its rows, its versions, files, images,
-- trigger words and tags, and its creator's and tags' names: a write to any of them notes the model.

-- AlterTable
ALTER TABLE "CatalogRevision" ADD COLUMN "ChangesFrom" BIGINT;

-- CreateTable
CREATE TABLE "CatalogModelChanges" (
    "ModelId" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "Revision" BIGINT NOT NULL,
    "CreatedRevision" BIGINT,
    "Deleted" BOOLEAN NOT NULL DEFAULT false
);

-- CreateIndex
CREATE INDEX "IX_CatalogModelChanges_Revision" ON "CatalogModelChanges"("Revision");

CREATE TRIGGER "TR_CatalogModelChanges_Models_Insert" AFTER INSERT ON "Models" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", r."Revision", 0 FROM (SELECT NEW."Id" AS "m") AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision", "CreatedRevision" = excluded."CreatedRevision", "Deleted" = 0;
END;
CREATE TRIGGER "TR_CatalogModelChanges_Models_Update" AFTER UPDATE ON "Models" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT NEW."Id" AS "m" UNION SELECT OLD."Id") AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;
CREATE TRIGGER "TR_CatalogModelChanges_Models_Delete" AFTER DELETE ON "Models" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 1 FROM (SELECT OLD."Id" AS "m") AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision", "Deleted" = 1;
END;

CREATE TRIGGER "TR_CatalogModelChanges_ModelVersions_Insert" AFTER INSERT ON "ModelVersions" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT NEW."ModelId" AS "m") AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;
CREATE TRIGGER "TR_CatalogModelChanges_ModelVersions_Update" AFTER UPDATE ON "ModelVersions" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT NEW."ModelId" AS "m" UNION SELECT OLD."ModelId") AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;
CREATE TRIGGER "TR_CatalogModelChanges_ModelVersions_Delete" AFTER DELETE ON "ModelVersions" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT OLD."ModelId" AS "m") AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;

CREATE TRIGGER "TR_CatalogModelChanges_ModelTags_Insert" AFTER INSERT ON "ModelTags" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT NEW."ModelId" AS "m") AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;
CREATE TRIGGER "TR_CatalogModelChanges_ModelTags_Update" AFTER UPDATE ON "ModelTags" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT NEW."ModelId" AS "m" UNION SELECT OLD."ModelId") AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;
CREATE TRIGGER "TR_CatalogModelChanges_ModelTags_Delete" AFTER DELETE ON "ModelTags" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT OLD."ModelId" AS "m") AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;

CREATE TRIGGER "TR_CatalogModelChanges_ModelFiles_Insert" AFTER INSERT ON "ModelFiles" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT v."ModelId" AS "m" FROM "ModelVersions" AS v WHERE v."Id" IN (NEW."ModelVersionId")) AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;
CREATE TRIGGER "TR_CatalogModelChanges_ModelFiles_Update" AFTER UPDATE ON "ModelFiles" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT v."ModelId" AS "m" FROM "ModelVersions" AS v WHERE v."Id" IN (NEW."ModelVersionId", OLD."ModelVersionId")) AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;
CREATE TRIGGER "TR_CatalogModelChanges_ModelFiles_Delete" AFTER DELETE ON "ModelFiles" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT v."ModelId" AS "m" FROM "ModelVersions" AS v WHERE v."Id" IN (OLD."ModelVersionId")) AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;

CREATE TRIGGER "TR_CatalogModelChanges_ModelImages_Insert" AFTER INSERT ON "ModelImages" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT v."ModelId" AS "m" FROM "ModelVersions" AS v WHERE v."Id" IN (NEW."ModelVersionId")) AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;
CREATE TRIGGER "TR_CatalogModelChanges_ModelImages_Update" AFTER UPDATE ON "ModelImages" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT v."ModelId" AS "m" FROM "ModelVersions" AS v WHERE v."Id" IN (NEW."ModelVersionId", OLD."ModelVersionId")) AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;
CREATE TRIGGER "TR_CatalogModelChanges_ModelImages_Delete" AFTER DELETE ON "ModelImages" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT v."ModelId" AS "m" FROM "ModelVersions" AS v WHERE v."Id" IN (OLD."ModelVersionId")) AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;

CREATE TRIGGER "TR_CatalogModelChanges_TriggerWords_Insert" AFTER INSERT ON "TriggerWords" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT v."ModelId" AS "m" FROM "ModelVersions" AS v WHERE v."Id" IN (NEW."ModelVersionId")) AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;
CREATE TRIGGER "TR_CatalogModelChanges_TriggerWords_Update" AFTER UPDATE ON "TriggerWords" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT v."ModelId" AS "m" FROM "ModelVersions" AS v WHERE v."Id" IN (NEW."ModelVersionId", OLD."ModelVersionId")) AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;
CREATE TRIGGER "TR_CatalogModelChanges_TriggerWords_Delete" AFTER DELETE ON "TriggerWords" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT v."ModelId" AS "m" FROM "ModelVersions" AS v WHERE v."Id" IN (OLD."ModelVersionId")) AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;

-- A creator or tag is shown by name inside its models' answers: renaming one changes them all.
CREATE TRIGGER "TR_CatalogModelChanges_Creators_Update" AFTER UPDATE ON "Creators" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT m."Id" AS "m" FROM "Models" AS m WHERE m."CreatorId" = NEW."Id") AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;
CREATE TRIGGER "TR_CatalogModelChanges_Tags_Update" AFTER UPDATE ON "Tags" BEGIN
  UPDATE "CatalogRevision" SET "Revision" = "Revision" + 1 WHERE "Id" = 1;
  INSERT INTO "CatalogModelChanges" ("ModelId", "Revision", "CreatedRevision", "Deleted")
    SELECT ids."m", r."Revision", NULL, 0 FROM (SELECT mt."ModelId" AS "m" FROM "ModelTags" AS mt WHERE mt."TagId" = NEW."Id") AS ids, "CatalogRevision" AS r WHERE r."Id" = 1 AND ids."m" IS NOT NULL
    ON CONFLICT ("ModelId") DO UPDATE SET "Revision" = excluded."Revision";
END;

-- Changes before this migration were not recorded: a client asking for them is told to reload.
UPDATE "CatalogRevision" SET "ChangesFrom" = "Revision" WHERE "Id" = 1;

-- Hand-written: full-text search, which Prisma cannot model. The search tables are declared external
-- (src/db/external-tables.ts, prisma.config.ts) so Prisma's diff leaves them alone.
--
-- ModelSearch holds one document per model (rowid = Models.Id), built in code (src/resolvers/search/index.ts:
-- HTML stripped, CJK characters split into tokens). Triggers only note which models changed, in ModelSearchDirty,
-- whoever wrote (this server, the CLI, or the desktop app); documents are rebuilt from it after writes and before
-- every search, so the index never serves stale text. The triggers insert only ids not yet listed (NOT EXISTS)
-- instead of relying on INSERT OR IGNORE: inside a foreign-key action (ON DELETE SET NULL), SQLite applies the
-- outer statement's conflict policy and OR IGNORE would fail.

CREATE VIRTUAL TABLE "ModelSearch" USING fts5(
  "name", "tags", "triggerWords", "creator", "fileNames", "versionNames", "baseModels", "description", "prompts",
  tokenize = 'unicode61 remove_diacritics 2'
);
-- bm25 weights per column, in the order above: names count most, generation prompts least.
INSERT INTO "ModelSearch" ("ModelSearch", "rank") VALUES ('rank', 'bm25(10.0, 6.0, 6.0, 4.0, 3.0, 2.0, 2.0, 1.0, 0.3)');

CREATE TABLE "ModelSearchDirty" ("ModelId" INTEGER NOT NULL PRIMARY KEY) WITHOUT ROWID;

-- Every existing model needs a document.
INSERT INTO "ModelSearchDirty" ("ModelId") SELECT "Id" FROM "Models";

CREATE TRIGGER "TR_ModelSearch_Models_Insert" AFTER INSERT ON "Models" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT NEW."Id" WHERE NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" WHERE "ModelId" = NEW."Id");
END;
CREATE TRIGGER "TR_ModelSearch_Models_Update" AFTER UPDATE OF "Name", "Description", "CreatorId" ON "Models" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT NEW."Id" WHERE NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" WHERE "ModelId" = NEW."Id");
END;
CREATE TRIGGER "TR_ModelSearch_Models_Delete" AFTER DELETE ON "Models" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT OLD."Id" WHERE NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" WHERE "ModelId" = OLD."Id");
END;

CREATE TRIGGER "TR_ModelSearch_ModelTags_Insert" AFTER INSERT ON "ModelTags" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT NEW."ModelId" WHERE NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" WHERE "ModelId" = NEW."ModelId");
END;
CREATE TRIGGER "TR_ModelSearch_ModelTags_Delete" AFTER DELETE ON "ModelTags" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT OLD."ModelId" WHERE NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" WHERE "ModelId" = OLD."ModelId");
END;
CREATE TRIGGER "TR_ModelSearch_Tags_Update" AFTER UPDATE OF "Name" ON "Tags" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT src."ModelId" FROM "ModelTags" src WHERE src."TagId" = NEW."Id" AND NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" d WHERE d."ModelId" = src."ModelId");
END;
CREATE TRIGGER "TR_ModelSearch_Creators_Update" AFTER UPDATE OF "Username" ON "Creators" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT src."Id" FROM "Models" src WHERE src."CreatorId" = NEW."Id" AND NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" d WHERE d."ModelId" = src."Id");
END;

CREATE TRIGGER "TR_ModelSearch_ModelVersions_Insert" AFTER INSERT ON "ModelVersions" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT NEW."ModelId" WHERE NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" WHERE "ModelId" = NEW."ModelId");
END;
CREATE TRIGGER "TR_ModelSearch_ModelVersions_Update" AFTER UPDATE OF "Name", "BaseModel", "BaseModelRaw", "ModelId" ON "ModelVersions" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT NEW."ModelId" WHERE NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" WHERE "ModelId" = NEW."ModelId");
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT OLD."ModelId" WHERE NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" WHERE "ModelId" = OLD."ModelId");
END;
CREATE TRIGGER "TR_ModelSearch_ModelVersions_Delete" AFTER DELETE ON "ModelVersions" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT OLD."ModelId" WHERE NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" WHERE "ModelId" = OLD."ModelId");
END;

CREATE TRIGGER "TR_ModelSearch_TriggerWords_Insert" AFTER INSERT ON "TriggerWords" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT src."ModelId" FROM "ModelVersions" src WHERE src."Id" = NEW."ModelVersionId" AND NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" d WHERE d."ModelId" = src."ModelId");
END;
CREATE TRIGGER "TR_ModelSearch_TriggerWords_Update" AFTER UPDATE OF "Word" ON "TriggerWords" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT src."ModelId" FROM "ModelVersions" src WHERE src."Id" = NEW."ModelVersionId" AND NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" d WHERE d."ModelId" = src."ModelId");
END;
CREATE TRIGGER "TR_ModelSearch_TriggerWords_Delete" AFTER DELETE ON "TriggerWords" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT src."ModelId" FROM "ModelVersions" src WHERE src."Id" = OLD."ModelVersionId" AND NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" d WHERE d."ModelId" = src."ModelId");
END;

CREATE TRIGGER "TR_ModelSearch_ModelFiles_Insert" AFTER INSERT ON "ModelFiles" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT src."ModelId" FROM "ModelVersions" src WHERE src."Id" = NEW."ModelVersionId" AND NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" d WHERE d."ModelId" = src."ModelId");
END;
CREATE TRIGGER "TR_ModelSearch_ModelFiles_Update" AFTER UPDATE OF "FileName" ON "ModelFiles" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT src."ModelId" FROM "ModelVersions" src WHERE src."Id" = NEW."ModelVersionId" AND NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" d WHERE d."ModelId" = src."ModelId");
END;
CREATE TRIGGER "TR_ModelSearch_ModelFiles_Delete" AFTER DELETE ON "ModelFiles" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT src."ModelId" FROM "ModelVersions" src WHERE src."Id" = OLD."ModelVersionId" AND NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" d WHERE d."ModelId" = src."ModelId");
END;

CREATE TRIGGER "TR_ModelSearch_ModelImages_Insert" AFTER INSERT ON "ModelImages" WHEN NEW."Prompt" IS NOT NULL BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT src."ModelId" FROM "ModelVersions" src WHERE src."Id" = NEW."ModelVersionId" AND NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" d WHERE d."ModelId" = src."ModelId");
END;
CREATE TRIGGER "TR_ModelSearch_ModelImages_Update" AFTER UPDATE OF "Prompt" ON "ModelImages" BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT src."ModelId" FROM "ModelVersions" src WHERE src."Id" = NEW."ModelVersionId" AND NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" d WHERE d."ModelId" = src."ModelId");
END;
CREATE TRIGGER "TR_ModelSearch_ModelImages_Delete" AFTER DELETE ON "ModelImages" WHEN OLD."Prompt" IS NOT NULL BEGIN
  INSERT INTO "ModelSearchDirty" ("ModelId") SELECT DISTINCT src."ModelId" FROM "ModelVersions" src WHERE src."Id" = OLD."ModelVersionId" AND NOT EXISTS (SELECT 1 FROM "ModelSearchDirty" d WHERE d."ModelId" = src."ModelId");
END;

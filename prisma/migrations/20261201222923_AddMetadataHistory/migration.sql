-- AlterTable
ALTER TABLE "ModelVersions" ADD COLUMN "RemovedFromCivitaiAt" DATETIME;

-- AlterTable
ALTER TABLE "Models" ADD COLUMN "RemovedFromCivitaiAt" DATETIME;

-- CreateTable
CREATE TABLE "ModelPayloads" (
    "Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "ModelId" INTEGER NOT NULL,
    "ContentHash" TEXT NOT NULL,
    "Kind" TEXT NOT NULL,
    "Origin" TEXT NOT NULL,
    "Source" TEXT NOT NULL,
    "FetchedAt" DATETIME NOT NULL,
    "ByteSize" INTEGER NOT NULL,
    "Body" BLOB NOT NULL,
    CONSTRAINT "ModelPayloads_ModelId_fkey" FOREIGN KEY ("ModelId") REFERENCES "Models" ("Id") ON DELETE CASCADE ON UPDATE NO ACTION
);

-- CreateTable
CREATE TABLE "MetadataChangeSets" (
    "Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "ModelId" INTEGER NOT NULL,
    "Source" TEXT NOT NULL,
    "Detail" TEXT,
    "JobId" TEXT,
    "RevertsChangeSetId" INTEGER,
    "CreatedAt" DATETIME NOT NULL,
    CONSTRAINT "MetadataChangeSets_ModelId_fkey" FOREIGN KEY ("ModelId") REFERENCES "Models" ("Id") ON DELETE CASCADE ON UPDATE NO ACTION
);

-- CreateTable
CREATE TABLE "MetadataChanges" (
    "Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "ChangeSetId" INTEGER NOT NULL,
    "Entity" TEXT NOT NULL,
    "EntityId" INTEGER NOT NULL,
    "Field" TEXT NOT NULL,
    "OldValue" TEXT,
    "NewValue" TEXT,
    CONSTRAINT "MetadataChanges_ChangeSetId_fkey" FOREIGN KEY ("ChangeSetId") REFERENCES "MetadataChangeSets" ("Id") ON DELETE CASCADE ON UPDATE NO ACTION
);

-- CreateIndex
CREATE UNIQUE INDEX "IX_ModelPayloads_ModelId_ContentHash" ON "ModelPayloads"("ModelId", "ContentHash");

-- CreateIndex
CREATE INDEX "IX_MetadataChangeSets_ModelId_Id" ON "MetadataChangeSets"("ModelId", "Id");

-- CreateIndex
CREATE INDEX "IX_MetadataChanges_ChangeSetId" ON "MetadataChanges"("ChangeSetId");

-- CreateTable
CREATE TABLE "LocalFiles" (
    "Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "Path" TEXT NOT NULL,
    "Size" BIGINT NOT NULL,
    "MtimeMs" REAL NOT NULL,
    "HashSHA256" TEXT,
    "HashAutoV1" TEXT,
    "HashAutoV2" TEXT,
    "HashAutoV3" TEXT,
    "HashCRC32" TEXT,
    "HashBLAKE3" TEXT,
    "HashedAt" DATETIME,
    "FirstSeenAt" DATETIME NOT NULL,
    "LastSeenAt" DATETIME NOT NULL,
    "MissingSince" DATETIME,
    "SidecarMtimeMs" REAL,
    "PreviewMtimeMs" REAL,
    "ModelFileId" INTEGER,
    CONSTRAINT "LocalFiles_ModelFileId_fkey" FOREIGN KEY ("ModelFileId") REFERENCES "ModelFiles" ("Id") ON DELETE SET NULL ON UPDATE NO ACTION
);

-- CreateIndex
CREATE UNIQUE INDEX "IX_LocalFiles_Path" ON "LocalFiles"("Path");

-- CreateIndex
CREATE INDEX "IX_LocalFiles_HashSHA256" ON "LocalFiles"("HashSHA256");

-- CreateIndex
CREATE INDEX "IX_LocalFiles_Size_HashSHA256" ON "LocalFiles"("Size", "HashSHA256");

-- CreateIndex
CREATE INDEX "IX_LocalFiles_ModelFileId" ON "LocalFiles"("ModelFileId");

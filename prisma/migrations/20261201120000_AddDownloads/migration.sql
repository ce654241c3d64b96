-- CreateTable
CREATE TABLE "Downloads" (
    "Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "State" TEXT NOT NULL,
    "VersionCivitaiId" INTEGER NOT NULL,
    "FileCivitaiId" INTEGER,
    "ModelFileId" INTEGER,
    "TargetDir" TEXT NOT NULL,
    "FileName" TEXT,
    "PartPath" TEXT,
    "LocalPath" TEXT,
    "AlreadyPresent" BOOLEAN NOT NULL,
    "Sidecars" BOOLEAN NOT NULL,
    "ExpectedSHA256" TEXT,
    "ActualSHA256" TEXT,
    "TotalBytes" BIGINT,
    "ReceivedBytes" BIGINT NOT NULL,
    "ETag" TEXT,
    "Attempts" INTEGER NOT NULL,
    "ErrorCode" TEXT,
    "ErrorMessage" TEXT,
    "LeaseOwner" TEXT,
    "LeaseUntil" DATETIME,
    "CreatedAt" DATETIME NOT NULL,
    "UpdatedAt" DATETIME NOT NULL,
    "StartedAt" DATETIME,
    "FinishedAt" DATETIME,
    CONSTRAINT "Downloads_ModelFileId_fkey" FOREIGN KEY ("ModelFileId") REFERENCES "ModelFiles" ("Id") ON DELETE SET NULL ON UPDATE NO ACTION
);

-- CreateIndex
CREATE INDEX "IX_Downloads_State" ON "Downloads"("State");

-- CreateIndex
CREATE INDEX "IX_Downloads_ModelFileId" ON "Downloads"("ModelFileId");

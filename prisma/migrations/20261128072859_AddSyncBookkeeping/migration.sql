-- AlterTable
ALTER TABLE "Models" ADD COLUMN "UserEditedFields" TEXT;

-- CreateTable
CREATE TABLE "CivitaiLookups" (
    "Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "Kind" TEXT NOT NULL,
    "Key" TEXT NOT NULL,
    "Status" TEXT NOT NULL,
    "Message" TEXT,
    "CheckedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "IX_CivitaiLookups_Kind_Key" ON "CivitaiLookups"("Kind", "Key");

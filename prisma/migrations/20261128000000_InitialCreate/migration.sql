-- CreateTable
CREATE TABLE "Creators" (
    "Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "Username" TEXT NOT NULL,
    "AvatarUrl" TEXT,
    "CreatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Models" (
    "Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "CivitaiId" INTEGER,
    "Name" TEXT NOT NULL,
    "Description" TEXT,
    "Type" TEXT NOT NULL,
    "IsNsfw" BOOLEAN NOT NULL,
    "IsPoi" BOOLEAN NOT NULL,
    "Mode" TEXT NOT NULL,
    "Source" TEXT NOT NULL,
    "CreatedAt" DATETIME NOT NULL,
    "UpdatedAt" DATETIME NOT NULL,
    "LastSyncedAt" DATETIME,
    "AllowNoCredit" BOOLEAN NOT NULL,
    "AllowCommercialUse" TEXT NOT NULL,
    "AllowDerivatives" BOOLEAN NOT NULL,
    "AllowDifferentLicense" BOOLEAN NOT NULL,
    "CreatorId" INTEGER,
    CONSTRAINT "Models_CreatorId_fkey" FOREIGN KEY ("CreatorId") REFERENCES "Creators" ("Id") ON DELETE SET NULL ON UPDATE NO ACTION
);

-- CreateTable
CREATE TABLE "ModelVersions" (
    "Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "CivitaiId" INTEGER,
    "ModelId" INTEGER NOT NULL,
    "Name" TEXT NOT NULL,
    "Description" TEXT,
    "BaseModel" TEXT NOT NULL,
    "BaseModelRaw" TEXT,
    "CreatedAt" DATETIME NOT NULL,
    "UpdatedAt" DATETIME,
    "PublishedAt" DATETIME,
    "DownloadUrl" TEXT,
    "EarlyAccessDays" INTEGER NOT NULL,
    "DownloadCount" INTEGER NOT NULL,
    "RatingCount" INTEGER NOT NULL,
    "Rating" REAL NOT NULL,
    "ThumbsUpCount" INTEGER NOT NULL,
    "ThumbsDownCount" INTEGER NOT NULL,
    CONSTRAINT "ModelVersions_ModelId_fkey" FOREIGN KEY ("ModelId") REFERENCES "Models" ("Id") ON DELETE CASCADE ON UPDATE NO ACTION
);

-- CreateTable
CREATE TABLE "ModelFiles" (
    "Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "CivitaiId" INTEGER,
    "ModelVersionId" INTEGER NOT NULL,
    "FileName" TEXT NOT NULL,
    "SizeKB" REAL NOT NULL,
    "FileType" TEXT NOT NULL,
    "IsPrimary" BOOLEAN NOT NULL,
    "Format" TEXT NOT NULL,
    "Precision" TEXT NOT NULL,
    "SizeType" TEXT NOT NULL,
    "DownloadUrl" TEXT,
    "PickleScanResult" TEXT NOT NULL,
    "PickleScanMessage" TEXT,
    "VirusScanResult" TEXT NOT NULL,
    "ScannedAt" DATETIME,
    "HashAutoV1" TEXT,
    "HashAutoV2" TEXT,
    "HashSHA256" TEXT,
    "HashCRC32" TEXT,
    "HashBLAKE3" TEXT,
    "LocalPath" TEXT,
    "IsLocalFileValid" BOOLEAN NOT NULL,
    "LocalFileVerifiedAt" DATETIME,
    CONSTRAINT "ModelFiles_ModelVersionId_fkey" FOREIGN KEY ("ModelVersionId") REFERENCES "ModelVersions" ("Id") ON DELETE CASCADE ON UPDATE NO ACTION
);

-- CreateTable
CREATE TABLE "ModelImages" (
    "Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "CivitaiId" INTEGER,
    "ModelVersionId" INTEGER NOT NULL,
    "Url" TEXT NOT NULL,
    "IsNsfw" BOOLEAN NOT NULL,
    "NsfwLevel" TEXT NOT NULL,
    "Width" INTEGER NOT NULL,
    "Height" INTEGER NOT NULL,
    "BlurHash" TEXT,
    "SortOrder" INTEGER NOT NULL,
    "CreatedAt" DATETIME,
    "PostId" INTEGER,
    "Username" TEXT,
    "ThumbnailData" BLOB,
    "ThumbnailMimeType" TEXT,
    "ThumbnailWidth" INTEGER,
    "ThumbnailHeight" INTEGER,
    "LocalCachePath" TEXT,
    "IsLocalCacheValid" BOOLEAN NOT NULL,
    "CachedAt" DATETIME,
    "CachedFileSize" BIGINT,
    "Prompt" TEXT,
    "NegativePrompt" TEXT,
    "Seed" BIGINT,
    "Steps" INTEGER,
    "Sampler" TEXT,
    "CfgScale" REAL,
    "GenerationModel" TEXT,
    "DenoisingStrength" REAL,
    "LikeCount" INTEGER NOT NULL,
    "HeartCount" INTEGER NOT NULL,
    "CommentCount" INTEGER NOT NULL,
    CONSTRAINT "ModelImages_ModelVersionId_fkey" FOREIGN KEY ("ModelVersionId") REFERENCES "ModelVersions" ("Id") ON DELETE CASCADE ON UPDATE NO ACTION
);

-- CreateTable
CREATE TABLE "Tags" (
    "Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "Name" TEXT NOT NULL,
    "NormalizedName" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "ModelTags" (
    "ModelId" INTEGER NOT NULL,
    "TagId" INTEGER NOT NULL,

    PRIMARY KEY ("ModelId", "TagId"),
    CONSTRAINT "ModelTags_ModelId_fkey" FOREIGN KEY ("ModelId") REFERENCES "Models" ("Id") ON DELETE CASCADE ON UPDATE NO ACTION,
    CONSTRAINT "ModelTags_TagId_fkey" FOREIGN KEY ("TagId") REFERENCES "Tags" ("Id") ON DELETE CASCADE ON UPDATE NO ACTION
);

-- CreateTable
CREATE TABLE "TriggerWords" (
    "Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "ModelVersionId" INTEGER NOT NULL,
    "Word" TEXT NOT NULL,
    "Order" INTEGER NOT NULL,
    CONSTRAINT "TriggerWords_ModelVersionId_fkey" FOREIGN KEY ("ModelVersionId") REFERENCES "ModelVersions" ("Id") ON DELETE CASCADE ON UPDATE NO ACTION
);

-- CreateIndex
CREATE UNIQUE INDEX "IX_Creators_Username" ON "Creators"("Username");

-- CreateIndex
CREATE UNIQUE INDEX "IX_Models_CivitaiId" ON "Models"("CivitaiId");

-- CreateIndex
CREATE INDEX "IX_Models_Name" ON "Models"("Name");

-- CreateIndex
CREATE INDEX "IX_Models_Type" ON "Models"("Type");

-- CreateIndex
CREATE INDEX "IX_Models_CreatedAt" ON "Models"("CreatedAt");

-- CreateIndex
CREATE INDEX "IX_Models_CreatorId" ON "Models"("CreatorId");

-- CreateIndex
CREATE UNIQUE INDEX "IX_ModelVersions_CivitaiId" ON "ModelVersions"("CivitaiId");

-- CreateIndex
CREATE INDEX "IX_ModelVersions_ModelId" ON "ModelVersions"("ModelId");

-- CreateIndex
CREATE INDEX "IX_ModelVersions_BaseModel" ON "ModelVersions"("BaseModel");

-- CreateIndex
CREATE INDEX "IX_ModelVersions_CreatedAt" ON "ModelVersions"("CreatedAt");

-- CreateIndex
CREATE INDEX "IX_ModelFiles_CivitaiId" ON "ModelFiles"("CivitaiId");

-- CreateIndex
CREATE INDEX "IX_ModelFiles_ModelVersionId" ON "ModelFiles"("ModelVersionId");

-- CreateIndex
CREATE INDEX "IX_ModelFiles_HashSHA256" ON "ModelFiles"("HashSHA256");

-- CreateIndex
CREATE INDEX "IX_ModelFiles_LocalPath" ON "ModelFiles"("LocalPath");

-- CreateIndex
CREATE INDEX "IX_ModelImages_CivitaiId" ON "ModelImages"("CivitaiId");

-- CreateIndex
CREATE INDEX "IX_ModelImages_ModelVersionId" ON "ModelImages"("ModelVersionId");

-- CreateIndex
CREATE INDEX "IX_ModelImages_ModelVersionId_SortOrder" ON "ModelImages"("ModelVersionId", "SortOrder");

-- CreateIndex
CREATE UNIQUE INDEX "IX_Tags_NormalizedName" ON "Tags"("NormalizedName");

-- CreateIndex
CREATE INDEX "IX_ModelTags_TagId" ON "ModelTags"("TagId");

-- CreateIndex
CREATE INDEX "IX_TriggerWords_ModelVersionId" ON "TriggerWords"("ModelVersionId");

-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Creators" (
    "Id" SERIAL NOT NULL,
    "Username" TEXT NOT NULL,
    "AvatarUrl" TEXT,
    "CreatedAt" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "Creators_pkey" PRIMARY KEY ("Id")
);

-- CreateTable
CREATE TABLE "Models" (
    "Id" SERIAL NOT NULL,
    "CivitaiId" INTEGER,
    "Name" TEXT NOT NULL,
    "Description" TEXT,
    "Type" TEXT NOT NULL,
    "IsNsfw" BOOLEAN NOT NULL,
    "IsPoi" BOOLEAN NOT NULL,
    "Mode" TEXT NOT NULL,
    "Source" TEXT NOT NULL,
    "CreatedAt" TIMESTAMPTZ(6) NOT NULL,
    "UpdatedAt" TIMESTAMPTZ(6) NOT NULL,
    "LastSyncedAt" TIMESTAMPTZ(6),
    "AllowNoCredit" BOOLEAN NOT NULL,
    "AllowCommercialUse" TEXT NOT NULL,
    "AllowDerivatives" BOOLEAN NOT NULL,
    "AllowDifferentLicense" BOOLEAN NOT NULL,
    "CreatorId" INTEGER,
    "UserEditedFields" TEXT,
    "IgnoreUpdates" BOOLEAN,
    "RemovedFromCivitaiAt" TIMESTAMPTZ(6),

    CONSTRAINT "Models_pkey" PRIMARY KEY ("Id")
);

-- CreateTable
CREATE TABLE "ModelVersions" (
    "Id" SERIAL NOT NULL,
    "CivitaiId" INTEGER,
    "ModelId" INTEGER NOT NULL,
    "Name" TEXT NOT NULL,
    "Description" TEXT,
    "BaseModel" TEXT NOT NULL,
    "BaseModelRaw" TEXT,
    "CreatedAt" TIMESTAMPTZ(6) NOT NULL,
    "UpdatedAt" TIMESTAMPTZ(6),
    "PublishedAt" TIMESTAMPTZ(6),
    "DownloadUrl" TEXT,
    "EarlyAccessDays" INTEGER NOT NULL,
    "DownloadCount" INTEGER NOT NULL,
    "RatingCount" INTEGER NOT NULL,
    "Rating" DOUBLE PRECISION NOT NULL,
    "ThumbsUpCount" INTEGER NOT NULL,
    "ThumbsDownCount" INTEGER NOT NULL,
    "RemovedFromCivitaiAt" TIMESTAMPTZ(6),

    CONSTRAINT "ModelVersions_pkey" PRIMARY KEY ("Id")
);

-- CreateTable
CREATE TABLE "ModelFiles" (
    "Id" SERIAL NOT NULL,
    "CivitaiId" INTEGER,
    "ModelVersionId" INTEGER NOT NULL,
    "FileName" TEXT NOT NULL,
    "SizeKB" DOUBLE PRECISION NOT NULL,
    "FileType" TEXT NOT NULL,
    "IsPrimary" BOOLEAN NOT NULL,
    "Format" TEXT NOT NULL,
    "Precision" TEXT NOT NULL,
    "SizeType" TEXT NOT NULL,
    "DownloadUrl" TEXT,
    "PickleScanResult" TEXT NOT NULL,
    "PickleScanMessage" TEXT,
    "VirusScanResult" TEXT NOT NULL,
    "ScannedAt" TIMESTAMPTZ(6),
    "HashAutoV1" TEXT,
    "HashAutoV2" TEXT,
    "HashSHA256" TEXT,
    "HashCRC32" TEXT,
    "HashBLAKE3" TEXT,
    "HashAutoV3" TEXT,
    "LocalPath" TEXT,
    "IsLocalFileValid" BOOLEAN NOT NULL,
    "LocalFileVerifiedAt" TIMESTAMPTZ(6),

    CONSTRAINT "ModelFiles_pkey" PRIMARY KEY ("Id")
);

-- CreateTable
CREATE TABLE "ModelImages" (
    "Id" SERIAL NOT NULL,
    "CivitaiId" INTEGER,
    "ModelVersionId" INTEGER NOT NULL,
    "Url" TEXT NOT NULL,
    "IsNsfw" BOOLEAN NOT NULL,
    "NsfwLevel" TEXT NOT NULL,
    "Width" INTEGER NOT NULL,
    "Height" INTEGER NOT NULL,
    "BlurHash" TEXT,
    "SortOrder" INTEGER NOT NULL,
    "CreatedAt" TIMESTAMPTZ(6),
    "PostId" INTEGER,
    "Username" TEXT,
    "ThumbnailData" BYTEA,
    "ThumbnailMimeType" TEXT,
    "ThumbnailWidth" INTEGER,
    "ThumbnailHeight" INTEGER,
    "LocalCachePath" TEXT,
    "IsLocalCacheValid" BOOLEAN NOT NULL,
    "CachedAt" TIMESTAMPTZ(6),
    "CachedFileSize" BIGINT,
    "Prompt" TEXT,
    "NegativePrompt" TEXT,
    "Seed" BIGINT,
    "Steps" INTEGER,
    "Sampler" TEXT,
    "CfgScale" DOUBLE PRECISION,
    "GenerationModel" TEXT,
    "DenoisingStrength" DOUBLE PRECISION,
    "LikeCount" INTEGER NOT NULL,
    "HeartCount" INTEGER NOT NULL,
    "CommentCount" INTEGER NOT NULL,

    CONSTRAINT "ModelImages_pkey" PRIMARY KEY ("Id")
);

-- CreateTable
CREATE TABLE "Tags" (
    "Id" SERIAL NOT NULL,
    "Name" TEXT NOT NULL,
    "NormalizedName" TEXT NOT NULL,

    CONSTRAINT "Tags_pkey" PRIMARY KEY ("Id")
);

-- CreateTable
CREATE TABLE "ModelTags" (
    "ModelId" INTEGER NOT NULL,
    "TagId" INTEGER NOT NULL,

    CONSTRAINT "ModelTags_pkey" PRIMARY KEY ("ModelId","TagId")
);

-- CreateTable
CREATE TABLE "TriggerWords" (
    "Id" SERIAL NOT NULL,
    "ModelVersionId" INTEGER NOT NULL,
    "Word" TEXT NOT NULL,
    "Order" INTEGER NOT NULL,

    CONSTRAINT "TriggerWords_pkey" PRIMARY KEY ("Id")
);

-- CreateTable
CREATE TABLE "CivitaiLookups" (
    "Id" SERIAL NOT NULL,
    "Kind" TEXT NOT NULL,
    "Key" TEXT NOT NULL,
    "Status" TEXT NOT NULL,
    "Message" TEXT,
    "CheckedAt" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "CivitaiLookups_pkey" PRIMARY KEY ("Id")
);

-- CreateTable
CREATE TABLE "LocalFiles" (
    "Id" SERIAL NOT NULL,
    "Path" TEXT NOT NULL,
    "Size" BIGINT NOT NULL,
    "MtimeMs" DOUBLE PRECISION NOT NULL,
    "HashSHA256" TEXT,
    "HashAutoV1" TEXT,
    "HashAutoV2" TEXT,
    "HashAutoV3" TEXT,
    "HashCRC32" TEXT,
    "HashBLAKE3" TEXT,
    "HashedAt" TIMESTAMPTZ(6),
    "FirstSeenAt" TIMESTAMPTZ(6) NOT NULL,
    "LastSeenAt" TIMESTAMPTZ(6) NOT NULL,
    "MissingSince" TIMESTAMPTZ(6),
    "SidecarMtimeMs" DOUBLE PRECISION,
    "PreviewMtimeMs" DOUBLE PRECISION,
    "ModelFileId" INTEGER,

    CONSTRAINT "LocalFiles_pkey" PRIMARY KEY ("Id")
);

-- CreateTable
CREATE TABLE "ModelPayloads" (
    "Id" SERIAL NOT NULL,
    "ModelId" INTEGER NOT NULL,
    "ContentHash" TEXT NOT NULL,
    "Kind" TEXT NOT NULL,
    "Origin" TEXT NOT NULL,
    "Source" TEXT NOT NULL,
    "FetchedAt" TIMESTAMPTZ(6) NOT NULL,
    "ByteSize" INTEGER NOT NULL,
    "Body" BYTEA NOT NULL,

    CONSTRAINT "ModelPayloads_pkey" PRIMARY KEY ("Id")
);

-- CreateTable
CREATE TABLE "MetadataChangeSets" (
    "Id" SERIAL NOT NULL,
    "ModelId" INTEGER NOT NULL,
    "Source" TEXT NOT NULL,
    "Detail" TEXT,
    "JobId" TEXT,
    "RevertsChangeSetId" INTEGER,
    "CreatedAt" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "MetadataChangeSets_pkey" PRIMARY KEY ("Id")
);

-- CreateTable
CREATE TABLE "MetadataChanges" (
    "Id" SERIAL NOT NULL,
    "ChangeSetId" INTEGER NOT NULL,
    "Entity" TEXT NOT NULL,
    "EntityId" INTEGER NOT NULL,
    "Field" TEXT NOT NULL,
    "OldValue" TEXT,
    "NewValue" TEXT,

    CONSTRAINT "MetadataChanges_pkey" PRIMARY KEY ("Id")
);

-- CreateTable
CREATE TABLE "Downloads" (
    "Id" SERIAL NOT NULL,
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
    "LeaseUntil" TIMESTAMPTZ(6),
    "CreatedAt" TIMESTAMPTZ(6) NOT NULL,
    "UpdatedAt" TIMESTAMPTZ(6) NOT NULL,
    "StartedAt" TIMESTAMPTZ(6),
    "FinishedAt" TIMESTAMPTZ(6),

    CONSTRAINT "Downloads_pkey" PRIMARY KEY ("Id")
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

-- CreateIndex
CREATE UNIQUE INDEX "IX_CivitaiLookups_Kind_Key" ON "CivitaiLookups"("Kind", "Key");

-- CreateIndex
CREATE UNIQUE INDEX "IX_LocalFiles_Path" ON "LocalFiles"("Path");

-- CreateIndex
CREATE INDEX "IX_LocalFiles_HashSHA256" ON "LocalFiles"("HashSHA256");

-- CreateIndex
CREATE INDEX "IX_LocalFiles_Size_HashSHA256" ON "LocalFiles"("Size", "HashSHA256");

-- CreateIndex
CREATE INDEX "IX_LocalFiles_ModelFileId" ON "LocalFiles"("ModelFileId");

-- CreateIndex
CREATE UNIQUE INDEX "IX_ModelPayloads_ModelId_ContentHash" ON "ModelPayloads"("ModelId", "ContentHash");

-- CreateIndex
CREATE INDEX "IX_MetadataChangeSets_ModelId_Id" ON "MetadataChangeSets"("ModelId", "Id");

-- CreateIndex
CREATE INDEX "IX_MetadataChanges_ChangeSetId" ON "MetadataChanges"("ChangeSetId");

-- CreateIndex
CREATE INDEX "IX_Downloads_State" ON "Downloads"("State");

-- CreateIndex
CREATE INDEX "IX_Downloads_ModelFileId" ON "Downloads"("ModelFileId");

-- AddForeignKey
ALTER TABLE "Models" ADD CONSTRAINT "Models_CreatorId_fkey" FOREIGN KEY ("CreatorId") REFERENCES "Creators"("Id") ON DELETE SET NULL ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "ModelVersions" ADD CONSTRAINT "ModelVersions_ModelId_fkey" FOREIGN KEY ("ModelId") REFERENCES "Models"("Id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "ModelFiles" ADD CONSTRAINT "ModelFiles_ModelVersionId_fkey" FOREIGN KEY ("ModelVersionId") REFERENCES "ModelVersions"("Id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "ModelImages" ADD CONSTRAINT "ModelImages_ModelVersionId_fkey" FOREIGN KEY ("ModelVersionId") REFERENCES "ModelVersions"("Id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "ModelTags" ADD CONSTRAINT "ModelTags_ModelId_fkey" FOREIGN KEY ("ModelId") REFERENCES "Models"("Id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "ModelTags" ADD CONSTRAINT "ModelTags_TagId_fkey" FOREIGN KEY ("TagId") REFERENCES "Tags"("Id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "TriggerWords" ADD CONSTRAINT "TriggerWords_ModelVersionId_fkey" FOREIGN KEY ("ModelVersionId") REFERENCES "ModelVersions"("Id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "LocalFiles" ADD CONSTRAINT "LocalFiles_ModelFileId_fkey" FOREIGN KEY ("ModelFileId") REFERENCES "ModelFiles"("Id") ON DELETE SET NULL ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "ModelPayloads" ADD CONSTRAINT "ModelPayloads_ModelId_fkey" FOREIGN KEY ("ModelId") REFERENCES "Models"("Id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "MetadataChangeSets" ADD CONSTRAINT "MetadataChangeSets_ModelId_fkey" FOREIGN KEY ("ModelId") REFERENCES "Models"("Id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "MetadataChanges" ADD CONSTRAINT "MetadataChanges_ChangeSetId_fkey" FOREIGN KEY ("ChangeSetId") REFERENCES "MetadataChangeSets"("Id") ON DELETE CASCADE ON UPDATE NO ACTION;

-- AddForeignKey
ALTER TABLE "Downloads" ADD CONSTRAINT "Downloads_ModelFileId_fkey" FOREIGN KEY ("ModelFileId") REFERENCES "ModelFiles"("Id") ON DELETE SET NULL ON UPDATE NO ACTION;

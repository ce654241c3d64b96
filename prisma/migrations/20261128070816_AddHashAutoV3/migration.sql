-- AlterTable
ALTER TABLE "ModelFiles" ADD COLUMN "HashAutoV3" TEXT;

-- Hand-written: Civitai shows AutoV3 as its first 12 hex digits, so look-ups match on that prefix, case-insensitively.
CREATE INDEX "IX_ModelFiles_HashAutoV3_Prefix" ON "ModelFiles"(upper(substr("HashAutoV3", 1, 12)));

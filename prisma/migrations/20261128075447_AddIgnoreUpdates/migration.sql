-- AlterTable
ALTER TABLE "Models" ADD COLUMN "IgnoreUpdates" BOOLEAN;

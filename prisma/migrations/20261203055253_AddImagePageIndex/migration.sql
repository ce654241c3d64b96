-- A version's image page with its thumbnail facts, read from the index: the three thumbnail columns follow the
-- thumbnail BLOB in the row, and reading them from the row walks the BLOB's overflow pages (a 16 KiB thumbnail: four).
-- CreateIndex
CREATE INDEX "IX_ModelImages_VersionPage" ON "ModelImages"("ModelVersionId", "SortOrder", "Id", "ThumbnailWidth", "ThumbnailHeight", "ThumbnailMimeType");

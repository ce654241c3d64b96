-- Hand-written: the counterpart of the SQLite migration AddImagePageIndex (the image page of a version with its
-- thumbnail facts, read from the index). PostgreSQL keeps large values out of line and gains less from it, but the
-- two engines keep the same indexes.
CREATE INDEX "IX_ModelImages_VersionPage" ON "ModelImages"("ModelVersionId", "SortOrder", "Id", "ThumbnailWidth", "ThumbnailHeight", "ThumbnailMimeType");

-- The revision rises once per row written, not twice: where a CatalogModelChanges trigger (AddCatalogModelChanges)
-- fires on the same table and operation, it raises the revision itself before recording the change, so the
-- AddCatalogRevision trigger beside it only repeated that UPDATE (a third of the triggers' statements on an import).
-- Creators and Tags keep their insert and delete triggers, which no change trigger replaces; so do LocalFiles, the
-- payloads and the history, which name no model.

DROP TRIGGER "TR_CatalogRevision_Models_Insert";
DROP TRIGGER "TR_CatalogRevision_Models_Update";
DROP TRIGGER "TR_CatalogRevision_Models_Delete";
DROP TRIGGER "TR_CatalogRevision_ModelVersions_Insert";
DROP TRIGGER "TR_CatalogRevision_ModelVersions_Update";
DROP TRIGGER "TR_CatalogRevision_ModelVersions_Delete";
DROP TRIGGER "TR_CatalogRevision_ModelTags_Insert";
DROP TRIGGER "TR_CatalogRevision_ModelTags_Update";
DROP TRIGGER "TR_CatalogRevision_ModelTags_Delete";
DROP TRIGGER "TR_CatalogRevision_ModelFiles_Insert";
DROP TRIGGER "TR_CatalogRevision_ModelFiles_Update";
DROP TRIGGER "TR_CatalogRevision_ModelFiles_Delete";
DROP TRIGGER "TR_CatalogRevision_ModelImages_Insert";
DROP TRIGGER "TR_CatalogRevision_ModelImages_Update";
DROP TRIGGER "TR_CatalogRevision_ModelImages_Delete";
DROP TRIGGER "TR_CatalogRevision_TriggerWords_Insert";
DROP TRIGGER "TR_CatalogRevision_TriggerWords_Update";
DROP TRIGGER "TR_CatalogRevision_TriggerWords_Delete";
DROP TRIGGER "TR_CatalogRevision_Creators_Update";
DROP TRIGGER "TR_CatalogRevision_Tags_Update";

/** `payloads export <modelId> <dir>`: the raw payloads archived for a model, as JSON files (src/history). */
import { AppError } from '../../errors.ts';
import { openCatalogForCli } from '../catalog.ts';
import { DATA_DIR_OPTION, defineCommand, usageError } from '../command.ts';

export const payloadsCommand = defineCommand({
  name: 'payloads',
  summary: 'Export the raw Civitai payloads archived for a model, one JSON file each.',
  forms: ['export <modelId> <dir>'],
  options: {
    civitai: {
      type: 'boolean',
      description: '<modelId> is a Civitai model id.',
      byDefault: "off: <modelId> is the catalog's id (databaseId)",
    },
    ...DATA_DIR_OPTION,
  },
  async run({ values, positionals }, io) {
    const [action, idText, dir, ...extra] = positionals;
    if (action !== 'export' || !idText || !dir || extra.length > 0)
      throw usageError('Use: payloads export <modelId> <dir>.', payloadsCommand);
    const id = Number(idText);
    if (!/^\d{1,10}$/.test(idText) || !Number.isSafeInteger(id) || id <= 0)
      throw usageError(`<modelId> must be a positive integer, got "${idText}".`, payloadsCommand);
    const [{ modelIdFor }, { exportModelPayloads }] = await Promise.all([
      import('../../db/tables/metadata-history.ts'),
      import('../../history/payload-archive.ts'),
    ]);
    const db = await openCatalogForCli(values, io, { existing: true });
    try {
      const byCivitaiId = values.civitai ?? false;
      const modelId = await modelIdFor(db.kysely, id, byCivitaiId);
      if (modelId === null)
        throw new AppError(
          'NOT_FOUND',
          `No model with ${byCivitaiId ? 'Civitai' : 'catalog'} id ${id} in the catalog.`,
        );
      const exported = await exportModelPayloads(db.kysely, modelId, dir);
      for (const file of exported) io.out(`${file.written ? 'wrote' : 'kept '} ${file.file} (${file.bytes} bytes)`);
      io.out(
        `${exported.length} payload(s) of model ${modelId}: ${exported.filter((f) => f.written).length} written, ` +
          `${exported.filter((f) => !f.written).length} already there`,
      );
      return 0;
    } finally {
      await db.close();
    }
  },
});

/**
 * `transfer --to URL [--from URL]`: moves a whole catalog between SQLite and PostgreSQL (src/db/transfer/), then
 * prints what it copied per table with the checksum both sides agreed on.
 */
import { resolveDatabaseTarget, parsePositiveInt, type DatabaseTarget } from '../../config.ts';
// Light (no driver, no data layer): the defaults --help shows.
import { DEFAULT_BATCH_ROWS, MAX_BATCH_ROWS } from '../../db/transfer/side.ts';
import type { TransferProgress, TransferResult } from '../../db/transfer/transfer.ts';
import { defineCommand, namedPath, usageError, type CliIo } from '../command.ts';
import { createProgressBar, type ProgressBar } from '../progress.ts';

const PHASE_LABELS: Record<TransferProgress['phase'], string> = { copy: 'copy  ', verify: 'verify', index: 'index ' };

/** A bar per phase (copy, verify, then the search index) on a terminal; nothing otherwise. */
export function transferProgress(): { onProgress: (p: TransferProgress) => void; finish: () => void } {
  let bar: ProgressBar | null = null;
  let phase: TransferProgress['phase'] | null = null;
  return {
    onProgress(p) {
      if (phase !== p.phase) {
        bar?.finish();
        bar = createProgressBar(p.total, PHASE_LABELS[p.phase]);
        phase = p.phase;
      }
      bar!.update(p.done, p.table);
    },
    finish: () => bar?.finish(),
  };
}

/** The per-table summary: rows and the checksum the source and the target agreed on. */
export function printTransferSummary(io: CliIo, result: TransferResult): void {
  const width = Math.max(...result.tables.map((t) => t.table.length));
  const rowsWidth = Math.max(4, ...result.tables.map((t) => String(t.rows).length));
  io.out(`${'table'.padEnd(width)}  ${'rows'.padStart(rowsWidth)}  checksum (sha-256, source = target)`);
  for (const t of result.tables)
    io.out(`${t.table.padEnd(width)}  ${String(t.rows).padStart(rowsWidth)}  ${t.checksum.slice(0, 16)}  ok`);
  if (result.leftBehind.length > 0)
    io.out(`not copied (not part of the catalog; the desktop app's own): ${result.leftBehind.join(', ')}`);
}

export const transferCommand = defineCommand({
  name: 'transfer',
  summary:
    'Copy a whole catalog between SQLite and PostgreSQL into an empty target, then check row counts and checksums.',
  forms: [''],
  options: {
    to: {
      type: 'string',
      value: 'URL',
      description:
        "The empty catalog to fill: postgres://user@host:port/db, or file:PATH for a new SQLite file (file: alone: the data folder's).",
      byDefault: 'none: required',
    },
    from: {
      type: 'string',
      value: 'URL',
      description: 'The catalog to copy: file:PATH (SQLite) or postgres://user@host:port/db.',
      byDefault: 'the SQLite catalog in the data folder (--data-dir)',
    },
    'batch-size': {
      type: 'string',
      value: 'N',
      description: 'Rows read and written at a time at most (fewer when rows are large), so memory stays bounded.',
      byDefault: String(DEFAULT_BATCH_ROWS),
    },
    'data-dir': {
      type: 'string',
      value: 'DIR',
      description: 'The folder whose catalog (Diffusion_Nexus-core.db) is the source, or the target with --to file:.',
      byDefault: "DIFFUSION_NEXUS_DATA_DIR, else the platform's app-data folder + DiffusionNexus/Data (see README)",
    },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw usageError('transfer takes no arguments, only options.', transferCommand);
    if (values.to === undefined) throw usageError('Name the target with --to URL.', transferCommand);
    const batchRows = parsePositiveInt(values['batch-size'], '--batch-size', DEFAULT_BATCH_ROWS);
    if (batchRows > MAX_BATCH_ROWS)
      throw usageError(`--batch-size is between 1 and ${MAX_BATCH_ROWS}.`, transferCommand);
    // Only the flags name the two catalogs: DIFFUSION_NEXUS_DATABASE_URL, which names the catalog other commands
    // use, could be either end here.
    const endpoint = (url: string, setting: string): DatabaseTarget =>
      resolveDatabaseTarget({ databaseUrl: url, dataDir: values['data-dir'], setting }, {});
    const from = endpoint(values.from ?? 'file:', '--from');
    const to = endpoint(values.to, '--to');
    // A file named on the command line that is not there is a usage error, as for every command.
    if (from.engine === 'sqlite' && values.from !== undefined) await namedPath(from.path);
    const { transferCatalog } = await import('../../db/transfer/transfer.ts');
    const progress = transferProgress();
    let result: TransferResult;
    try {
      result = await transferCatalog(from, to, {
        batchRows,
        log: io.out,
        onProgress: progress.onProgress,
      });
    } finally {
      progress.finish();
    }
    printTransferSummary(io, result);
    io.out(
      `transferred ${describe(from)} to ${describe(to)}: ${result.rows} rows in ${result.tables.length} tables in ` +
        `${result.seconds.toFixed(1)} s (${Math.round(result.rows / Math.max(result.seconds, 0.001))} rows/s); ` +
        `every table read back and matched; search index built for ${result.indexedModels} models.`,
    );
    return 0;
  },
});

function describe(target: DatabaseTarget): string {
  return target.engine === 'sqlite' ? target.path : target.display;
}

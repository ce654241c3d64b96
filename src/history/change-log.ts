/**
 * Collects what one write changes in a model's metadata, field by field, and writes it as one change set inside
 * the same transaction (so a change and its history land together or not at all). A write that changes nothing
 * records nothing.
 */
import type { CatalogTransaction } from '../db/catalog-database.ts';
import { type CatalogModelName, columnsOf } from '../db/row-mapping.ts';
import type { CatalogTable, SqlValue } from '../db/row-writer.ts';
import { type ChangeValues, insertChangeSet } from '../db/tables/metadata-history.ts';
import { parseStoredTimestamp } from '../db/timestamps.ts';

export type ChangeSource = 'import' | 'sync' | 'scan' | 'download' | 'edit' | 'revert';

export interface ChangeContext {
  source: ChangeSource;
  /** Where the change came from: "Civitai model 4201", a file path, a mutation's name. */
  detail?: string | null;
  /** The HTTP request id or job id. */
  jobId?: string | null;
  revertsChangeSetId?: number | null;
}

/** The tables whose changes are history, and the entity name each stands for. */
const ENTITIES = { Models: 'Model', ModelVersions: 'ModelVersion', ModelFiles: 'ModelFile' } as const;
export type HistoryEntity = (typeof ENTITIES)[keyof typeof ENTITIES];
export type HistoryTable = keyof typeof ENTITIES;

export const TABLE_OF_ENTITY: Record<HistoryEntity, HistoryTable> = {
  Model: 'Models',
  ModelVersion: 'ModelVersions',
  ModelFile: 'ModelFiles',
};

const MODEL_OF_TABLE: Record<HistoryTable, CatalogModelName> = {
  Models: 'Model',
  ModelVersions: 'ModelVersion',
  ModelFiles: 'ModelFile',
};

/**
 * Columns that are bookkeeping or statistics rather than metadata a user could lose: they change on nearly every
 * sync or rescan, and recording them would bury the real changes. (CreatorId is recorded as the creator's name:
 * `LIST_FIELDS.creator`.)
 */
const UNRECORDED: Record<HistoryTable, ReadonlySet<string>> = {
  Models: new Set(['UpdatedAt', 'LastSyncedAt', 'UserEditedFields', 'IgnoreUpdates', 'CreatorId']),
  ModelVersions: new Set(['DownloadCount', 'RatingCount', 'Rating', 'ThumbsUpCount', 'ThumbsDownCount']),
  ModelFiles: new Set(['LocalFileVerifiedAt']),
};

/** Field names that are not columns: list-valued or looked-up values, and row creation. */
export const LIST_FIELDS = { tags: 'Tags', triggerWords: 'TriggerWords', creator: 'Creator', created: '*' } as const;

const columnTypes = new Map<string, string>();
function columnType(table: HistoryTable, column: string): string | undefined {
  if (columnTypes.size === 0)
    for (const [t, model] of Object.entries(MODEL_OF_TABLE))
      for (const c of columnsOf(model)) columnTypes.set(`${t}.${c.column}`, c.type);
  return columnTypes.get(`${table}.${column}`);
}

/** A stored cell or a value about to be written, as the JSON a change records (null for NULL). */
export function historyValue(table: HistoryTable, column: string, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  switch (columnType(table, column)) {
    case 'Boolean':
      return JSON.stringify(typeof value === 'boolean' ? value : Number(value) !== 0);
    case 'DateTime': {
      const date = value instanceof Date ? value : parseStoredTimestamp(value as string);
      return JSON.stringify(date ? date.toISOString() : String(value));
    }
    case 'BigInt':
      return JSON.stringify(String(value));
    case 'Int':
    case 'Float':
      return JSON.stringify(Number(value));
    default:
      // Strings, and the desktop app's own columns (FileSizeBytes…), which the datamodel does not describe.
      if (typeof value === 'bigint') return JSON.stringify(String(value));
      if (value instanceof Uint8Array) return JSON.stringify(`${value.length} bytes`);
      return JSON.stringify(value);
  }
}

/** The value a recorded JSON stands for, ready to write back into its column. */
export function columnValueOf(table: HistoryTable, column: string, json: string | null): SqlValue {
  if (json === null) return null;
  const value = JSON.parse(json) as unknown;
  switch (columnType(table, column)) {
    case 'DateTime':
      return new Date(value as string);
    case 'BigInt':
      return BigInt(value as string);
    default:
      return value as SqlValue;
  }
}

export function isHistoryTable(table: string): table is HistoryTable {
  return table in ENTITIES;
}

export class ChangeLog {
  readonly changes: ChangeValues[] = [];
  readonly context: ChangeContext;

  constructor(context: ChangeContext) {
    this.context = context;
  }

  /** A `ColumnChangeSink` for `updateChanged`. */
  readonly column = (table: CatalogTable, id: number, column: string, stored: unknown, next: SqlValue): void => {
    if (!isHistoryTable(table) || UNRECORDED[table].has(column)) return;
    const oldValue = historyValue(table, column, stored);
    const newValue = historyValue(table, column, next);
    if (oldValue === newValue) return;
    this.changes.push({ entity: ENTITIES[table], entityId: id, field: column, oldValue, newValue });
  };

  /** A list-valued field (tags, trigger words) or a looked-up one (the creator's name). */
  value(entity: HistoryEntity, id: number, field: string, before: unknown, after: unknown): void {
    const oldValue = before === null || before === undefined ? null : JSON.stringify(before);
    const newValue = after === null || after === undefined ? null : JSON.stringify(after);
    if (oldValue !== newValue) this.changes.push({ entity, entityId: id, field, oldValue, newValue });
  }

  /** A row this write created (its name as the new value). */
  created(entity: HistoryEntity, id: number, name: string): void {
    this.changes.push({
      entity,
      entityId: id,
      field: LIST_FIELDS.created,
      oldValue: null,
      newValue: JSON.stringify(name),
    });
  }

  get isEmpty(): boolean {
    return this.changes.length === 0;
  }

  /** Writes the change set (nothing when nothing changed); returns its id or null. */
  async write(trx: CatalogTransaction, modelId: number, now: Date): Promise<number | null> {
    if (this.isEmpty) return null;
    return insertChangeSet(
      trx,
      {
        modelId,
        source: this.context.source,
        detail: this.context.detail?.slice(0, 1000) ?? null,
        jobId: this.context.jobId?.slice(0, 200) ?? null,
        revertsChangeSetId: this.context.revertsChangeSetId ?? null,
        createdAt: now,
      },
      this.changes,
    );
  }
}

// Worker: statements that may run for hundreds of milliseconds (full-text search, facets, library statistics) on
// their own read-only connection, so the server's event loop keeps answering while they run. One statement at a
// time, in the order they arrive; rows go back by structured clone.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.databasePath, {
  readonly: true,
  fileMustExist: true,
  timeout: workerData.busyTimeoutMs,
});
for (const pragma of workerData.pragmas) db.pragma(pragma);
const statements = new Map();

parentPort.on('message', ({ id, sql, parameters }) => {
  try {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    if (!statement.reader) throw new Error('Only reads run on the read worker.');
    parentPort.postMessage({ id, rows: statement.all(parameters) });
  } catch (error) {
    parentPort.postMessage({ id, error: { message: error.message, code: error.code ?? null } });
  }
});

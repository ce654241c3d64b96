// Worker: the facts (`lstat`) of many paths at once, for the library walk. Synchronous calls are several times
// cheaper than the promise API's round trips, and here they block only this thread: a file on a hung network share
// stalls this worker, never the server's event loop. Answers: per path [kind, size, mtimeMs] or an error message,
// kind 1 for a regular file, 2 for a directory, 0 for anything else.
import { lstatSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

parentPort.on('message', ({ id, paths }) => {
  const facts = paths.map((path) => {
    try {
      const info = lstatSync(path);
      return [info.isFile() ? 1 : info.isDirectory() ? 2 : 0, info.size, info.mtimeMs];
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  });
  parentPort.postMessage({ id, facts });
});

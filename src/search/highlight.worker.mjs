// Worker: matched fields and snippets for a page of search hits on engines without FTS5 (PostgreSQL), off the event
// loop. A broad search's page can hold a hundred long documents whose every word matches; marking them up on the
// event loop held /health up for a fifth of a second under a dozen such searches (SQLite computes them on its read
// worker). The rules are `highlight.ts`'s: built, it sits beside this file as JavaScript; run from the sources, the
// TypeScript is loaded through tsx, which is then installed.
import { existsSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

const built = new URL('./highlight.js', import.meta.url);
if (!existsSync(built)) {
  const { register } = await import('tsx/esm/api');
  register();
}
const { highlight } = await import(existsSync(built) ? built.href : new URL('./highlight.ts', import.meta.url).href);

parentPort.on('message', ({ id, terms, documents, open, close }) => {
  try {
    parentPort.postMessage({ id, marks: documents.map((texts) => highlight(terms, texts, open, close)) });
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});

#!/usr/bin/env node
// Package bin, and what `npm start` and `npm run cli` run: the CLI compiled into dist/ by scripts/build.mjs — plain
// JavaScript, no TypeScript loader at run time. When src/ changed since dist/ was built (a pull, an edit, a
// `npm run generate`), dist/ is rebuilt first (well under a second, said on stderr): running stale code silently
// would be worse, and refusing would only make every developer type `npm run build` by hand.
import { ensureBuilt } from '../scripts/build.mjs';

await ensureBuilt();
const { main } = await import('../dist/cli/main.js');
main(process.argv.slice(2));

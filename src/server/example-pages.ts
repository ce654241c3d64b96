/**
 * The example client pages of `examples/` (plain HTML and JavaScript, no build step), served as they are on disk so
 * that what the README shows is what a user can copy: `/examples/grid` is `examples/grid.html`.
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { PROJECT_ROOT } from '../db/project-paths.ts';

const PAGES: Readonly<Record<string, string>> = {
  '/examples/grid': path.join(PROJECT_ROOT, 'examples', 'grid.html'),
};

export function isExamplePage(pathname: string): boolean {
  return Object.hasOwn(PAGES, pathname);
}

export async function serveExamplePage(res: ServerResponse, pathname: string, head: boolean): Promise<void> {
  const html = await readFile(PAGES[pathname] as string);
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': html.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  res.end(head ? undefined : html);
}

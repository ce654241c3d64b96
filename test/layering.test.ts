/**
 * The layout's two rules, checked on the source: SQL is written only in the data layer (`src/db/`), and
 * dependencies point one way — server → schema → resolvers → loaders and domain folders → db.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';

const SRC = path.join(PROJECT_ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

const files = sourceFiles(SRC).map((file) => ({
  name: path.relative(SRC, file).split(path.sep).join('/'),
  text: readFileSync(file, 'utf8'),
}));
const outsideDb = files.filter((f) => !f.name.startsWith('db/'));

/** String and template literals of a source text (comments dropped first, so prose about SQL is allowed). */
function literals(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return [...code.matchAll(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g)].map((m) => m[0]);
}

const SQL =
  /\b(SELECT\s+[\w"*(]|INSERT\s+INTO|UPDATE\s+"?\w+"?\s+SET|DELETE\s+FROM|PRAGMA\s+\w|CREATE\s+(TABLE|INDEX))|^.\s*VACUUM\b/;

/** The top folder each file imports from (`../db/x.ts` from `resolvers/` is `db`). */
function importedFolders(file: { name: string; text: string }): string[] {
  const here = path.posix.dirname(file.name);
  return [...file.text.matchAll(/from '(\.{1,2}\/[^']+)'/g)].map(
    (m) => path.posix.normalize(path.posix.join(here, m[1]!)).split('/')[0]!,
  );
}

/** Which folders may not be imported from each folder (the layers above it). */
const ABOVE: Record<string, readonly string[]> = {
  db: ['loaders', 'resolvers', 'schema', 'server', 'cli'],
  loaders: ['resolvers', 'schema', 'server', 'cli'],
  civitai: ['resolvers', 'schema', 'server', 'cli'],
  library: ['resolvers', 'schema', 'server', 'cli'],
  search: ['resolvers', 'schema', 'server', 'cli'],
  thumbnails: ['resolvers', 'schema', 'server', 'cli'],
  history: ['resolvers', 'schema', 'server', 'cli'],
  downloads: ['resolvers', 'schema', 'server', 'cli'],
  catalog: ['loaders', 'resolvers', 'schema', 'server', 'cli'],
  resolvers: ['schema', 'server', 'cli'],
  schema: ['server', 'cli'],
};

describe('layering', () => {
  it('finds the source files it checks', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(outsideDb.some((f) => f.name.startsWith('resolvers/'))).toBe(true);
  });

  it('writes SQL only under src/db', () => {
    // The check itself must see SQL where it is: the data layer has plenty.
    expect(
      files.filter((f) => f.name.startsWith('db/') && literals(f.text).some((l) => SQL.test(l))).length,
    ).toBeGreaterThan(3);
    const offenders = outsideDb.flatMap((f) =>
      literals(f.text)
        .filter((l) => SQL.test(l))
        .map((l) => `${f.name}: ${l.slice(0, 80)}`),
    );
    expect(offenders).toEqual([]);
  });

  it('opens database connections only under src/db', () => {
    const offenders = outsideDb
      .filter((f) => /from 'better-sqlite3'|import\s+\{[^}]*\b(sql|Kysely)\b[^}]*\}\s+from 'kysely'/.test(f.text))
      .map((f) => f.name);
    expect(offenders).toEqual([]);
  });

  it('imports only downwards: server → schema → resolvers → loaders and domain → db', () => {
    const offenders = files.flatMap((f) => {
      const folder = f.name.split('/')[0]!;
      const forbidden = ABOVE[folder] ?? [];
      return importedFolders(f)
        .filter((target) => forbidden.includes(target))
        .map((target) => `${f.name} imports ${target}/`);
    });
    expect(offenders).toEqual([]);
  });

  it('reads the environment only in src/config.ts', () => {
    const offenders = files.filter((f) => f.name !== 'config.ts' && /process\.env\b/.test(f.text)).map((f) => f.name);
    expect(offenders).toEqual([]);
  });

  it('keeps Prisma Client out of request handling: only generated types are imported', () => {
    const offenders = files
      .filter((f) => /^import (?!type )[^;]*from '[./]*generated\/prisma\//m.test(f.text))
      .map((f) => f.name);
    expect(offenders).toEqual([]);
  });
});

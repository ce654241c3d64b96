import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  databasePathIn,
  ensureDataDir,
  platformAppDataDir,
  resolveDataDir,
  type PlatformEnvironment,
} from '../src/db/data-dir.ts';
import { QUERY_LIMITS } from '../src/catalog/query-limits.ts';
import {
  DEFAULT_DATABASE_POOL_SIZE,
  defaultConcurrentQueries,
  resolveDatabaseTarget,
  resolveServerConfig,
} from '../src/config.ts';
import { startTestServer } from './helpers/server.ts';
import { runCli } from '../src/cli/main.ts';
import { tempDir } from './helpers/temp.ts';

const linux = (env: Record<string, string> = {}): PlatformEnvironment => ({
  platform: 'linux',
  home: '/home/ada',
  env,
});

describe('platform app-data folder', () => {
  it('uses %LOCALAPPDATA% on Windows, falling back to the profile', () => {
    expect(
      platformAppDataDir({
        platform: 'win32',
        home: 'C:\\Users\\Ada',
        env: { LOCALAPPDATA: 'C:\\Users\\Ada\\AppData\\Local' },
      }),
    ).toBe('C:\\Users\\Ada\\AppData\\Local');
    expect(platformAppDataDir({ platform: 'win32', home: 'C:\\Users\\Ada', env: {} })).toBe(
      'C:\\Users\\Ada\\AppData\\Local',
    );
    expect(resolveDataDir({}, { platform: 'win32', home: 'C:\\Users\\Ada', env: { LOCALAPPDATA: 'D:\\Local' } })).toBe(
      'D:\\Local\\DiffusionNexus\\Data',
    );
  });

  it('uses ~/Library/Application Support on macOS', () => {
    expect(resolveDataDir({}, { platform: 'darwin', home: '/Users/ada', env: {} })).toBe(
      '/Users/ada/Library/Application Support/DiffusionNexus/Data',
    );
  });

  it('uses $XDG_DATA_HOME or ~/.local/share on Linux, ignoring a relative XDG_DATA_HOME', () => {
    expect(resolveDataDir({}, linux({ XDG_DATA_HOME: '/data/xdg' }))).toBe('/data/xdg/DiffusionNexus/Data');
    expect(resolveDataDir({}, linux())).toBe('/home/ada/.local/share/DiffusionNexus/Data');
    expect(resolveDataDir({}, linux({ XDG_DATA_HOME: 'relative/dir' }))).toBe(
      '/home/ada/.local/share/DiffusionNexus/Data',
    );
  });

  it('lets DIFFUSION_NEXUS_DATA_DIR override the default and --data-dir override both', () => {
    expect(resolveDataDir({}, linux({ DIFFUSION_NEXUS_DATA_DIR: '/srv/catalog' }))).toBe('/srv/catalog');
    expect(resolveDataDir({ flag: '/mnt/flag' }, linux({ DIFFUSION_NEXUS_DATA_DIR: '/srv/catalog' }))).toBe(
      '/mnt/flag',
    );
    expect(resolveDataDir({}, linux({ DIFFUSION_NEXUS_DATA_DIR: '  ' }))).toBe(
      '/home/ada/.local/share/DiffusionNexus/Data',
    );
  });

  it('names the database file like the desktop app', () => {
    expect(databasePathIn('/x')).toBe(path.join('/x', 'Diffusion_Nexus-core.db'));
  });
});

describe('ensureDataDir', () => {
  it('creates missing directories', () => {
    const dir = path.join(tempDir(), 'a', 'b', 'DiffusionNexus', 'Data');
    expect(ensureDataDir(dir)).toBe(dir);
    expect(existsSync(dir)).toBe(true);
  });

  it('fails clearly when the path cannot be a directory', () => {
    const blocker = path.join(tempDir(), 'a-file');
    writeFileSync(blocker, 'x');
    expect(() => ensureDataDir(path.join(blocker, 'Data'))).toThrow(
      expect.objectContaining({ code: 'DATA_DIR_NOT_WRITABLE', message: expect.stringContaining('--data-dir') }),
    );
    expect(() => ensureDataDir(blocker)).toThrow(
      expect.objectContaining({ code: 'DATA_DIR_NOT_WRITABLE', message: expect.stringContaining('not a directory') }),
    );
  });
});

describe('server configuration', () => {
  it('defaults to 127.0.0.1:4000, takes HOST/PORT, and flags win', () => {
    expect(resolveServerConfig({}, {})).toMatchObject({
      host: '127.0.0.1',
      port: 4000,
      development: false,
      graphiql: true,
    });
    expect(
      resolveServerConfig({}, { HOST: '::1', PORT: '5000', NODE_ENV: 'development', DIFFUSION_NEXUS_GRAPHIQL: 'off' }),
    ).toMatchObject({ host: '::1', port: 5000, development: true, graphiql: false });
    expect(resolveServerConfig({ host: 'localhost', port: '0' }, { HOST: '::1', PORT: '5000' })).toMatchObject({
      host: 'localhost',
      port: 0,
    });
  });

  it('rejects a bad port with a coded error', () => {
    expect(() => resolveServerConfig({ port: 'eighty' }, {})).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringContaining('--port') }),
    );
    expect(() => resolveServerConfig({}, { PORT: '70000' })).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringContaining('PORT') }),
    );
  });
});

describe('limits from the environment', () => {
  it('takes query limits and the thumbnail size from the environment, and refuses bad values instead of ignoring them', () => {
    const config = resolveServerConfig({}, { DIFFUSION_NEXUS_MAX_DEPTH: '5', DIFFUSION_NEXUS_THUMBNAIL_SIZE: '256' });
    expect(config.queryLimits.depth).toBe(5);
    expect(config.queryLimits.complexity).toBe(QUERY_LIMITS.complexity);
    expect(config.thumbnailSide).toBe(256);
    // Turns: the engine's default unless set (two on SQLite, one per pooled connection on PostgreSQL).
    expect(config.maxConcurrentQueries).toBeNull();
    expect(defaultConcurrentQueries(config.database!)).toBe(2);
    // PostgreSQL: one per pooled connection, at most two per core (a database on the same cores starves the loop).
    const postgres = resolveDatabaseTarget({ databaseUrl: 'postgres://h/x' }, {});
    expect(defaultConcurrentQueries(postgres, 2)).toBe(4);
    expect(defaultConcurrentQueries(postgres, 64)).toBe(DEFAULT_DATABASE_POOL_SIZE);
    expect(resolveServerConfig({}, { DIFFUSION_NEXUS_MAX_CONCURRENT_QUERIES: '6' }).maxConcurrentQueries).toBe(6);
    for (const [name, value] of [
      ['DIFFUSION_NEXUS_MAX_COMPLEXITY', 'lots'],
      ['DIFFUSION_NEXUS_MAX_TOKENS', '-3'],
      ['DIFFUSION_NEXUS_THUMBNAIL_SIZE', '8'],
      ['DIFFUSION_NEXUS_THUMBNAIL_SIZE', '99999'],
      ['DIFFUSION_NEXUS_MAX_CONCURRENT_QUERIES', '0'],
      ['DIFFUSION_NEXUS_MAX_CONCURRENT_QUERIES', 'many'],
      ['DIFFUSION_NEXUS_MAX_CONCURRENT_QUERIES', '5000'],
      ['DIFFUSION_NEXUS_DOWNLOAD_CONCURRENCY', '9'],
    ] as const) {
      expect(() => resolveServerConfig({}, { [name]: value }), `${name}=${value}`).toThrow(
        expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringContaining(name) }),
      );
    }
    // A value out of range says the range and what it got.
    expect(() => resolveServerConfig({}, { DIFFUSION_NEXUS_THUMBNAIL_SIZE: '8' })).toThrow(
      /between \d+ and \d+ pixels, got 8\./,
    );
  });

  it('a configured depth limit is what a running server enforces', async () => {
    const dataDir = path.join(tempDir(), 'limits');
    const server = await startTestServer({ dataDir, queryLimits: { ...QUERY_LIMITS, depth: 3 } });
    const shallow = await server.graphql('{ models(first: 1) { totalCount } }');
    expect(shallow.errors).toBeUndefined();
    const deep = await server.graphql('{ models(first: 1) { nodes { versions(first: 1) { nodes { name } } } } }');
    expect(deep.errors?.[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', limit: 3 });
  });
});

describe('CLI --data-dir', () => {
  it('migrates into the given directory and reports status there', async () => {
    const dir = path.join(tempDir(), 'cli-data');
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(`ERR ${l}`) };
    expect(await runCli(['migrate', '--data-dir', dir], io)).toBe(0);
    expect(existsSync(path.join(dir, 'Diffusion_Nexus-core.db'))).toBe(true);
    lines.length = 0;
    expect(await runCli(['status', '--data-dir', dir], io)).toBe(0);
    expect(lines.join('\n')).toMatch(/applied\s+\d{14}_InitialCreate[\s\S]*up to date/);
  });

  it('seeds an empty catalog for demos and refuses one that holds models', async () => {
    const dir = path.join(tempDir(), 'demo');
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(`ERR ${l}`) };
    expect(await runCli(['seed', '--data-dir', dir, '--models', '3', '--thumbnails', 'none'], io)).toBe(0);
    expect(lines.at(-1)).toMatch(/seeded .*: 3 models, 12 versions/);
    expect(await runCli(['seed', '--data-dir', dir], io)).toBe(1);
    expect(lines.at(-1)).toMatch(/ERR error \[CONFLICT\]: .* already holds 3 models/);
    expect(await runCli(['seed', '--data-dir', dir, '--thumbnails', 'huge'], io)).toBe(2);
  });

  it('rejects unknown options and commands with usage', async () => {
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    expect(await runCli(['migrate', '--data-dri', '/tmp/x'], io)).toBe(2);
    expect(lines.join('\n')).toMatch(/data-dri[\s\S]*usage: diffusion-nexus migrate/);
    expect(await runCli(['frobnicate'], io)).toBe(2);
    expect(lines.join('\n')).toMatch(/unknown command "frobnicate"/);
  });
});

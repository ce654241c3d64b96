/**
 * `npm run cli -- import` as a real process: directories walked recursively (*.json, *.civitai.info), stdin,
 * unrelated JSON skipped, a summary, and a non-zero exit code when anything failed.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cliCatalog } from './helpers/catalog.ts';
import { catalogHandle, sql } from './helpers/catalog-handle.ts';
import { cli, CLI } from './helpers/cli.ts';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import { tempDir } from './helpers/temp.ts';

const fixture = (name: string) => path.join(PROJECT_ROOT, 'test', 'fixtures', 'civitai', name);

describe('import command', () => {
  it("walks a directory tree, skips JSON that is not Civitai's, and summarises", async () => {
    const root = tempDir();
    const library = path.join(root, 'library');
    mkdirSync(path.join(library, 'loras', 'styles'), { recursive: true });
    copyFileSync(fixture('model-drift.json'), path.join(library, 'loras', 'model.json'));
    copyFileSync(fixture('version-payload.json'), path.join(library, 'loras', 'styles', 'mossy_stone_xl.civitai.info'));
    writeFileSync(path.join(library, 'loras', 'styles', 'config.json'), '{"sampler": "euler"}');
    writeFileSync(path.join(library, 'loras', 'notes.txt'), 'not a payload');
    const catalog = await cliCatalog();
    const first = await cli(['import', library, ...catalog.args]);
    expect(first.stdout).toMatch(
      /imported 2, updated 0, unchanged 0, failed 0; skipped 1 JSON file\(s\) that are not Civitai payloads\./,
    );
    expect(first.stdout).toMatch(/warning: model 7001: model type "SuperLoraV9" is not known/);
    expect(first.code).toBe(0);
    const again = await cli(['import', library, ...catalog.args]);
    expect(again.stdout).toMatch(/imported 0, updated 0, unchanged 2, failed 0/);
    const rows = catalogHandle(catalog.location);
    expect(await rows.column(sql`SELECT "CivitaiId" FROM "Models" ORDER BY "CivitaiId"`)).toEqual([7001, 7002]);
  });

  it('reads stdin, reports failures with the model and reason, and exits non-zero', async () => {
    const catalog = await cliCatalog();
    const { readFileSync } = await import('node:fs');
    const result = await cli(['import', '-', ...catalog.args], readFileSync(fixture('models-list.json'), 'utf8'));
    expect(result.stdout).toMatch(/imported 2, updated 0, unchanged 0, failed 1/);
    expect(result.stderr).toMatch(/failed: stdin: .*\$\.items\[1\]\.id: expected a positive integer id/);
    expect(result.code).toBe(1);
  });

  it('fails clearly on a named file that is not JSON or not there, writing nothing', async () => {
    const dir = tempDir();
    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, '{"id": 1, "name": ');
    const catalog = await cliCatalog();
    const result = await cli(['import', broken, ...catalog.args]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/failed: .*broken\.json: not valid JSON/);
    const missing = await promisify(execFile)(
      process.execPath,
      [...CLI, 'import', path.join(dir, 'nope.json'), ...catalog.args],
      { cwd: PROJECT_ROOT },
    ).catch((e: { code: number; stderr: string }) => e);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringMatching(/nope\.json: no such file or directory/) });
    expect(await catalogHandle(catalog.location).value(sql`SELECT COUNT(*) FROM "Models"`)).toBe(0);
  });
});

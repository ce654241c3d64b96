/**
 * Tests leave nothing behind: every folder a test file makes with tempDir() — at the top of the file, in a describe,
 * in a hook, inside a test — is gone once the file has run. Checked on a probe file run by vitest in its own process,
 * with the temp folder pointed at a folder of this test's.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import { tempDir } from './helpers/temp.ts';

const VITEST = path.join(PROJECT_ROOT, 'node_modules', 'vitest', 'vitest.mjs');

describe('temp folders of a test file', () => {
  const work = tempDir('dn-temp-dirs-');

  it('are all removed when the file has run, wherever they were made, before the next file in its process starts', {
    timeout: 120_000,
  }, () => {
    const childTmp = path.join(work, 'tmp');
    mkdirSync(childTmp);
    const record = path.join(work, 'made.txt');
    writeFileSync(record, '');
    // The probe is not a *.test.ts file (the suite must not run it on its own): a config of its own names it.
    const config = path.join(work, 'probe.config.mjs');
    // Two files in one worker process, as the suite's untimed files run (`isolate: false`).
    const probeConfig = {
      include: ['test/fixtures/temp-dirs.probe.ts', 'test/fixtures/temp-dirs-second.probe.ts'],
      setupFiles: ['test/setup-file.ts'],
      isolate: false,
      fileParallelism: false,
    };
    writeFileSync(config, `export default { test: ${JSON.stringify(probeConfig)} };\n`);
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
    const run = spawnSync(process.execPath, [VITEST, 'run', '--root', PROJECT_ROOT, '--config', config], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...inherited, TMPDIR: childTmp, DN_PROBE_RECORD: record, DN_PROBE_TMPDIR: childTmp },
      timeout: 110_000,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    const made = readFileSync(record, 'utf8').split('\n').filter(Boolean);
    expect(made.filter((line) => line.startsWith('left:'))).toEqual([]);
    // Each file's four kinds, in order; none of the first file's folders left when the second started (`left:`).
    const kinds = ['dn-probe-file', 'dn-probe-describe', 'dn-probe-hook', 'dn-probe-test'];
    expect(made.map((dir) => path.basename(dir).replace(/-[^-]+$/, ''))).toEqual([...kinds, ...kinds]);
    expect(made.filter((dir) => existsSync(dir))).toEqual([]);
    expect(readdirSync(childTmp).filter((entry) => entry.startsWith('dn-'))).toEqual([]);
  });
});

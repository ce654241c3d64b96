/**
 * Child processes a test starts (`endsWithTest`) end with the test even when it fails before stopping them: checked
 * on a probe file run by vitest in its own process, against a child started without it, which outlives the probe.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import { tempDir } from './helpers/temp.ts';

const VITEST = path.join(PROJECT_ROOT, 'node_modules', 'vitest', 'vitest.mjs');

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function goneWithin(pid: number, ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 50)))
    if (!running(pid)) return true;
  return !running(pid);
}

describe('children of a failing test', () => {
  const work = tempDir('dn-test-children-');

  it('are ended with it (a process group whole, a server stopped), while children not handed over outlive it', {
    timeout: 120_000,
  }, async () => {
    const record = path.join(work, 'pids.json');
    const config = path.join(work, 'probe.config.mjs');
    writeFileSync(
      config,
      `export default { test: ${JSON.stringify({ include: ['test/fixtures/children.probe.ts'] })} };\n`,
    );
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
    const run = spawnSync(process.execPath, [VITEST, 'run', '--root', PROJECT_ROOT, '--config', config], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...inherited, DN_PROBE_RECORD: record },
      timeout: 110_000,
    });
    const pids = JSON.parse(readFileSync(record, 'utf8')) as Record<
      'ended' | 'leader' | 'grandchild' | 'server' | 'control',
      number
    >;
    try {
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(1);
      expect(`${run.stdout}${run.stderr}`).toContain('failed on purpose');
      for (const pid of [pids.ended, pids.leader, pids.grandchild, pids.server])
        expect(await goneWithin(pid, 5000)).toBe(true);
      expect(running(pids.control)).toBe(true);
    } finally {
      for (const pid of Object.values(pids)) if (running(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});

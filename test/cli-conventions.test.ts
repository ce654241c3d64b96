/**
 * The CLI's conventions, on the real CLI in child processes: every error is one `error [CODE]: message` (no stack
 * traces), exit code 2 for usage errors — unknown command or option, a named file or folder that is not there — and
 * 1 for a command that ran and failed; every command's --help lists every option with what it does and its default.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/main.ts';
import { DEFAULT_HOST, DEFAULT_PORT } from '../src/config.ts';
import { DEFAULT_BATCH_ROWS } from '../src/db/transfer/side.ts';
import { TEST_CATALOG } from '../src/seed/catalog-generator.ts';
import { cli } from './helpers/cli.ts';
import { tempDir } from './helpers/temp.ts';

/** The options README's command table gives each command. */
const DOCUMENTED_OPTIONS: Record<string, string[]> = {
  serve: ['host', 'port', 'data-dir', 'database-url'],
  import: ['images-version', 'data-dir', 'database-url'],
  scan: ['concurrency', 'identify-online', 'data-dir', 'database-url'],
  download: ['to', 'concurrency', 'sidecars', 'data-dir', 'database-url'],
  thumbnails: ['online', 'force', 'keep-per-version', 'max-bytes', 'vacuum', 'data-dir', 'database-url'],
  backup: ['force', 'data-dir', 'database-url'],
  restore: ['data-dir', 'database-url'],
  transfer: ['to', 'from', 'batch-size', 'data-dir'],
  migrate: ['data-dir', 'database-url'],
  status: ['json', 'data-dir', 'database-url'],
  seed: ['models', 'versions', 'thumbnails', 'data-dir', 'database-url'],
  payloads: ['civitai', 'data-dir', 'database-url'],
  'migration:create': ['empty', 'postgres', 'allow-destructive'],
};

/** `--name [VALUE]  description` followed by `default: …`, for each option a help text lists. */
function helpOptions(help: string): Map<string, { description: string; byDefault: string | null }> {
  const options = new Map<string, { description: string; byDefault: string | null }>();
  const lines = help.split('\n');
  lines.forEach((line, i) => {
    const option = /^ {2}--([\w-]+)(?: \S+)? {2,}(\S.*)$/.exec(line);
    if (!option) return;
    const byDefault = /^ +default: (\S.*)$/.exec(lines[i + 1] ?? '');
    options.set(option[1]!, { description: option[2]!, byDefault: byDefault?.[1] ?? null });
  });
  return options;
}

const quotesBalanced = (text: string) =>
  (text.match(/'/g) ?? []).length % 2 === 0 && (text.match(/"/g) ?? []).length % 2 === 0;

describe('CLI errors', () => {
  const dir = tempDir('dn-cli-');
  const dataDir = path.join(dir, 'data');

  it('a port in use is PORT_IN_USE naming --port, not a stack trace', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const run = await cli(['serve', '--port', String(port), '--data-dir', dataDir]);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^error \\[PORT_IN_USE\\]: 127\\.0\\.0\\.1:${port} .*--port`, 'm'));
      expect(run.stderr).not.toMatch(/EADDRINUSE|\n\s+at /);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('an unknown command is a usage error in the error [CODE] form', async () => {
    const run = await cli(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^error \[BAD_USER_INPUT\]: unknown command "frobnicate"; the commands are serve, import/,
    );
  });

  it('a file or folder that is not there is a usage error (exit 2) for import, restore and scan alike', async () => {
    const missing = path.join(dir, 'not-there');
    const runs = await Promise.all(
      [['import'], ['restore'], ['scan']].map(([command]) =>
        cli([command!, missing, '--data-dir', dataDir], undefined, { DIFFUSION_NEXUS_LIBRARY_ROOTS: '' }),
      ),
    );
    for (const [i, run] of runs.entries()) {
      expect({ command: ['import', 'restore', 'scan'][i], code: run.code, stderr: run.stderr }).toEqual({
        command: ['import', 'restore', 'scan'][i],
        code: 2,
        stderr: `error [BAD_USER_INPUT]: ${missing}: no such file or directory.\n`,
      });
    }
  });

  it('a file that is not JSON is named once in its failure, and the import fails (exit 1)', async () => {
    const broken = path.join(dir, 'broken-payload.json');
    writeFileSync(broken, '{"id": 1,');
    const run = await cli(['import', broken, '--data-dir', dataDir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^failed: .*broken-payload\.json: not valid JSON: /m);
    expect(run.stderr.split(broken).length - 1).toBe(1);
  });

  it('an unknown option is named with the options the command takes, quotes closed, no advice about --', async () => {
    const run = await cli(['import', '--bogus', 'x.json', '--data-dir', dataDir]);
    expect(run.code).toBe(2);
    const [first] = run.stderr.split('\n');
    expect(first).toMatch(
      /^error \[BAD_USER_INPUT\]: unknown option --bogus for import \(its options: --images-version, --data-dir, --database-url\)/,
    );
    expect(quotesBalanced(run.stderr)).toBe(true);
    expect(run.stderr).not.toMatch(/'--'|after --/);
    expect(run.stderr).toMatch(/^usage: diffusion-nexus import /m);
  });

  it('an option without its value is a usage error naming it', async () => {
    for (const args of [
      ['serve', '--port'],
      ['serve', '--port', '--data-dir', dataDir],
    ]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/^error \[BAD_USER_INPUT\]: --port needs a value/);
    }
  });
});

describe('CLI --help', () => {
  it('covers every command', () => {
    expect(COMMANDS.map((c) => c.name).sort()).toEqual(Object.keys(DOCUMENTED_OPTIONS).sort());
  });

  it('lists and explains every option of each command, with its default', { timeout: 180_000 }, async () => {
    const names = Object.keys(DOCUMENTED_OPTIONS);
    const runs = await Promise.all(names.map((name) => cli([name, '--help'])));
    const helps = new Map(names.map((name, i) => [name, helpOptions(runs[i]!.stdout)]));
    for (const [i, name] of names.entries()) {
      expect(runs[i]!.code, name).toBe(0);
      const options = helps.get(name)!;
      expect([...options.keys()].sort(), `${name} --help`).toEqual([...DOCUMENTED_OPTIONS[name]!].sort());
      for (const [option, { description, byDefault }] of options) {
        expect(description.length, `${name} --${option}`).toBeGreaterThan(10);
        expect(byDefault, `${name} --${option} default`).not.toBeNull();
      }
    }
    // The defaults shown are the ones that apply.
    expect(helps.get('serve')!.get('port')!.byDefault).toContain(String(DEFAULT_PORT));
    expect(helps.get('serve')!.get('host')!.byDefault).toContain(DEFAULT_HOST);
    expect(helps.get('seed')!.get('models')!.byDefault).toBe(String(TEST_CATALOG.models));
    expect(helps.get('seed')!.get('versions')!.byDefault).toBe(String(TEST_CATALOG.versionsPerModel));
    expect(helps.get('seed')!.get('thumbnails')!.byDefault).toBe(TEST_CATALOG.thumbnails);
    expect(helps.get('scan')!.get('concurrency')!.byDefault).toBe('1');
    expect(helps.get('transfer')!.get('batch-size')!.byDefault).toBe(String(DEFAULT_BATCH_ROWS));
  });
});

/**
 * The compiled CLI (scripts/build.mjs → dist/), run the way users run it: the bin, `npm run cli` and `npm start`, in
 * a copy of the project (so this file can build, edit and rebuild without touching the working tree's dist/). A
 * module-resolution hook records every module each process loads, which shows that no TypeScript and no tsx runs,
 * and that `--help` loads none of the heavy packages.
 */
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/db/project-paths.ts';
import { endsWithTest } from './helpers/children.ts';
import { freshPostgresDatabase, TEST_ENGINE } from './helpers/postgres.ts';
import { tempDir } from './helpers/temp.ts';

/** Tests that open no catalog: the engine cannot change them, so they run in the sqlite project only. */
const withoutCatalog = it.skipIf(TEST_ENGINE === 'postgres');

const work = tempDir('dn-built-cli-');
const copy = path.join(work, 'project');
for (const part of ['src', 'scripts', 'bin', 'prisma', 'package.json'])
  cpSync(path.join(PROJECT_ROOT, part), path.join(copy, part), { recursive: true });
symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');

// Registered with --import: appends the URL of every module resolved (in any thread) to $MODULE_TRACE.
writeFileSync(
  path.join(work, 'trace-hooks.mjs'),
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (process.env.MODULE_TRACE) appendFileSync(process.env.MODULE_TRACE, result.url + '\\n');
  return result;
}
`,
);
writeFileSync(
  path.join(work, 'trace.mjs'),
  "import { register } from 'node:module';\nregister('./trace-hooks.mjs', import.meta.url);\n",
);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  modules: string[];
}

let traces = 0;

/**
 * Runs `command args` in the copy with the module trace on; `until` ends it (SIGTERM) once stdout matches; `env`
 * adds to the environment.
 */
function run(command: string, args: string[], until?: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const trace = path.join(work, `trace-${++traces}.log`);
  writeFileSync(trace, '');
  return new Promise((resolve, reject) => {
    const child = endsWithTest(
      spawn(command, args, {
        cwd: copy,
        detached: true,
        env: {
          ...process.env,
          NODE_OPTIONS: `--import ${path.join(work, 'trace.mjs')}`,
          MODULE_TRACE: trace,
          DIFFUSION_NEXUS_DATA_DIR: path.join(work, 'data'),
          ...env,
        },
      }),
      { group: true },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      // The whole group: `npm start` is npm, a shell and node.
      if (until?.test(stdout)) process.kill(-child.pid!, 'SIGTERM');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout, stderr, modules: readFileSync(trace, 'utf8').split('\n').filter(Boolean) }),
    );
  });
}

const ourModules = (r: Run) =>
  r.modules.filter((url) => url.startsWith(`file://${copy}/`) && !url.includes('/node_modules/'));

function expectNoTypeScript(r: Run): void {
  expect(r.modules.filter((url) => /\/node_modules\/tsx\//.test(url))).toEqual([]);
  expect(ourModules(r).filter((url) => url.endsWith('.ts'))).toEqual([]);
}

describe('the compiled CLI', () => {
  withoutCatalog('npm start, npm run cli and the bin run the bin, which runs dist/ (no tsx in the chain)', () => {
    const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
    expect(pkg.bin['diffusion-nexus']).toBe('bin/diffusion-nexus.js');
    for (const script of ['start', 'cli', 'db:migrate', 'db:status', 'db:migration:create']) {
      expect(pkg.scripts[script]).toMatch(/^node (--[\w-]+=\d+ )*bin\/diffusion-nexus\.js\b/);
      expect(pkg.scripts[script]).not.toMatch(/tsx|\.ts\b/);
    }
    // Installing builds dist/ after generating the Prisma client.
    expect(pkg.scripts.postinstall).toMatch(/generate\.mjs && node scripts\/build\.mjs$/);
  });

  withoutCatalog(
    'builds a missing dist/, answers --help from it without loading the server, Prisma or sharp',
    async () => {
      const first = await run(process.execPath, ['bin/diffusion-nexus.js', '--help']);
      expect(first.code).toBe(0);
      expect(first.stderr).toMatch(/^dist\/ is missing: rebuilt dist\/ in \d+\.\d s\n$/);
      expect(first.stdout).toMatch(/^usage: diffusion-nexus <command> \[options\]/);
      for (const command of ['serve', 'scan', 'import', 'seed', 'migration:create'])
        expect(first.stdout).toContain(`\n  ${command} `);
      expect(ourModules(first)).toContain(`file://${copy}/dist/cli/main.js`);
      expectNoTypeScript(first);
      expect(
        first.modules.filter((url) => /graphql-yoga|@pothos|\/sharp\/|@prisma|better-sqlite3|kysely/.test(url)),
      ).toEqual([]);

      const second = await run(process.execPath, ['bin/diffusion-nexus.js', 'scan', '--help']);
      expect(second).toMatchObject({ code: 0, stderr: '' });
      expect(second.stdout).toContain('usage: diffusion-nexus scan <folder>...');
    },
  );

  withoutCatalog('rebuilds when a source changed since the build, so an edit runs at once', async () => {
    await run(process.execPath, ['bin/diffusion-nexus.js', '--help']);
    const main = path.join(copy, 'src/cli/main.ts');
    writeFileSync(
      main,
      readFileSync(main, 'utf8').replace(
        "'usage: diffusion-nexus <command>",
        "'usage (edited): diffusion-nexus <command>",
      ),
    );
    // Whatever the clock did meanwhile, the edited file is the newest.
    const later = new Date(Date.now() + 60_000);
    utimesSync(main, later, later);
    const edited = await run(process.execPath, ['bin/diffusion-nexus.js', '--help']);
    expect(edited.stderr).toMatch(/^src\/ changed since dist\/ was built: rebuilt dist\/ in \d+\.\d s\n$/);
    expect(edited.stdout).toMatch(/^usage \(edited\): diffusion-nexus/);
    const again = await run(process.execPath, ['bin/diffusion-nexus.js', '--help']);
    expect(again.stderr).toBe('');
  });

  it('npm run cli and npm start run the compiled code; serve listens (on PostgreSQL: migrating an empty catalog)', async () => {
    const help = await run('npm', ['run', '--silent', 'cli', '--', 'migrate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: diffusion-nexus migrate');
    expectNoTypeScript(help);

    const env = TEST_ENGINE === 'postgres' ? { DIFFUSION_NEXUS_DATABASE_URL: (await freshPostgresDatabase()).url } : {};
    const serve = await run(
      'npm',
      ['start', '--silent', '--', '--port', '0'],
      /listening on http:\/\/127\.0\.0\.1:\d+/,
      env,
    );
    expect(serve.stdout).toMatch(/DiffusionNexus Core listening on http:\/\/127\.0\.0\.1:\d+\/graphql/);
    expect(ourModules(serve)).toContain(`file://${copy}/dist/server/start.js`);
    // The engine's own code ran from dist/ too (the PostgreSQL migrations through the schema engine, its pools).
    expect(ourModules(serve)).toContain(
      `file://${copy}/dist/db/${TEST_ENGINE === 'postgres' ? 'postgres/catalog.js' : 'catalog-database.js'}`,
    );
    expectNoTypeScript(serve);
  });
});

/**
 * The CLI as a real child process, as users run it (`npm run cli`, `npm start`): `bin/diffusion-nexus.js`, which runs
 * the sources compiled into dist/ (rebuilt first when src/ changed; `test/global-setup.ts` does that once before the
 * suite). Running the sources through tsx instead cost every child ~0.7 s of CPU for transpiling, a few hundred times.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/db/project-paths.ts';
import { endsWithTest } from './children.ts';

/** node arguments that run the CLI (followed by its own). */
export const CLI = [path.join(PROJECT_ROOT, 'bin', 'diffusion-nexus.js')];

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The CLI as a child process, ended with the test that starts it (see `endsWithTest`). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  return endsWithTest(
    spawn(process.execPath, [...CLI, ...args], {
      cwd: PROJECT_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    }),
  );
}

/**
 * Collects a child's output until its pipes close. Not 'exit': a child can exit before its last output is read from
 * the pipe, so under load an answer came back empty (a `restore --help` with exit code 0 and no options).
 */
export function outcome(child: ChildProcessWithoutNullStreams): Promise<CliRun> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function cli(args: string[], stdin?: string, env?: NodeJS.ProcessEnv): Promise<CliRun> {
  const child = spawnCli(args, env);
  const done = outcome(child);
  child.stdin.end(stdin ?? '');
  return done;
}

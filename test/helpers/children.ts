/**
 * Child processes a test starts itself (a CLI run, a server): ended with the test that started them, passed or
 * failed. A test that fails between starting a child and stopping it would otherwise leave the child running until
 * the test worker exits — or after it, holding a port, a database or a lock for whatever runs next.
 */
import type { ChildProcess } from 'node:child_process';
import { onTestFinished } from 'vitest';

/** Runs `end` when the current test ends; outside a test (a file's set-up) nothing: those are the file's to stop. */
function atTestEnd(end: () => unknown): void {
  try {
    onTestFinished(async () => {
      await end();
    });
  } catch {
    // Not inside a test.
  }
}

/**
 * Kills `child` (its whole process group with `group`, for one started `detached`) when the current test ends, if
 * it is still running then.
 */
export function endsWithTest<T extends ChildProcess>(child: T, { group = false } = {}): T {
  atTestEnd(() => {
    if (child.pid === undefined) return;
    try {
      // A group outlives its leader (`npm start`: npm, a shell, node): it is ended whether or not the leader is.
      if (group) process.kill(-child.pid, 'SIGKILL');
      else if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    } catch {
      // Gone already.
    }
  });
  return child;
}

/** A server process the test started (`startServerProcess`): stopped when the test ends, if it still runs then. */
export function stopsWithTest<T extends { stop(): Promise<void> }>(server: T): T {
  atTestEnd(() => server.stop());
  return server;
}

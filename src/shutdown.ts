/**
 * Ending the process on SIGTERM within seconds, whatever is still running: after the deadline it kills itself.
 * Not `process.exit()`: that waits for the thread pool, and an image decode or render running there can take far
 * longer than the deadline. Nothing committed is lost: SQLite's write-ahead log keeps every committed transaction.
 */

/** How long shutdown may take before the process ends regardless. */
export const SHUTDOWN_DEADLINE_MS = 5000;

export function exitAfterDeadline(report: (message: string) => void, deadlineMs = SHUTDOWN_DEADLINE_MS): void {
  setTimeout(() => {
    report(`shutdown took longer than ${deadlineMs / 1000} s: exiting now`);
    // A moment for the report to reach the log, then the end.
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 100);
  }, deadlineMs).unref();
}

/**
 * Ending the process on SIGTERM within seconds, whatever is still running: after the deadline it exits, and should
 * even that not return (a thread stuck in a system call keeps Node from exiting), it kills itself. Nothing committed
 * is lost either way: SQLite's write-ahead log keeps every committed transaction.
 */

/** How long shutdown may take before the process ends regardless. */
export const SHUTDOWN_DEADLINE_MS = 5000;

export function exitAfterDeadline(report: (message: string) => void, deadlineMs = SHUTDOWN_DEADLINE_MS): void {
  setTimeout(() => {
    report(`shutdown took longer than ${deadlineMs / 1000} s: exiting now`);
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 1000).unref();
    process.exit(1);
  }, deadlineMs).unref();
}

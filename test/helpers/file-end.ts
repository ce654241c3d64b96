/**
 * What a test file opens — servers, connections, databases, folders — is closed once the file has run, by
 * `test/setup-file.ts`, latest first (a server stops before its database is dropped and its folder removed). Test
 * files share a worker process and its modules with the files run before them in it, so nothing may outlive its
 * file; and vitest ignores `afterAll` called from inside a hook or a test, where most of these are opened.
 */
const closers: (() => unknown)[] = [];

export function atFileEnd(close: () => unknown): void {
  closers.push(close);
}

/** Runs every closer registered since the last call, latest first; one that fails does not keep the rest from running. */
export async function closeFileResources(): Promise<void> {
  const failures: unknown[] = [];
  for (const close of closers.splice(0).reverse()) {
    try {
      await close();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, 'closing what the test file opened failed');
}

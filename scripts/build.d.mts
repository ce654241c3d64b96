// Types of scripts/build.mjs for the TypeScript that imports it (test/global-setup.ts, bench/compiled-servers.ts).
/** Where src/ is compiled to. */
export const DIST: string;
/** Rebuilds dist/ when src/ changed since it was built (or it is missing). */
export function ensureBuilt(): Promise<void>;
/** Whether dist/ was built from src/ as it is now. */
export function isFresh(): boolean;
/** Builds dist/ from src/; resolves with the milliseconds it took. */
export function build(): Promise<number>;

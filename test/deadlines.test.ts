/**
 * Deadlines of one duration on one Node timer (`src/server/deadlines.ts`): the request time limit and the body idle
 * limit of every request. Real timers, real waits.
 */
import { describe, expect, it } from 'vitest';
import { Deadlines } from '../src/server/deadlines.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('deadlines', () => {
  it('run in the order they were set, not before their time, unless cancelled', async () => {
    const deadlines = new Deadlines(40);
    const fired: { name: string; after: number }[] = [];
    const started = performance.now();
    const at = (name: string) => () => fired.push({ name, after: performance.now() - started });
    deadlines.add(at('a'));
    const b = deadlines.add(at('b'));
    await sleep(15);
    deadlines.add(at('c'));
    b.cancel();
    await sleep(20);
    expect(fired).toEqual([]);
    await sleep(60);
    expect(fired.map((f) => f.name)).toEqual(['a', 'c']);
    // Never before their time (a Node timer may round a millisecond down): c was set 15 ms after a.
    expect(fired[0]!.after).toBeGreaterThanOrEqual(39);
    expect(fired[1]!.after).toBeGreaterThanOrEqual(54);
    expect(deadlines.queued).toBe(0);
  });

  it('a deadline cancelled after it ran, or twice, changes nothing', async () => {
    const deadlines = new Deadlines(5);
    let runs = 0;
    const d = deadlines.add(() => runs++);
    await sleep(30);
    d.cancel();
    d.cancel();
    expect(runs).toBe(1);
    deadlines.add(() => runs++);
    await sleep(30);
    expect(runs).toBe(2);
  });

  it('holds only what is still wanted when deadlines end in order, as requests do', () => {
    const deadlines = new Deadlines(60_000);
    let open: { cancel(): void }[] = [];
    for (let i = 0; i < 100_000; i++) {
      open.push(deadlines.add(() => {}));
      // Eight requests in flight: the oldest ends as the next one comes.
      if (open.length > 8) open.shift()!.cancel();
    }
    expect(deadlines.queued).toBeLessThanOrEqual(9);
    for (const d of open) d.cancel();
    open = [];
    deadlines.add(() => {}).cancel();
    expect(deadlines.queued).toBeLessThanOrEqual(1);
  });

  it('keeps no process alive by itself', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = `import { Deadlines } from './src/server/deadlines.ts'; new Deadlines(60_000).add(() => {});`;
    // A timer that held the process would keep it for a minute: it is killed after 30 s (status null).
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});

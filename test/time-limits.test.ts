/**
 * Requests' time limits on one queue and one timer (`time-limits.ts`): each runs out once, in order, at its time;
 * a cleared one never does; ended ones do not pile up.
 */
import { describe, expect, it } from 'vitest';
import { TimeLimits } from '../src/server/time-limits.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('time limits', () => {
  it('run out in the order they started, each once and not before its time; cleared ones never', async () => {
    const limits = new TimeLimits(60);
    const started = performance.now();
    const fired: { name: string; at: number }[] = [];
    const start = (name: string) => limits.start(() => fired.push({ name, at: performance.now() - started }));
    start('a');
    const b = start('b');
    await sleep(20);
    start('c');
    b.clear();
    expect(limits.running).toBe(2);
    await sleep(150);
    expect(fired.map((f) => f.name)).toEqual(['a', 'c']);
    expect(fired[0]!.at).toBeGreaterThanOrEqual(59);
    expect(fired[1]!.at).toBeGreaterThanOrEqual(79);
    expect(limits.running).toBe(0);
  });

  it('keep running out after the queue emptied', async () => {
    const limits = new TimeLimits(20);
    const fired: string[] = [];
    limits.start(() => fired.push('first'));
    await sleep(60);
    limits.start(() => fired.push('later'));
    await sleep(60);
    expect(fired).toEqual(['first', 'later']);
  });

  it('drop ended limits as requests end in order: the queue does not grow with the requests served', () => {
    const limits = new TimeLimits(10_000);
    for (let i = 0; i < 100_000; i++) limits.start(() => {}).clear();
    const kept = limits.start(() => {});
    expect(limits.running).toBe(1);
    kept.clear();
    expect(limits.running).toBe(0);
    expect(limits.queued).toBeLessThanOrEqual(1);
  });
});

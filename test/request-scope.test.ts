/**
 * A request's scope makes its AbortSignal only when something asks for it (the executor, a wait for a turn, a
 * PostgreSQL statement): the stop must reach whoever asks, before or after it happened, with the same coded error.
 */
import { describe, expect, it } from 'vitest';
import { RequestScope, RequestStopped } from '../src/db/request-scope.ts';
import { Turns } from '../src/server/execution-gate.ts';

describe('a request scope', () => {
  it('hands out an aborted signal when asked after it stopped, with the stop as the reason', () => {
    const scope = new RequestScope(50);
    scope.stop('TIMEOUT');
    expect(() => scope.throwIfStopped()).toThrow(RequestStopped);
    expect(scope.signal.aborted).toBe(true);
    expect(scope.signal.reason).toMatchObject({ code: 'TIMEOUT', extensions: { limit: 50 } });
  });

  it('aborts a signal made before it stopped, once, with the first reason', () => {
    const scope = new RequestScope(null);
    const signal = scope.signal;
    const reasons: unknown[] = [];
    signal.addEventListener('abort', () => reasons.push(signal.reason));
    expect(signal.aborted).toBe(false);
    scope.stop('CLIENT_GONE');
    scope.stop('TIMEOUT');
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatchObject({ code: 'CLIENT_GONE' });
    expect(() => scope.throwIfStopped()).toThrow(expect.objectContaining({ code: 'CLIENT_GONE' }));
  });

  it('refuses a turn once stopped, and leaves the line when it stops while waiting', async () => {
    const turns = new Turns(1);
    const held = await turns.take(new RequestScope(null));
    const stopped = new RequestScope(null);
    stopped.stop('CLIENT_GONE');
    await expect(turns.take(stopped)).rejects.toMatchObject({ code: 'CLIENT_GONE' });
    const leaving = new RequestScope(null);
    const waiting = turns.take(leaving);
    const next = turns.take(new RequestScope(null));
    leaving.stop('TIMEOUT');
    await expect(waiting).rejects.toMatchObject({ code: 'TIMEOUT' });
    // The one who left is out of the line: the turn goes to the next request.
    held.end();
    await expect(next).resolves.toBeDefined();
  });
});

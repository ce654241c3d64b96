/**
 * A stand-in for the Civitai API on 127.0.0.1: answers each path from a queue of scripted responses (the last
 * one repeats) and records every request.
 */
import { createServer, type Server } from 'node:http';
import { listenOnLoopback } from './loopback.ts';

export interface ScriptedResponse {
  status: number;
  body?: unknown;
  /** Sent as it is instead of `body` as JSON (an HTML error page, say). */
  raw?: string;
  headers?: Record<string, string>;
  /** Wait this long before answering (to provoke client timeouts). */
  delayMs?: number;
}

export interface RecordedRequest {
  path: string;
  authorization: string | undefined;
  at: number;
}

export interface CivitaiReplay {
  url: string;
  requests: RecordedRequest[];
  script(path: string, ...responses: ScriptedResponse[]): void;
  requestsFor(path: string): RecordedRequest[];
}

export async function startCivitaiReplay(): Promise<CivitaiReplay> {
  const scripts = new Map<string, ScriptedResponse[]>();
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ path, authorization: req.headers.authorization, at: Date.now() });
    const queue = scripts.get(path);
    const response =
      queue && queue.length > 1 ? queue.shift()! : (queue?.[0] ?? { status: 404, body: { error: 'Not found' } });
    setTimeout(() => {
      if (res.destroyed) return;
      res.writeHead(response.status, { 'content-type': 'application/json', ...response.headers });
      res.end(response.raw ?? (response.body === undefined ? '' : JSON.stringify(response.body)));
    }, response.delayMs ?? 0);
  });
  const url = await listenOnLoopback(server);
  return {
    url,
    requests,
    script: (path, ...responses) => scripts.set(path, responses),
    requestsFor: (path) => requests.filter((r) => r.path === path),
  };
}

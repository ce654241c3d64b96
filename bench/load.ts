/**
 * Load generation and the server processes under test: each server runs in its own process (so the load
 * generator's CPU and memory are not counted against it), autocannon drives it over 127.0.0.1, and peak RSS is
 * read from /proc (reset before each scenario through clear_refs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { HttpRequest } from './scenarios.ts';

export interface ServerProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
  /** What it has printed: all of it with `keepOutput`; else its standard output up to the listening line, and its errors. */
  output(): string;
}

/**
 * Starts `node <args>` (or `command <args>`) and resolves once it prints `listening on <url>`. Its later standard
 * output is read and dropped (a benchmarked server logs every request), or kept with `keepOutput` (tests read it).
 */
export function startServerProcess(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  command = process.execPath,
  { keepOutput = false } = {},
): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => fail(new Error(`server did not start within 60 s:\n${output}`)), 60_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      if (keepOutput) child.stdout?.on('data', (more: Buffer) => void (output += more.toString()));
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      resolve({
        url: new URL(match[1]!).origin,
        pid: child.pid!,
        output: () => output,
        stop: () =>
          new Promise<void>((done) => {
            // Ended already: by itself (an exit code) or by a signal (a kill -9 a test sends).
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
          }),
      });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => fail(new Error(`server exited with ${code} before listening:\n${output}`)));
  });
}

/** Peak resident set size of a process since the last reset, in MiB (Linux). */
export function peakRssMiB(pid: number): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export function resetPeakRss(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not Linux, or not permitted: peaks then cover the process's whole life.
  }
}

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export interface LoadOptions {
  connections: number;
  durationSeconds: number;
  /** The status every answer must have (200 unless told; a revalidation expects 304). */
  expectedStatus?: number;
}

/** Drives `url` with requests built by `request(i)` (i counts up across connections). */
export async function runLoad(
  url: string,
  request: (i: number) => HttpRequest,
  options: LoadOptions,
): Promise<LoadResult> {
  let counter = 0;
  const first = request(0);
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.durationSeconds,
    requests: [
      {
        method: first.method,
        setupRequest: (req) => {
          const next = request(counter++);
          return {
            ...req,
            method: next.method,
            path: next.path,
            body: next.body ?? '',
            headers: { ...req.headers, ...next.headers },
          } as typeof req;
        },
      },
    ],
  });
  const expected = options.expectedStatus ?? 200;
  const answered = (result.statusCodeStats as Record<string, { count: number }> | undefined)?.[expected]?.count ?? 0;
  return {
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / options.durationSeconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts + Math.max(0, result.requests.total - answered),
  };
}

/**
 * Fetches one request; the body as text (JSON) or bytes. A kept-alive connection the server closed as it went idle
 * (the benchmark pauses between phases, e.g. while it reads the L catalog's inputs) fails the first write on it:
 * that one is sent again on a new connection — every benchmark request is a read.
 */
export async function fetchOnce(
  url: string,
  request: HttpRequest,
): Promise<{ status: number; text: string; bytes: Buffer }> {
  const send = () =>
    fetch(`${url}${request.path}`, { method: request.method, body: request.body, headers: request.headers });
  const response = await send().catch((error: unknown) => {
    if ((error as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw error;
    return send();
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  return { status: response.status, text: bytes.toString('utf8'), bytes };
}

export interface LatencyResult {
  requests: number;
  p50Ms: number;
  p99Ms: number;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? 0;
}

/** Milliseconds of requests sent one at a time for `seconds` (at least 5), inputs rotating from `first`. */
export async function sampleLatencies(
  url: string,
  request: (i: number) => HttpRequest,
  seconds: number,
  first = 0,
  expectedStatus = 200,
): Promise<number[]> {
  const times: number[] = [];
  const until = performance.now() + seconds * 1000;
  for (let i = first; performance.now() < until || times.length < 5; i++) {
    const started = performance.now();
    const sent = request(i);
    const { status, text } = await fetchOnce(url, sent);
    if (status !== expectedStatus)
      throw new Error(
        `latency probe: HTTP ${status} from ${url}${sent.path} after ${(performance.now() - started).toFixed(0)} ms: ${text.slice(0, 300)}`,
      );
    times.push(performance.now() - started);
  }
  return times;
}

export function latencyOf(times: readonly number[]): LatencyResult {
  const sorted = [...times].sort((a, b) => a - b);
  return { requests: sorted.length, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
}

/** One request at a time for `seconds`: latency without queueing (what one script or UI click waits). */
export async function probeLatency(
  url: string,
  request: (i: number) => HttpRequest,
  seconds: number,
  expectedStatus = 200,
): Promise<LatencyResult> {
  return latencyOf(await sampleLatencies(url, request, seconds, 0, expectedStatus));
}

/**
 * What other web pages, other hosts and hostile clients can do to a server on 127.0.0.1: CORS only for allowed
 * origins, CSRF header required on preflight-free requests, rebound host names refused, introspection switchable,
 * request ids, structured logs without secrets.
 */
import { request as httpRequest } from 'node:http';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_QUERY_BODY_BYTES, parseCorsOrigins, parseLogSettings, resolveServerConfig } from '../src/config.ts';
import { AppError } from '../src/errors.ts';
import { originAllowed } from '../src/server/browser-guards.ts';
import { createLogger, logLine, prettyLine } from '../src/server/logger.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http, because fetch does not let a test choose the Host header or send a chunked body. */
function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; chunked?: boolean },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (options.chunked) {
      req.write(options.body ?? '');
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

const QUERY = JSON.stringify({ query: '{ __typename }' });
const JSON_HEADERS = { 'content-type': 'application/json' };

describe('browser pages on other origins', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });

  it('gives CORS headers to loopback pages only, never with credentials', async () => {
    const local = await fetch(server.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, origin: 'http://localhost:5173' },
      body: QUERY,
    });
    expect(local.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(local.headers.get('access-control-allow-credentials')).toBeNull();
    const evil = await fetch(server.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, origin: 'https://evil.example' },
      body: QUERY,
    });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(server.url, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('refuses preflight-free requests without the CSRF header, with a code', async () => {
    const get = await fetch(`${server.url}?query=${encodeURIComponent('{ __typename }')}`);
    expect(get.status).toBe(403);
    expect(await get.json()).toMatchObject({ errors: [{ extensions: { code: 'CSRF_HEADER_REQUIRED' } }] });
    const form = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: QUERY });
    expect(form.status).toBe(403);
    const withHeader = await fetch(`${server.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { 'x-graphql-yoga-csrf': '1' },
    });
    expect(withHeader.status).toBe(200);
    expect(await withHeader.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses a body it cannot read (a multipart form, text) with a coded 415 once past the CSRF guard', async () => {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: '{ __typename }' }));
    form.set('map', '{}');
    for (const body of [form, 'query { __typename }']) {
      const answer = await fetch(server.url, { method: 'POST', headers: { 'x-graphql-yoga-csrf': '1' }, body });
      expect(answer.status).toBe(415);
      expect(await answer.json()).toMatchObject({ errors: [{ extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' } }] });
    }
  });

  it('answers GET requests with malformed variables or extensions with a coded 400, not an internal error', async () => {
    const query = encodeURIComponent('{ health { ok } }');
    for (const [name, value] of [
      ['variables', '{{{'],
      ['variables', 'nul'],
      ['variables', '[[['],
      ['variables', '42'],
      ['extensions', '{'],
    ]) {
      const response = await fetch(`${server.url}?query=${query}&${name}=${encodeURIComponent(value!)}`, {
        headers: { 'x-graphql-yoga-csrf': '1' },
      });
      expect(response.status, `${name}=${value}`).toBe(400);
      expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    }
    const fine = await fetch(`${server.url}?query=${query}&variables=${encodeURIComponent('{}')}`, {
      headers: { 'x-graphql-yoga-csrf': '1' },
    });
    expect(await fine.json()).toEqual({ data: { health: { ok: true } } });
  });

  it('refuses requests addressed to another host name (DNS rebinding)', async () => {
    const rebound = await raw(server.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, host: 'attacker.example:4000' },
      body: QUERY,
    });
    expect(rebound.status).toBe(421);
    expect(JSON.parse(rebound.body)).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
    const port = new URL(server.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      const ok = await raw(server.url, { method: 'POST', headers: { ...JSON_HEADERS, host }, body: QUERY });
      expect(ok.status, host).toBe(200);
    }
  });

  it('refuses chunked POST bodies (no declared length) with 411', async () => {
    const chunked = await raw(server.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'transfer-encoding': 'chunked' },
      body: QUERY,
      chunked: true,
    });
    expect(chunked.status).toBe(411);
    expect(JSON.parse(chunked.body)).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
  });

  it('echoes a sane request id and replaces an unsafe one', async () => {
    const given = await fetch(server.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'x-request-id': 'client-42' },
      body: QUERY,
    });
    expect(given.headers.get('x-request-id')).toBe('client-42');
    const unsafe = await fetch(server.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, 'x-request-id': 'bad id!' },
      body: QUERY,
    });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('configuration', () => {
  it('parses CORS origins strictly', () => {
    expect(parseCorsOrigins(undefined)).toBe('loopback');
    expect(parseCorsOrigins('*')).toBe('any');
    expect(parseCorsOrigins('none')).toBe('none');
    expect(parseCorsOrigins('https://app.example:8443, http://localhost:3000')).toEqual([
      'https://app.example:8443',
      'http://localhost:3000',
    ]);
    expect(() => parseCorsOrigins('https://app.example/path')).toThrow(/not an origin/);
    expect(() => parseCorsOrigins('app.example')).toThrow(/not an origin/);
    expect(originAllowed('http://127.0.0.1:8080', 'loopback')).toBe(true);
    expect(originAllowed('http://localhost.evil.example', 'loopback')).toBe(false);
    expect(originAllowed('https://app.example:8443', ['https://app.example:8443'])).toBe(true);
    expect(originAllowed('https://app.example', ['https://app.example:8443'])).toBe(false);
  });

  it('parses log settings and rejects unknown ones', () => {
    expect(parseLogSettings({}, true)).toEqual({ level: 'info', format: 'pretty' });
    expect(parseLogSettings({}, false)).toEqual({ level: 'info', format: 'json' });
    expect(parseLogSettings({ DIFFUSION_NEXUS_LOG_LEVEL: 'DEBUG', DIFFUSION_NEXUS_LOG_FORMAT: 'json' }, true)).toEqual({
      level: 'debug',
      format: 'json',
    });
    expect(() => parseLogSettings({ DIFFUSION_NEXUS_LOG_LEVEL: 'loud' }, false)).toThrow(/LOG_LEVEL/);
    expect(() => parseLogSettings({ DIFFUSION_NEXUS_LOG_FORMAT: 'xml' }, false)).toThrow(/LOG_FORMAT/);
  });

  it('serves a configured origin list, and turns introspection and GraphiQL off', async () => {
    const server = await startTestServer({
      corsOrigins: ['https://app.example'],
      introspection: false,
      graphiql: false,
    });
    const allowed = await fetch(server.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, origin: 'https://app.example' },
      body: QUERY,
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const local = await fetch(server.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, origin: 'http://localhost:5173' },
      body: QUERY,
    });
    expect(local.headers.get('access-control-allow-origin')).toBeNull();
    const schema = await server.graphql('{ __schema { queryType { name } } }');
    expect(schema.errors?.[0]?.extensions?.code).toBe('INTROSPECTION_DISABLED');
    const type = await server.graphql('{ __type(name: "Model") { name } }');
    expect(type.errors?.[0]?.extensions?.code).toBe('INTROSPECTION_DISABLED');
    expect((await server.graphql('{ __typename }')).data).toEqual({ __typename: 'Query' });
    const page = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('<html');
  });
});

describe('on/off settings', () => {
  const resolve = (env: Record<string, string>) => resolveServerConfig({ port: '0', dataDir: '/tmp/dn-unused' }, env);

  it('take 1/true/yes/on and 0/false/no/off, in any case', () => {
    for (const on of ['1', 'true', 'YES', 'On'])
      expect(resolve({ DIFFUSION_NEXUS_TRUSTED_DOCUMENTS_ONLY: on }).trustedDocumentsOnly, on).toBe(true);
    for (const off of ['0', 'False', 'no', 'OFF'])
      expect(resolve({ DIFFUSION_NEXUS_INTROSPECTION: off }).introspection, off).toBe(false);
  });

  it('stop start-up on any other value, naming the setting (never guessing: "disabled" is not on)', () => {
    for (const [name, value] of [
      ['DIFFUSION_NEXUS_INTROSPECTION', 'disabled'],
      ['DIFFUSION_NEXUS_GRAPHIQL', 'none'],
      ['DIFFUSION_NEXUS_TRUSTED_DOCUMENTS_ONLY', 'enabled'],
    ] as const) {
      const failure = (() => {
        try {
          resolve({ [name]: value });
          return null;
        } catch (error) {
          return error as AppError;
        }
      })();
      expect(failure, name).toBeInstanceOf(AppError);
      expect(failure!.code).toBe('BAD_USER_INPUT');
      expect(failure!.message).toContain(name);
      expect(failure!.message).toContain(`"${value}"`);
    }
  });
});

describe('structured logs', () => {
  it('logs one JSON line per request with its id, operation and error codes, never the token', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const token = 'log-test-token-0123456789';
    const server = await startTestServer(
      { apiToken: token, log: { level: 'info', format: 'json' } },
      { logger: createLogger({ level: 'info', format: 'json' }, out) },
    );
    await server.graphql('query Probe { __typename }', undefined, {
      authorization: `Bearer ${token}`,
      'x-request-id': 'probe-1',
    });
    await server.graphql('mutation Denied { deleteModel(id: "TW9kZWw6MQ==") { databaseId } }', undefined, {
      'x-request-id': 'denied-1',
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((l) => l.reqId === 'probe-1')).toMatchObject({
      msg: 'request',
      method: 'POST',
      path: '/graphql',
      status: 200,
      operation: 'query Probe',
    });
    expect(lines.find((l) => l.reqId === 'denied-1')).toMatchObject({
      status: 401,
      operation: 'mutation Denied',
      errors: ['UNAUTHENTICATED'],
    });
    expect(lines.some((l) => typeof l.msg === 'string' && l.msg.includes('listening on'))).toBe(true);
    expect(text).not.toContain(token);
  });

  it('writes the lines of one turn of the event loop together, every line whole and in order', async () => {
    const writes: string[] = [];
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => writes.push(chunk.toString()));
    const logger = createLogger({ level: 'info', format: 'json' }, out);
    const server = await startTestServer({ log: { level: 'info', format: 'json' } }, { logger });
    await new Promise((resolve) => setTimeout(resolve, 20));
    writes.length = 0;
    // Thirty requests at once: their lines end in a few writes, not thirty.
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        server.graphql('query Burst { __typename }', undefined, { 'x-request-id': `burst-${i}` }),
      ),
    );
    for (let i = 0; i < 5; i++) logger.info({ i }, 'in one turn');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = writes
      .join('')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.filter((l) => String(l.reqId).startsWith('burst-'))).toHaveLength(30);
    expect(lines.filter((l) => l.msg === 'in one turn').map((l) => l.i)).toEqual([0, 1, 2, 3, 4]);
    expect(writes.every((chunk) => chunk.endsWith('\n'))).toBe(true);
    expect(writes.length).toBeLessThan(lines.length);
  });

  it("logs a client's refusal as its request line only: no error line, nothing of the client's size", async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const server = await startTestServer(
      { log: { level: 'info', format: 'json' } },
      { logger: createLogger({ level: 'info', format: 'json' }, out) },
    );
    const id = 'a'.repeat(7000);
    const response = await fetch(`${server.url}?documentId=${id}`, { headers: { 'x-graphql-yoga-csrf': '1' } });
    expect(response.status).toBe(400);
    const body = await response.text();
    expect(body).toContain('PERSISTED_DOCUMENT_NOT_FOUND');
    expect(body.length).toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.filter((l) => Number(l.level) >= 50)).toEqual([]);
    expect(lines.filter((l) => l.msg === 'request')).toMatchObject([
      { status: 400, errors: ['PERSISTED_DOCUMENT_NOT_FOUND'] },
    ]);
    expect(Math.max(...text.split('\n').map((line) => line.length))).toBeLessThan(1000);
  });

  it('names the code of a request refused before GraphQL sees it in its request line', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const server = await startTestServer(
      { log: { level: 'info', format: 'json' } },
      { logger: createLogger({ level: 'info', format: 'json' }, out) },
    );
    const tooLarge = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'refused-413' },
      body: JSON.stringify({ query: `{ __typename }${' '.repeat(MAX_QUERY_BODY_BYTES)}` }),
    });
    expect(tooLarge.status).toBe(413);
    await tooLarge.text();
    const wrongMethod = await fetch(server.url, { method: 'PUT', headers: { 'x-request-id': 'refused-405' } });
    expect(wrongMethod.status).toBe(405);
    await wrongMethod.text();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((l) => l.reqId === 'refused-413')).toMatchObject({ status: 413, errors: ['LIMIT_EXCEEDED'] });
    expect(lines.find((l) => l.reqId === 'refused-405')).toMatchObject({ status: 405, errors: ['BAD_REQUEST'] });
  });

  it("writes a request line as pino writes the same fields, and nothing below the logger's level", async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const logger = createLogger({ level: 'info', format: 'json' }, out);
    const fields = {
      reqId: 'r-1',
      method: 'POST',
      path: '/graphql',
      status: 200,
      ms: 1.5,
      errors: ['A'],
      direct: true,
    };
    logger.info(fields, 'request');
    logLine(logger, 'info', fields, 'request');
    logLine(logger, 'debug', fields, 'request');
    logLine(logger, 'warn', {}, 'request');
    logger.warn({}, 'request');
    // A logger this module did not make (a child here) logs through pino.
    logLine(logger.child({ component: 'x' }), 'error', { status: 500 }, 'request failed');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const lines = text
      .trim()
      .split('\n')
      .map((line) => line.replace(/"time":\d+/, '"time":0'));
    expect(lines).toHaveLength(5);
    expect(lines[1]).toBe(lines[0]);
    expect(lines[2]).toBe(lines[3]);
    expect(JSON.parse(lines[4]!)).toMatchObject({ level: 50, component: 'x', status: 500, msg: 'request failed' });
  });

  it('formats a line for a terminal', () => {
    expect(
      prettyLine(
        JSON.stringify({
          level: 30,
          time: Date.UTC(2026, 0, 1, 12, 0, 0),
          msg: 'request',
          status: 200,
          path: '/graphql',
        }),
      ),
    ).toBe('12:00:00.000 INFO  request status=200 path=/graphql\n');
  });
});

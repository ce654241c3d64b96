/**
 * The floor of the stack itself: a bare `createYoga` — a one-field schema, yoga's defaults, nothing of ours — on
 * node:http, answering the floor scenario's `{ __typename }`. The request body is read and parsed before yoga gets
 * it, as our server does (`app.ts`); left to yoga, the body's stream adds an abort signal and a DOMException to every
 * request, about as much again as the rest of its path. The benchmark runs it as its own process
 * (compiled as the baselines are, `compiled-servers.ts`; it prints `listening on <url>`) beside ours: ours over it
 * compares our request path with yoga's (ours answers plain JSON queries without yoga's fetch layer,
 * `src/server/direct-answer.ts`), and it over the baseline is the ceiling of a server handing every request to yoga.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { buildSchema } from 'graphql';
import { createYoga } from 'graphql-yoga';

const yoga = createYoga({
  schema: buildSchema('type Query { ok: Boolean }'),
  graphiql: false,
  landingPage: false,
  logging: false,
});

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (chunks.length > 0)
      (req as IncomingMessage & { body?: unknown }).body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    void yoga(req, res);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') console.log(`listening on http://127.0.0.1:${address.port}/graphql`);
});

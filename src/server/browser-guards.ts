/**
 * What a web page in the user's browser may do with a catalog server on the same machine. Without these, any site
 * the user visits could read the catalog (CORS reflecting every origin, yoga's default), post a form that runs a
 * mutation (CSRF), or reach 127.0.0.1 under its own domain name (DNS rebinding).
 * - CORS: only the configured origins get CORS headers (default: pages served from loopback on any port).
 * - CSRF: yoga's prevention plugin — a request a page can send without a preflight (GET, form posts) must carry
 *   the `x-graphql-yoga-csrf` header, which pages of other origins cannot add.
 * - Host: a server bound to loopback answers only requests addressed to a loopback name.
 */
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createGraphQLError, type CORSOptions, type Plugin } from 'graphql-yoga';
import type { CorsOrigins } from '../config.ts';
import { isLoopbackName } from './loopback.ts';

export const CSRF_HEADER = 'x-graphql-yoga-csrf';

function hostnameOf(hostHeader: string): string {
  const bracketed = /^(\[[^\]]+\])(:\d+)?$/.exec(hostHeader);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return hostHeader.replace(/:\d+$/, '').toLowerCase();
}

/** Whether a page at `origin` may call the API. */
export function originAllowed(origin: string, allowed: CorsOrigins): boolean {
  if (allowed === 'any') return true;
  if (allowed === 'none') return false;
  if (allowed === 'loopback') {
    try {
      const url = new URL(origin);
      return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackName(url.hostname);
    } catch {
      return false;
    }
  }
  return allowed.includes(origin);
}

/** yoga's `cors` option: CORS headers for allowed origins only, never with credentials (the API uses none). */
export function corsOptionsFor(allowed: CorsOrigins): false | ((request: Request) => CORSOptions) {
  if (allowed === 'none') return false;
  return (request) => {
    const origin = request.headers.get('origin');
    if (origin === null || !originAllowed(origin, allowed)) return false;
    return {
      origin: [origin],
      credentials: false,
      methods: ['GET', 'POST'],
      // If-None-Match and ETag: a page revalidates persisted queries itself (`revision-cache.ts`).
      allowedHeaders: ['content-type', 'authorization', 'accept', 'x-request-id', 'if-none-match', CSRF_HEADER],
      exposedHeaders: ['x-request-id', 'etag'],
      maxAge: 600,
    };
  };
}

/** yoga's CSRF prevention, its refusal given a code and a message that says what to send. */
export function csrfPlugin(): Plugin {
  const prevention = useCSRFPrevention({ requestHeaders: [CSRF_HEADER] });
  return {
    onRequestParse(payload) {
      try {
        return prevention.onRequestParse?.(payload);
      } catch {
        throw createGraphQLError(
          `This request needs the \`${CSRF_HEADER}\` header (any value) or a JSON body: requests a web page could send ` +
            'without a CORS preflight are refused (CSRF protection).',
          { extensions: { code: 'CSRF_HEADER_REQUIRED', http: { status: 403 } } },
        );
      }
    },
  };
}

/**
 * Whether a request's Host header may be served: anything when the server listens beyond loopback (it then needs
 * a token for writes), only loopback names when it listens on loopback (a rebound DNS name is refused).
 */
export function hostAllowed(hostHeader: string | undefined, serverIsLoopback: boolean): boolean {
  if (!serverIsLoopback) return true;
  if (!hostHeader) return true; // HTTP/1.0 clients without Host cannot be a browser page
  return isLoopbackName(hostnameOf(hostHeader));
}
